#include "common/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int capsa_error_set(struct capsa_error *err, int code, const char *fmt, ...)
{
	if (code >= 0)
		code = -EINVAL;
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		err->code = code;
	}
	return code;
}

int capsa_error_errno(struct capsa_error *err, int code, const char *fmt, ...)
{
	if (code >= 0)
		code = -EINVAL;
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < sizeof(err->msg))
			snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s", strerror(-code));
		err->code = code;
	}
	return code;
}

int capsa_error_prefix(struct capsa_error *err, const char *fmt, ...)
{
	if (!err)
		return -EINVAL;
	char prefix[512];
	char old[sizeof(err->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
	return err->code ? err->code : -EINVAL;
}
