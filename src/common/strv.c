#include "common/strv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void strv_pushf(struct strv *s, const char *fmt, ...)
{
	if (s->error)
		return;
	char **n = realloc(s->v, (s->n + 2) * sizeof(char *));
	if (!n) {
		s->error = -ENOMEM;
		return;
	}
	s->v = n;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&s->v[s->n], fmt, ap);
	va_end(ap);
	if (r < 0) {
		s->v[s->n] = NULL;
		s->error = -ENOMEM;
		return;
	}
	s->v[++s->n] = NULL;
}

void strv_free(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	*s = (struct strv){ 0 };
}
