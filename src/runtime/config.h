/*
 * capsa's configuration: one TOML file per hypervisor, Kata's key names,
 * found by a fixed lookup order with config.d/ drop-ins merged on top.
 * Every value remembers the file and line it came from, for errors.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "hypervisor/hypervisor.h"

#define CONFIG_ENV_VAR "CAPSA_CONF_FILE"
#define CONFIG_ETC_PATH "/etc/capsa/configuration.toml"
#define CONFIG_DEFAULTS_PATH CAPSA_PREFIX "/share/defaults/capsa/configuration.toml"

enum hypervisor_kind { HV_QEMU, HV_CLH, HV_FIRECRACKER, HV_ACRN, HV_DRAGONBALL, HV_KINDS };

struct config_origin {
	const char *file;   /* points into capsa_config.files */
	int line;           /* 0: the built-in default */
};

struct capsa_config {
	char *path;                 /* the main file, as found */
	char **files;               /* the main file then the drop-ins, in the order applied */
	size_t n_files;
	char **warnings;            /* "file:line: ..." for unknown keys and sections */
	size_t n_warnings;

	enum hypervisor_kind hypervisor;
	struct {
		char *path, *kernel, *initrd, *image, *machine_type, *kernel_params, *firmware;
		long long default_vcpus, default_maxvcpus, default_memory, memory_slots;
		char *shared_fs, *virtio_fs_daemon, *virtio_fs_cache, *block_device_driver;
		bool enable_debug;
		char **valid_hypervisor_paths;
		char *jailer_path, *ctlpath, *accelerator;
	} hv;
	struct {
		long long dial_timeout;
		char **kernel_modules;
		bool enable_debug;
	} agent;
	struct {
		bool enable_debug;
		char *internetworking_model;
		bool sandbox_cgroup_only, disable_guest_seccomp;
	} runtime;
	struct config_origin *origins;   /* one per known key, see config_origin_of */
	char *kernel_params_effective;   /* kernel_params with the agent's options, for the driver */
};

/* The paths tried, in order, when no --config is given (explicit may be NULL). */
size_t config_default_paths(const char *explicit_path, const char **ret, size_t max);
/* Finds, reads, merges and validates the configuration. */
int config_load(const char *explicit_path, struct capsa_config *ret, struct capsa_error *err);
/* Reads and validates exactly this file (and its config.d/). */
int config_load_file(const char *path, struct capsa_config *ret, struct capsa_error *err);
void config_free(struct capsa_config *c);

const char *hypervisor_kind_name(enum hypervisor_kind kind);      /* "qemu", "clh", ... */
const char *hypervisor_kind_section(enum hypervisor_kind kind);   /* "qemu", "clh", "firecracker", ... */
/* Where the key ("hypervisor.kernel", "agent.dial_timeout", "runtime.enable_debug") came from. */
struct config_origin config_origin_of(const struct capsa_config *c, const char *key);

/* The driver settings for a VM (run_dir and the shared directory are the caller's). */
int config_hypervisor_settings(struct capsa_config *c, struct hypervisor_config *ret, struct capsa_error *err);
