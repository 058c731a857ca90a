#include "hypervisor/qmp.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/fdio.h"

/* Reads one JSON line; QMP ends each message with CRLF. */
static json_t *read_message(int fd, long long deadline, struct capsa_error *err)
{
	char line[65536];
	size_t len = 0;
	for (;;) {
		int left = (int)(deadline - now_ms());
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (left <= 0 || poll(&pfd, 1, left) == 0) {
			capsa_error_set(err, -ETIMEDOUT, "QMP: no answer in time");
			return NULL;
		}
		/* byte at a time: messages are short and rare, and nothing past the newline may be eaten */
		ssize_t n = read(fd, line + len, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			capsa_error_errno(err, n < 0 ? -errno : -EPIPE, "QMP: reading from QEMU");
			return NULL;
		}
		if (line[len] == '\n') {
			line[len] = '\0';
			json_error_t jerr;
			json_t *msg = json_loads(line, 0, &jerr);
			if (!msg)
				capsa_error_set(err, -EBADMSG, "QMP: bad JSON from QEMU: %s", jerr.text);
			return msg;
		}
		if (++len == sizeof(line) - 1) {
			capsa_error_set(err, -EMSGSIZE, "QMP: message too long");
			return NULL;
		}
	}
}

static int command(int fd, const char *name, long long deadline, struct capsa_error *err)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "{\"execute\":\"%s\"}\n", name);
	int r = send_all(fd, buf, (size_t)n);
	if (r < 0)
		return capsa_error_errno(err, r, "QMP: sending %s", name);
	for (;;) {
		json_t *msg = read_message(fd, deadline, err);
		if (!msg)
			return err ? err->code : -EIO;
		json_t *error = json_object_get(msg, "error");
		if (error) {
			r = capsa_error_set(err, -EIO, "QMP %s: %s", name,
					    json_string_value(json_object_get(error, "desc")) ?: "failed");
			json_decref(msg);
			return r;
		}
		bool done = json_object_get(msg, "return") != NULL;
		json_decref(msg);
		if (done)
			return 0;
	}
}

int qmp_handshake(int fd, int timeout_ms, struct capsa_error *err)
{
	long long deadline = now_ms() + timeout_ms;
	json_t *greeting = read_message(fd, deadline, err);
	if (!greeting)
		return err ? err->code : -EIO;
	bool ok = json_object_get(greeting, "QMP") != NULL;
	json_decref(greeting);
	if (!ok)
		return capsa_error_set(err, -EPROTO, "QMP: no greeting from QEMU");
	return command(fd, "qmp_capabilities", deadline, err);
}

int qmp_execute(int fd, const char *name, int timeout_ms, struct capsa_error *err)
{
	return command(fd, name, now_ms() + timeout_ms, err);
}
