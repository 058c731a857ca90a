/* The container's cgroupsPath on the host, for capsa's own processes (shim, hypervisor, virtiofsd). */
#pragma once

#include <sys/types.h>

#include "common/error.h"

/* "/a/b" as is; systemd's "slice:prefix:name" as "/slice/prefix-name.scope". */
int host_cgroup_normalise(const char *cgroups_path, char *buf, size_t len);
/* Creates the group in every mounted hierarchy (v1 controllers and v2) and moves pid into it. */
int host_cgroup_join(const char *path, pid_t pid, struct capsa_error *err);
/* Removes the group's leaf directories, once empty. */
void host_cgroup_remove(const char *path);
