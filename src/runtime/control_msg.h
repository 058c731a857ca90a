/*
 * Messages between the capsa CLI and capsa-shim: one JSON object per
 * SOCK_SEQPACKET datagram on the shim's socket, with fds attached where a
 * request hands over stdio. Requests: {"op": "start" | "kill" | "pause" |
 * "resume" | "ps" | "exec" | "resize" | "destroy", ...}; answers:
 * {"ok": true, ...} or {"error": "message"}; an exec connection later gets
 * {"exit": {"exited": bool, "code": n, "signal": n}}.
 */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "common/error.h"

#define CONTROL_MAX_MESSAGE 65536
#define CONTROL_MAX_FDS 3

int control_send(int fd, json_t *msg, const int *fds, size_t n_fds, struct capsa_error *err);
/* Waits up to timeout_ms (-1: forever). 0 with *ret NULL at end of stream. Received fds are close-on-exec. */
int control_recv(int fd, json_t **ret, int *fds, size_t *n_fds, int timeout_ms, struct capsa_error *err);
/* Connects to root/id/shim.sock, sends req and waits for the answer; an {"error"} answer becomes err. */
int control_call(const char *root, const char *id, json_t *req, const int *fds, size_t n_fds, json_t **ret,
		 int *ret_conn, struct capsa_error *err);
