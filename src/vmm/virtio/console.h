/*
 * virtio-console with one multiport port, "agent.channel.0", served on a
 * unix socket: the capsa agent's channel. One host connection at a time;
 * the guest sees the port open while a host is connected.
 */
#pragma once

#include "common/error.h"
#include "vmm/loop.h"
#include "vmm/virtio/mmio.h"
#include "vmm/vmm.h"

#define VIRTIO_CONSOLE_AGENT_PORT "agent.channel.0"

extern const struct virtio_device_ops virtio_console_ops;
int virtio_console_new(struct virtio_mmio_dev *transport, struct loop *loop, const struct vmm_config *cfg, void **ret,
		       struct capsa_error *err);
void virtio_console_free(void *dev);
