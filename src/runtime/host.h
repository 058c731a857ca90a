/* Facts about the host, read without side effects (no VM is created here). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct host_facts {
	char kernel[128];         /* uname -r */
	char architecture[32];    /* Go-style, as Kata prints it: amd64, arm64 */
	char cpu_vendor[64];
	char cpu_model[128];
	bool cpu_virt_flag;       /* vmx or svm */
	bool dev_kvm;             /* /dev/kvm exists */
	bool vhost_vsock;         /* /dev/vhost-vsock exists */
	bool vhost_net;           /* /dev/vhost-net exists */
	bool net_tun;             /* /dev/net/tun exists */
	long long mem_total_kb, mem_free_kb, mem_available_kb;
};

void host_facts_read(struct host_facts *ret);
/* Runs "path --version" and keeps the first line; "" when it cannot run. */
void hypervisor_version_line(const char *path, char *buf, size_t len);
