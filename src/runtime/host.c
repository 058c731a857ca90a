#include "runtime/host.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/child.h"
#include "common/cleanup.h"
#include "common/fdio.h"

static void cpuinfo(struct host_facts *h)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/cpuinfo", "re");
	char line[8192];
	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		char *value = colon + 1 + (colon[1] == ' ');
		value[strcspn(value, "\n")] = '\0';
		if (!strncmp(line, "vendor_id", 9) && !h->cpu_vendor[0])
			snprintf(h->cpu_vendor, sizeof(h->cpu_vendor), "%s", value);
		else if (!strncmp(line, "model name", 10) && !h->cpu_model[0])
			snprintf(h->cpu_model, sizeof(h->cpu_model), "%s", value);
		else if (!strncmp(line, "flags", 5) && (strstr(line, " vmx") || strstr(line, " svm")))
			h->cpu_virt_flag = true;
	}
}

static void meminfo(struct host_facts *h)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/meminfo", "re");
	char line[256];
	while (f && fgets(line, sizeof(line), f)) {
		sscanf(line, "MemTotal: %lld", &h->mem_total_kb);
		sscanf(line, "MemFree: %lld", &h->mem_free_kb);
		sscanf(line, "MemAvailable: %lld", &h->mem_available_kb);
	}
}

void host_facts_read(struct host_facts *h)
{
	*h = (struct host_facts){ 0 };
	struct utsname u;
	uname(&u);
	snprintf(h->kernel, sizeof(h->kernel), "%s", u.release);
	const char *arch = !strcmp(u.machine, "x86_64") ? "amd64" : !strcmp(u.machine, "aarch64") ? "arm64" : u.machine;
	snprintf(h->architecture, sizeof(h->architecture), "%s", arch);
	cpuinfo(h);
	meminfo(h);
	h->dev_kvm = access("/dev/kvm", F_OK) == 0;
	h->vhost_vsock = access("/dev/vhost-vsock", F_OK) == 0;
	h->vhost_net = access("/dev/vhost-net", F_OK) == 0;
	h->net_tun = access("/dev/net/tun", F_OK) == 0;
}

void hypervisor_version_line(const char *path, char *buf, size_t len)
{
	buf[0] = '\0';
	if (access(path, X_OK) < 0)
		return;
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return;
	char *argv[] = { (char *)path, (char *)"--version", NULL };
	struct child c;
	int r = child_spawn(argv, pipefd[1], NULL, 0, &c, NULL);
	close(pipefd[1]);
	if (r < 0) {
		close(pipefd[0]);
		return;
	}
	char out[1024];
	ssize_t n = read_full(pipefd[0], out, sizeof(out) - 1);
	close(pipefd[0]);
	if (child_wait(&c, 5000) == -ETIMEDOUT)
		child_stop(&c, 100);
	child_release(&c);
	out[n > 0 ? n : 0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	snprintf(buf, len, "%s", out);
}
