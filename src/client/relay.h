/* Relays one container process's stdio between host fds and the agent until it exits. */
#pragma once

#include <stdbool.h>

#include "client/agent_api.h"

struct relay_io {
	int in;          /* -1: the process gets no stdin (it is closed at once) */
	int out;
	int err;         /* ignored with a terminal: everything comes on out */
	bool terminal;
};

/* Returns when the process has exited and its output has been drained. */
int agent_relay(struct agent_client *c, const char *id, const char *exec_id, const struct relay_io *io,
		struct agent_exit *ret, struct capsa_error *err);
