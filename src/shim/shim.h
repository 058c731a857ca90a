/*
 * capsa-shim: one per sandbox. Owns the VM and the agent connection, serves
 * the CLI on root/ID/shim.sock, relays the container's stdio, and exits with
 * the container process's status (or dies by its signal).
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "client/relay.h"
#include "client/session.h"
#include "runtime/bundle.h"
#include "runtime/config.h"
#include "runtime/state.h"

#define GUEST_ROOTFS GUEST_SHARED_DIR "/rootfs"

struct exec_proc {
	struct exec_proc *next;
	char *exec_id;
	int conn;                 /* the capsa exec proxy's connection; -1 once told */
	int fds[3];               /* its stdio (all three the pty slave with a terminal) */
	bool terminal;
	struct relay *relay;
};

struct shim {
	const char *root, *id;
	const char *console_socket;
	char state_dir[4096];
	struct container_state st;
	struct bundle bundle;
	struct capsa_config config;
	struct session session;
	bool terminal;
	int pty_slave;            /* the init process's terminal, host side; -1 without one */
	struct relay *init_relay;
	int control;              /* listening socket */
	int signals;              /* signalfd */
	struct exec_proc *execs;
	bool vm_gone;
};

/* sandbox.c: the private mount namespace and the shared directory the VM sees */
int sandbox_prepare(struct shim *s, json_t *guest_spec, struct capsa_error *err);
/* Creates the init process's pty and sends its master to the console socket. */
int sandbox_console(struct shim *s, struct capsa_error *err);

/* control.c */
int control_listen(struct shim *s, struct capsa_error *err);
void control_accept(struct shim *s);
void exec_conn_readable(struct shim *s, struct exec_proc *e);
/* Tells exec proxies whose process ended; frees finished execs. */
void execs_reap(struct shim *s, bool all_gone);
void shim_write_state(struct shim *s);
