#include "common/buffer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

uint8_t *buffer_reserve(struct buffer *b, size_t len)
{
	if (b->cap - b->end >= len)
		return b->data + b->end;
	/* slide unconsumed bytes to the front before growing */
	size_t used = b->end - b->start;
	if (b->start > 0) {
		memmove(b->data, b->data + b->start, used);
		b->start = 0;
		b->end = used;
		if (b->cap - b->end >= len)
			return b->data + b->end;
	}
	if (len > SIZE_MAX / 2 - used)
		return NULL;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap - used < len)
		cap *= 2;
	uint8_t *n = realloc(b->data, cap);
	if (!n)
		return NULL;
	b->data = n;
	b->cap = cap;
	return b->data + b->end;
}

void buffer_commit(struct buffer *b, size_t len)
{
	b->end += len;
}

int buffer_append(struct buffer *b, const void *data, size_t len)
{
	uint8_t *p = buffer_reserve(b, len);
	if (!p)
		return -ENOMEM;
	if (len)
		memcpy(p, data, len);
	buffer_commit(b, len);
	return 0;
}

void buffer_consume(struct buffer *b, size_t len)
{
	if (len >= b->end - b->start) {
		b->start = b->end = 0;
		return;
	}
	b->start += len;
}

void buffer_clear(struct buffer *b)
{
	b->start = b->end = 0;
}

void buffer_free(struct buffer *b)
{
	free(b->data);
	*b = (struct buffer){0};
}
