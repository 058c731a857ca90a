/* Finding the host channel: a named virtio-serial port or a vsock listener. */
#pragma once

#include "common/error.h"

#define AGENT_PORT_NAME "agent.channel.0"

/* Opens the virtio-serial port named name; -ENOENT if there is none. */
int channel_open_port(const char *name, struct capsa_error *err);
/* Whether the guest has a virtio vsock device. */
int channel_have_vsock(void);
int channel_listen_vsock(unsigned port, struct capsa_error *err);
