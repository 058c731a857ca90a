/* The VM's internals shared by vmm.c, vcpu.c and the platform devices. */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "vmm/boot/boot.h"
#include "vmm/bus.h"
#include "vmm/kvm.h"
#include "vmm/loop.h"
#include "vmm/memory.h"
#include "vmm/serial.h"
#include "vmm/vmm.h"
#include "vmm/virtio/mmio.h"

#define VM_MAX_VIRTIO 4
#define VIRTIO_MMIO_BASE GUEST_MMIO_HOLE_START
#define VIRTIO_FIRST_IRQ 5

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	/* for the report of a vCPU stopped from outside */
	unsigned long long exits, eintr;
	uint32_t last_exit;
};

struct virtio_notify {
	struct virtio_mmio_dev *dev;
	unsigned queue;
	int fd;
};

struct virtio_slot {
	struct virtio_mmio_dev mmio;
	int irq_fd;
	struct virtio_notify notify[VIRTIO_MAX_QUEUES];
	void *device;
	void (*free_device)(void *device);
};

struct i8042 {
	pthread_mutex_t lock;
	uint8_t ctr, out, pending_cmd;
	bool out_full;
};

struct vm {
	struct vmm_config cfg;
	struct kvm kvm;
	struct guest_memory mem;
	struct loop *loop;
	struct bus pio, mmio;
	struct serial *serial;
	struct loop_source *console_source;
	struct i8042 kbc;
	struct boot_info boot;
	struct vcpu vcpus[VMM_MAX_CPUS];
	struct virtio_slot virtio[VM_MAX_VIRTIO];
	unsigned n_virtio;
	int stop_event;                 /* eventfd: a vCPU asks the loop to end the VM */
	atomic_bool stopping;
	atomic_int exit_reason;         /* enum vmm_exit, the first one wins */
	char exit_message[512];
	pthread_mutex_t exit_lock;
};

void vm_log(struct vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* From any thread: ends the VM (the first reason is kept). */
void vm_request_exit(struct vm *vm, enum vmm_exit reason, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

int vcpu_create(struct vm *vm, unsigned id, struct capsa_error *err);
int vcpu_setup_boot(struct vcpu *c, const struct boot_info *boot, struct capsa_error *err);
int vcpu_start(struct vcpu *c, struct capsa_error *err);
void vcpu_kick(struct vcpu *c);
void vcpu_destroy(struct vcpu *c);

/* The reset ports: i8042 (0x64, command 0xfe) and the PCI reset control register (0xcf9). */
int reset_ports_register(struct vm *vm);
