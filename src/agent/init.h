/* PID 1 duties and the agent's boot options. */
#pragma once

#include <stdbool.h>

#include "common/error.h"

enum channel_kind { CHANNEL_AUTO, CHANNEL_SERIAL, CHANNEL_VSOCK };

struct agent_options {
	enum channel_kind channel;
	unsigned vsock_port;
	unsigned hangup_timeout_s;   /* power off after the host stays away this long; 0: never */
};

/* Parses capsa.* options from a kernel command line; unknown ones are ignored. */
void agent_options_parse(const char *cmdline, struct agent_options *ret);
/* Mounts /proc /sys /dev /run /tmp /sys/fs/cgroup and makes / a real mount. */
int init_filesystems(struct capsa_error *err);
