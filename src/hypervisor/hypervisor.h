/*
 * The hypervisor driver interface. Each driver (qemu.c, later clh.c,
 * firecracker.c, acrn.c, builtin.c) fills one ops struct; nothing outside
 * a driver knows its command line or API.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"

enum shared_fs_kind { SHARED_FS_NONE, SHARED_FS_VIRTIO_FS, SHARED_FS_VIRTIO_9P };
enum accelerator { ACCEL_AUTO, ACCEL_KVM, ACCEL_TCG };

struct hypervisor_config {
	const char *path;              /* hypervisor binary */
	const char *kernel;
	const char *initrd;
	const char *kernel_params;     /* appended to the driver's own */
	const char *machine_type;      /* qemu: "microvm" or "q35" */
	unsigned vcpus;
	unsigned memory_mib;
	enum shared_fs_kind shared_fs;
	const char *shared_dir;        /* host directory shared with the guest */
	const char *shared_tag;
	const char *virtio_fs_daemon;
	const char *virtio_fs_cache;   /* none, auto, always */
	enum accelerator accelerator;
	const char *run_dir;           /* existing directory for this VM's sockets and logs */
	bool debug;                    /* guest and agent log verbosely to the console log */
};

enum hypervisor_capability {
	HV_CAP_PAUSE = 1 << 0,
	HV_CAP_VIRTIO_FS = 1 << 1,
	HV_CAP_VIRTIO_9P = 1 << 2,
	HV_CAP_VSOCK = 1 << 3,
	HV_CAP_HOTPLUG = 1 << 4,
};

enum vm_device_kind { VM_DEVICE_BLOCK, VM_DEVICE_NET };

struct vm_device {
	enum vm_device_kind kind;
	const char *id;
	const char *path;              /* block: image file; net: tap device name */
	bool readonly;
};

/* Every driver's VM starts with this. */
struct vm {
	const struct hypervisor_ops *ops;
};

struct hypervisor_ops {
	const char *name;
	/* Checks the configuration and prepares; starts nothing. */
	int (*create)(const struct hypervisor_config *cfg, struct vm **ret, struct capsa_error *err);
	/* Launches the VM; returns once it runs and the agent channel is connected (not yet answering). */
	int (*start)(struct vm *vm, struct capsa_error *err);
	/* Ends the VM and its helpers, politely first, then by force after timeout_ms. */
	int (*stop)(struct vm *vm, int timeout_ms, struct capsa_error *err);
	int (*pause)(struct vm *vm, struct capsa_error *err);
	int (*resume)(struct vm *vm, struct capsa_error *err);
	int (*add_device)(struct vm *vm, const struct vm_device *dev, struct capsa_error *err);
	/* Hands over the connected agent channel (once); the caller owns the fd. */
	int (*agent_connect)(struct vm *vm, int *ret_fd, struct capsa_error *err);
	/* A human-readable address of the agent channel, e.g. "unix:/run/.../agent.sock". */
	int (*agent_address)(struct vm *vm, char *buf, size_t len);
	/* The host processes that make up the VM (hypervisor, virtiofsd...). */
	size_t (*pids)(struct vm *vm, pid_t *ret, size_t max);
	unsigned (*capabilities)(const struct vm *vm);
	int (*version)(const struct hypervisor_config *cfg, char *buf, size_t len, struct capsa_error *err);
	/* Waits for the VM to end by itself (after the agent powered off); 0 when it did. */
	int (*wait)(struct vm *vm, int timeout_ms, struct capsa_error *err);
	/* If the VM has ended, says how (exit status, last hypervisor message) and returns true. */
	bool (*ended)(struct vm *vm, char *buf, size_t len);
	/* Frees the VM; stops it by force first if it still runs. */
	void (*destroy)(struct vm *vm);
};

extern const struct hypervisor_ops qemu_ops;

/* The driver named name ("qemu", ...), or NULL. */
const struct hypervisor_ops *hypervisor_find(const char *name);
