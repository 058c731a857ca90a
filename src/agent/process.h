/* Private to the agent's container code: the structures behind container.h. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "agent/container.h"
#include "agent/loop.h"
#include "agent/oci.h"

struct pending_read {
	bool active;
	struct call call;
	uint32_t len;
};

struct output {
	struct watch w;         /* fd: read end of the pipe, or the pty master; -1 when closed */
	struct pending_read read;
	struct process *owner;
};

struct process {
	struct process *next;
	struct container *container;
	char *exec_id;          /* "" for the container's init */
	pid_t pid;
	bool exited;
	int wait_status;
	bool terminal;
	struct output out, err;
	struct watch in;        /* fd: write end of stdin (a dup of the pty master with a terminal) */
	bool in_pending;
	struct call in_call;
	uint8_t *in_data;
	size_t in_len;
	bool in_close_requested;
	struct call *waiters;
	size_t n_waiters;
	int sync_fd;            /* to the child until it has exec'd */
};

struct container {
	struct container *next;
	char *id;
	char *rootfs;
	struct oci_spec spec;
	struct process *processes;   /* the first is init */
	bool started;
};

/* Forks the process (init: into new namespaces; exec: into the container's) and waits until
 * it is ready at its start gate. Fills p->pid, stdio and sync_fd. */
int spawn_process(struct container *c, struct process *p, const struct oci_process *op, bool is_init,
		  struct capsa_error *err);
/* Opens the start gate and waits for the exec to succeed or report why it failed. */
int spawn_release(struct process *p, struct capsa_error *err);

void output_init(struct output *o, struct process *owner, int fd);
void stdio_close_all(struct process *p);
/* The process exited: answer reads that can now only see end of stream. */
void stdio_process_exited(struct process *p);
