/*
 * virtio-mmio transport (virtio 1.x, section 4.2, version 2 registers).
 * Register accesses come from vCPU threads and are checked: offsets, sizes,
 * queue indexes, config-space bounds, feature bits. The device is reached
 * through struct virtio_device_ops only.
 */
#pragma once

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/memory.h"
#include "vmm/virtio/device.h"
#include "vmm/virtio/queue.h"

#define VIRTIO_MMIO_SIZE 0x1000

typedef void (*vmm_log_fn)(void *opaque, const char *fmt, va_list ap);

struct virtio_mmio_dev {
	pthread_mutex_t lock;
	const struct virtio_device_ops *ops;
	void *dev;
	const struct guest_memory *mem;
	uint64_t base;
	unsigned irq;
	/* how the device interrupts the guest (an irqfd eventfd), and where faults are reported */
	void (*interrupt)(void *opaque);
	void *interrupt_opaque;
	vmm_log_fn log;
	void *log_opaque;

	uint64_t device_features, driver_features;
	uint32_t device_features_sel, driver_features_sel;
	uint32_t queue_sel;
	uint32_t status;
	uint32_t interrupt_status;
	uint32_t config_generation;
	bool failed;
	unsigned log_lines;   /* a guest that keeps misbehaving does not flood the log */
	struct virtq queues[VIRTIO_MAX_QUEUES];
};

void virtio_mmio_init(struct virtio_mmio_dev *d, const struct virtio_device_ops *ops, void *dev,
		      const struct guest_memory *mem, uint64_t base, unsigned irq);
void virtio_mmio_destroy(struct virtio_mmio_dev *d);

/* Register accesses at offset from the device's base (the caller holds no lock). */
void virtio_mmio_read(struct virtio_mmio_dev *d, uint64_t offset, void *data, unsigned len);
void virtio_mmio_write(struct virtio_mmio_dev *d, uint64_t offset, const void *data, unsigned len);
/* A queue notification that came through an ioeventfd (the caller holds no lock). */
void virtio_mmio_notify(struct virtio_mmio_dev *d, unsigned q);

/* For devices, with the lock held: */
bool virtio_mmio_running(const struct virtio_mmio_dev *d);
/* Tells the driver used buffers are ready on q. */
void virtio_mmio_signal_used(struct virtio_mmio_dev *d, unsigned q);
/* Reports a guest fault and stops the device until the driver resets it. */
void virtio_mmio_fault(struct virtio_mmio_dev *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* virtq_pop on queue q, where a malformed chain is the guest's fault: the
 * device stops (virtio_mmio_fault, naming the queue by `what`). Returns 1 with
 * a chain, 0 when none is available, < 0 after such a fault. */
int virtio_mmio_pop(struct virtio_mmio_dev *d, unsigned q, const char *what, struct virtq_chain *chain);
/* Reports something worth knowing that is not the guest's fault. */
void virtio_mmio_log(struct virtio_mmio_dev *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
