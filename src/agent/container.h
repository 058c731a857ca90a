/*
 * Containers and their processes inside the guest. A container's init
 * process is created (namespaces, rootfs) by CreateContainer and held at a
 * gate until StartContainer; exec'd processes join its namespaces and start
 * at once. Process output is read only while the host has a read pending,
 * so a slow host applies back-pressure instead of the agent buffering.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/server.h"
#include "common/error.h"

struct process;

int container_create(const char *id, const char *spec_json, size_t spec_len, const char *rootfs,
		     struct capsa_error *err);
int container_start(const char *id, struct capsa_error *err);
int container_exec(const char *id, const char *exec_id, const char *process_json, size_t len,
		   struct capsa_error *err);
/* Kills what is left of the container and forgets it. */
int container_remove(const char *id, struct capsa_error *err);
void containers_remove_all(void);
/* Freezes or thaws every process of the container (its cgroup). */
int container_pause(const char *id, bool pause, struct capsa_error *err);
int container_pids(const char *id, uint32_t **ret, size_t *ret_n, struct capsa_error *err);

/* Looks up a process; exec_id "" is the container's init. NULL with err filled if absent. */
struct process *process_find(const char *container_id, const char *exec_id, struct capsa_error *err);
pid_t process_pid(const struct process *p);
int process_signal(struct process *p, int signal, bool all, struct capsa_error *err);
/* These answer the call now or park it until they can. */
void process_wait(struct process *p, struct call call);
void process_read(struct process *p, bool from_stderr, struct call call, uint32_t len);
void process_write(struct process *p, struct call call, const uint8_t *data, size_t len);
int process_close_stdin(struct process *p, struct capsa_error *err);
int process_resize(struct process *p, unsigned rows, unsigned columns, struct capsa_error *err);

/* Reaps every exited child: tracked ones record their status, orphans are just reaped. */
void processes_reap(void);
