/* The last steps of a container process, in the child, before execve. */
#pragma once

#include "agent/oci.h"
#include "common/error.h"

/* Applies rlimits, identity, capabilities, no_new_privs and cwd, then execs.
 * Returns only on failure. */
int process_exec(const struct oci_process *p, struct capsa_error *err);
/* Whether the program resolves (PATH in the process's env) and can be executed, in the current root. */
int process_check_executable(const struct oci_process *p, struct capsa_error *err);
/* Writes key=value sysctls under /proc/sys. */
int apply_sysctls(char **sysctl, struct capsa_error *err);
