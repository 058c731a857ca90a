/* A growable byte queue: append at the tail, consume from the head. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct buffer {
	uint8_t *data;
	size_t start;  /* first unconsumed byte */
	size_t end;    /* one past the last byte */
	size_t cap;
};

int buffer_append(struct buffer *b, const void *data, size_t len);
/* Makes room for len more bytes at the tail and returns it; commit with buffer_commit. */
uint8_t *buffer_reserve(struct buffer *b, size_t len);
void buffer_commit(struct buffer *b, size_t len);
void buffer_consume(struct buffer *b, size_t len);
static inline size_t buffer_len(const struct buffer *b) { return b->end - b->start; }
static inline const uint8_t *buffer_head(const struct buffer *b) { return b->data + b->start; }
void buffer_clear(struct buffer *b);
void buffer_free(struct buffer *b);
