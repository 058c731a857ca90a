/*
 * The state store: one directory per container under --root, state.json
 * written atomically (temp file + rename), a lock file serialising commands
 * on one container (commands on different containers do not wait).
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "common/error.h"

enum container_status { STATUS_CREATING, STATUS_CREATED, STATUS_RUNNING, STATUS_PAUSED, STATUS_STOPPED };

struct container_state {
	char *id;
	char *bundle;
	char *rootfs;
	char *created;                 /* RFC 3339 */
	char *cgroup_path;             /* host cgroup given by cgroupsPath, or NULL */
	pid_t pid;                     /* capsa-shim */
	unsigned long long pid_start;  /* its start time, so a reused pid is not mistaken for it */
	enum container_status status;
	int exit_status;               /* wait status once stopped, -1 before */
	json_t *annotations;
};

const char *status_name(enum container_status s);
bool valid_container_id(const char *id);

/* root/id; fails if the result does not fit. */
int state_path(const char *root, const char *id, const char *file, char *buf, size_t len);
/* Makes root (if needed) and root/id; -EEXIST when the id is taken. */
int state_create_dir(const char *root, const char *id, struct capsa_error *err);
/* Takes the container's lock (blocking); returns the fd holding it. */
int state_lock(const char *root, const char *id, struct capsa_error *err);
int state_write(const char *root, const struct container_state *st, struct capsa_error *err);
int state_read(const char *root, const char *id, struct container_state *ret, struct capsa_error *err);
/* The status as it is now: a live status whose shim is gone reads as stopped. */
enum container_status state_current_status(const struct container_state *st);
bool state_shim_alive(const struct container_state *st);
/* The runc-style `state` document. */
json_t *state_to_oci_json(const struct container_state *st);
void state_clear(struct container_state *st);
int state_remove(const char *root, const char *id);
/* The ids under root, sorted; *ret is a NULL-terminated vector. */
int state_list(const char *root, char ***ret, struct capsa_error *err);
/* Start time of a process (from /proc/PID/stat), 0 if it does not exist. */
unsigned long long process_start_time(pid_t pid);
