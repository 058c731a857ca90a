/*
 * capsa's built-in VMM as a library: boots a Linux guest on KVM with an
 * 8250 console and virtio-mmio devices (console for the agent channel,
 * vsock in userspace with the hybrid-vsock unix-socket protocol). It runs in
 * the caller's process: vCPU threads plus an event loop on the calling
 * thread. It uses SIGUSR1 to kick vCPU threads out of KVM_RUN.
 */
#pragma once

#include <stdarg.h>
#include <stdint.h>

#include "common/error.h"

#define VMM_MAX_CPUS 8

struct vmm_config {
	const char *kernel;         /* vmlinux (PVH) or bzImage */
	const char *initrd;         /* NULL: none */
	const char *cmdline;        /* virtio_mmio.device= entries are appended */
	unsigned cpus;              /* 1..VMM_MAX_CPUS */
	unsigned memory_mib;
	int console_out;            /* guest console output; -1: discarded */
	int console_in;             /* guest console input; -1: none */
	const char *agent_socket;   /* virtio-console port "agent.channel.0" served on this unix socket; NULL: none */
	const char *vsock_socket;   /* hybrid vsock unix socket; NULL: no vsock device */
	uint64_t vsock_cid;
	int stop_fd;                /* readable: stop the VM (a signalfd for SIGTERM); -1: none */
	const char *kvm_device;     /* NULL: /dev/kvm */
	/* guest faults and other events worth a line; NULL: silent */
	void (*log)(void *opaque, const char *fmt, va_list ap);
	void *log_opaque;
};

enum vmm_exit {
	VMM_EXIT_RESET,      /* the guest reset the machine (reboot=t or reboot=k): its way to power off */
	VMM_EXIT_SHUTDOWN,   /* the guest powered off */
	VMM_EXIT_STOPPED,    /* stop_fd asked for it */
	VMM_EXIT_ERROR,      /* KVM failed or the guest did something unrecoverable; err says what */
};

struct vmm;

int vmm_create(const struct vmm_config *cfg, struct vmm **ret, struct capsa_error *err);
/* Runs the VM until it ends; returns 0 with how it ended, or a negative errno. */
int vmm_run(struct vmm *v, enum vmm_exit *ret_exit, struct capsa_error *err);
void vmm_free(struct vmm *v);
