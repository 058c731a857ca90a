/*
 * Relays one container process's stdio between host fds and the agent until
 * it exits and its output is drained. A relay is a state machine, so one
 * event loop can drive many over one agent connection: poll the agent fd and
 * relay_input_fd(); after agent_client_pump(), call relay_step() on each.
 */
#pragma once

#include <stdbool.h>

#include "client/agent_api.h"

struct relay_io {
	int in;          /* -1: the process gets no stdin (it is closed at once) */
	int out;
	int err;         /* ignored with a terminal: everything comes on out */
	bool terminal;
};

struct relay;

/* Sends the first WaitProcess and reads; the fds stay the caller's. */
int relay_new(struct agent_client *c, const char *id, const char *exec_id, const struct relay_io *io,
	      struct relay **ret, struct capsa_error *err);
/* The host fd to poll for input now, or -1. */
int relay_input_fd(const struct relay *r);
/* Takes whatever answers have arrived and, if input_ready, reads the input fd. */
int relay_step(struct relay *r, bool input_ready, struct capsa_error *err);
bool relay_finished(const struct relay *r);
struct agent_exit relay_exit_status(const struct relay *r);
/* Frees a relay; calls still outstanding are answered later and discarded by the client. */
void relay_free(struct relay *r);

/* Blocking: relays until the process has exited and its output has been drained. */
int agent_relay(struct agent_client *c, const char *id, const char *exec_id, const struct relay_io *io,
		struct agent_exit *ret, struct capsa_error *err);
