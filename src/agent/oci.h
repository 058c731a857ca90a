/* The parts of an OCI runtime spec (config.json) the agent acts on. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "common/error.h"

struct oci_rlimit {
	int resource;
	struct rlimit limit;
};

struct oci_process {
	char **args;          /* NULL-terminated */
	char **env;           /* NULL-terminated */
	char *cwd;
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	size_t n_groups;
	int umask;            /* -1: leave as is */
	bool terminal;
	unsigned short console_rows, console_columns;
	bool no_new_privileges;
	bool has_capabilities;
	uint64_t cap_bounding, cap_effective, cap_inheritable, cap_permitted, cap_ambient;
	struct oci_rlimit *rlimits;
	size_t n_rlimits;
};

struct oci_mount {
	char *destination;
	char *type;
	char *source;
	char **options;       /* NULL-terminated */
};

struct oci_device {
	char *path;
	char type;            /* 'c', 'b', 'u', 'p' */
	unsigned major, minor;
	unsigned mode;
	uid_t uid;
	gid_t gid;
};

/* linux.resources: -1 (or 0 for the unsigned ones) when not given */
struct oci_resources {
	long long memory_limit;      /* bytes */
	long long cpu_quota;         /* microseconds per period */
	unsigned long long cpu_period;
	unsigned long long cpu_shares;
	long long pids_limit;
	char *cpuset_cpus;
};

struct oci_spec {
	struct oci_process process;
	char *root_path;
	bool root_readonly;
	char *hostname;
	struct oci_mount *mounts;
	size_t n_mounts;
	int clone_flags;      /* CLONE_NEW* for the namespaces the spec asks for */
	char **masked_paths;
	char **readonly_paths;
	char *rootfs_propagation;
	struct oci_device *devices;
	size_t n_devices;
	char **sysctl;        /* key=value pairs, NULL-terminated */
	struct oci_resources resources;
};

/* Parses config.json bytes; errors name the offending field. */
int oci_spec_parse(const char *json, size_t len, struct oci_spec *ret, struct capsa_error *err);
/* Parses a lone "process" object (ExecProcess). */
int oci_process_parse(const char *json, size_t len, struct oci_process *ret, struct capsa_error *err);
void oci_spec_free(struct oci_spec *s);
void oci_process_free(struct oci_process *p);

/* Capability name ("CAP_CHOWN") to number, or -1. */
int oci_capability_from_name(const char *name);
