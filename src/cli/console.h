#pragma once

#include <sys/types.h>

#include "common/error.h"

struct console {
	char dir[64], path[96];
	int listener, master;
};

/* A console socket of our own, for a shim to hand its pty master to. */
int console_listen(struct console *c, struct capsa_error *err);
int console_take_master(struct console *c, struct capsa_error *err);
int console_relay(struct console *c, pid_t shim);
void console_close(struct console *c);
