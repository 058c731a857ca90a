/* A cgroup v2 group per container in the guest: its resource limits, freezing, and listing its processes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/oci.h"
#include "common/error.h"

int cgroup_create(const char *id, const struct oci_resources *res, struct capsa_error *err);
int cgroup_add(const char *id, pid_t pid, struct capsa_error *err);
int cgroup_freeze(const char *id, bool frozen, struct capsa_error *err);
/* The guest pids in the group; *ret is malloc'd. */
int cgroup_pids(const char *id, uint32_t **ret, size_t *ret_n, struct capsa_error *err);
void cgroup_remove(const char *id);
