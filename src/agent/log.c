#include "agent/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

enum log_level log_max_level = LOG_WARN;

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	if (level > log_max_level)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	char line[1200];
	va_list ap;
	va_start(ap, fmt);
	int n = snprintf(line, sizeof(line), "[%5ld.%06ld] capsa-agent %s: ", (long)ts.tv_sec, ts.tv_nsec / 1000,
			 names[level]);
	if (n > 0 && (size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", line);
}
