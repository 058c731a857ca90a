/* Helper processes (hypervisors, virtiofsd): spawned, watched through a pidfd, ended by PID. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"

struct child {
	pid_t pid;     /* 0: none */
	int pidfd;
	int status;    /* wait status once reaped */
	bool reaped;
};

/*
 * Starts argv[0] with stdin from /dev/null, stdout and stderr to log_fd,
 * keep_fds[i] as fd 3+i and nothing else open; it dies with its parent.
 * An exec failure is reported here, not in the log.
 */
int child_spawn(char *const argv[], int log_fd, const int *keep_fds, size_t n_keep, struct child *ret,
		struct capsa_error *err);
/* Waits up to timeout_ms (-1: forever); -ETIMEDOUT if still running. */
int child_wait(struct child *c, int timeout_ms);
bool child_running(struct child *c);
/* SIGTERM, then SIGKILL after timeout_ms; always reaps. */
void child_stop(struct child *c, int timeout_ms);
void child_release(struct child *c);
