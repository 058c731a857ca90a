/*
 * virtio-vsock in userspace, with the hybrid-vsock unix-socket protocol of
 * Firecracker and Cloud Hypervisor:
 *  - host to guest: connect to the socket, write "CONNECT <port>\n", read
 *    "OK <host port>\n", then the stream is the guest's connection;
 *  - guest to host port P: capsa-vmm connects to "<socket>_P".
 * Stream sockets only; credit-based flow control both ways, so neither a
 * slow host nor a slow guest makes the VMM buffer more than buf_alloc a
 * connection.
 */
#pragma once

#include <stdint.h>

#include "common/error.h"
#include "vmm/loop.h"
#include "vmm/virtio/mmio.h"
#include "vmm/vmm.h"

#define VSOCK_HOST_CID 2
#define VSOCK_BUF_ALLOC (128u * 1024u)
#define VSOCK_MAX_CONNS 256

extern const struct virtio_device_ops virtio_vsock_ops;
int virtio_vsock_new(struct virtio_mmio_dev *transport, struct loop *loop, const struct vmm_config *cfg, void **ret,
		     struct capsa_error *err);
void virtio_vsock_free(void *dev);

/* For tests: hands one packet, as the guest's transmit queue holds it, to the device. */
struct virtq_chain;
void virtio_vsock_handle_tx(void *dev, const struct virtq_chain *chain);
unsigned virtio_vsock_connections(void *dev);
