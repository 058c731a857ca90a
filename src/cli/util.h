/* Helpers shared by the verbs. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "cli/cli.h"
#include "runtime/config.h"
#include "runtime/state.h"

/* "TERM", "SIGTERM", "15", "kill" -> number; -EINVAL if it names no signal. */
int parse_signal(const char *text);
/* Writes the pid to path atomically (temp file + rename). */
int write_pid_file(const char *path, pid_t pid, struct capsa_error *err);
/* The path of a program installed beside this one (capsa-shim). */
int sibling_program(const char *name, char *buf, size_t len);
/* Loads a container's state that must be live (created, running or paused). */
int load_live_state(const struct cli_globals *g, const char *id, struct container_state *ret, struct capsa_error *err);
/* Sends a simple {"op": op} request (with extra fields from extra, may be NULL). */
int shim_request(const struct cli_globals *g, const char *id, const char *op, json_t *extra, json_t **ret,
		 struct capsa_error *err);
/* Waits for a process that need not be our child to end. */
int wait_pid_gone(pid_t pid, unsigned long long start_time, int timeout_ms);
/* The RFC 3339 time now, for "created" and log lines. */
void rfc3339_now(char *buf, size_t len);
/* Loads the configuration (--config or the lookup order), printing its warnings. */
int cli_load_config(const struct cli_globals *g, struct capsa_config *ret, struct capsa_error *err);
/* Checks a verb's positional argument count; prints usage and returns 2 when wrong. */
bool expect_args(int argc, int optind_now, int want, const char *usage);
