/*
 * The error contract, written once: a function that can fail returns a
 * negative errno and, if given an error object (always the last argument),
 * fills it with a message that names the failing value. On success the
 * object is left untouched. Only main() prints it.
 */
#pragma once

#include <stddef.h>

struct capsa_error {
	int code;          /* negative errno, 0 when unset */
	char msg[1024];
};

/* Fills err (if not NULL) and returns code, which must be negative. */
int capsa_error_set(struct capsa_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like capsa_error_set, appending ": strerror(-code)". */
int capsa_error_errno(struct capsa_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefixes an already-set message with more context. */
int capsa_error_prefix(struct capsa_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
