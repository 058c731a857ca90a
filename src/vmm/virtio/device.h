/*
 * What a virtio device provides to a transport. Devices know nothing of
 * MMIO or KVM; the transport (mmio.c) calls these with the device's lock
 * held, from a vCPU thread (register accesses) or the event loop (queue
 * notifications, the device's own fds).
 */
#pragma once

#include <stdint.h>

struct virtio_mmio_dev;

#define VIRTIO_MAX_QUEUES 8

struct virtio_device_ops {
	const char *name;
	uint32_t device_id;
	unsigned num_queues;
	uint16_t queue_size_max;
	uint64_t features;          /* VIRTIO_F_VERSION_1 is added by the transport */
	uint32_t config_size;
	/* config space bytes (already little endian), config_size long */
	const void *(*config)(void *dev);
	/* the driver set DRIVER_OK with the queues checked and active */
	void (*activate)(void *dev);
	/* the driver made buffers available on queue q */
	void (*queue_notify)(void *dev, unsigned q);
	/* the driver reset the device (status 0) or the device faulted */
	void (*reset)(void *dev);
};
