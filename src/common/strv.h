/* NULL-terminated string vectors, built up one formatted entry at a time. */
#pragma once

#include <stddef.h>

struct strv {
	char **v;
	size_t n;
	int error;     /* first failure (negative errno); pushes after it do nothing */
};

void strv_pushf(struct strv *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strv_free(struct strv *s);
