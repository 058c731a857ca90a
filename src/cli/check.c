/* capsa check: can this host run containers with the configured hypervisor? Says what is missing and how to get it. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/util.h"
#include "hypervisor/kvm_probe.h"
#include "runtime/config.h"
#include "runtime/host.h"

struct report {
	bool verbose;
	int failures;
};

/* ok: passed; needed: a failure that stops containers from running; otherwise a note. */
static void item(struct report *r, bool ok, bool needed, const char *good, const char *bad)
{
	if (ok) {
		if (r->verbose)
			printf("ok:      %s\n", good);
		return;
	}
	if (needed)
		r->failures++;
	if (needed || r->verbose)
		printf("%s %s\n", needed ? "missing:" : "note:   ", bad);
}

static bool executable(const char *path)
{
	struct stat st;
	return path && path[0] && stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

static const char *install_hint(enum hypervisor_kind kind)
{
	switch (kind) {
	case HV_QEMU:
		return "apt-get install qemu-system-x86";
	case HV_CLH:
		return "Cloud Hypervisor is not packaged in Debian: install its static release binary";
	case HV_FIRECRACKER:
		return "Firecracker is not packaged in Debian: install its release binaries (firecracker, jailer)";
	case HV_ACRN:
		return "ACRN is not packaged in Debian and needs an ACRN hypervisor host";
	default:
		return "make install (capsa-vmm is part of capsa)";
	}
}

int cli_check(const struct cli_globals *g, int argc, char **argv, struct capsa_error *err)
{
	static const struct option options[] = { { "verbose", no_argument, NULL, 'v' }, { "help", no_argument, NULL, 'h' }, { 0 } };
	struct report rep = { 0 };
	int opt;
	while ((opt = getopt_long(argc, argv, "vh", options, NULL)) != -1) {
		if (opt == 'v') {
			rep.verbose = true;
		} else {
			fprintf(opt == 'h' ? stdout : stderr, "usage: capsa check [--verbose]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	struct capsa_config c;
	int r = cli_load_config(g, &c, err);
	if (r < 0)
		return r;

	struct host_facts h;
	host_facts_read(&h);
	struct kvm_probe probe;
	kvm_probe_run(&probe);
	bool hardware = kvm_probe_usable(&probe);
	bool qemu = c.hypervisor == HV_QEMU;
	char buf[1200], good[1200];

	if (rep.verbose)
		printf("configuration: %s (hypervisor %s)\n", c.path, hypervisor_kind_section(c.hypervisor));
	item(&rep, h.cpu_virt_flag, !qemu, "the CPU has hardware virtualization (vmx/svm)",
	     "the CPU shows no hardware virtualization flag (vmx or svm): enable VT-x/AMD-V in the firmware, or on a VM "
	     "enable nested virtualization");
	item(&rep, probe.dev_kvm, !qemu, "/dev/kvm is there",
	     "/dev/kvm is missing or unusable: load kvm_intel or kvm_amd (modprobe kvm_intel) and check its permissions");
	snprintf(buf, sizeof(buf), "KVM cannot run ordinary guests at hardware speed: %s", probe.detail);
	item(&rep, hardware, !qemu, "KVM runs guest code with hardware virtualization", buf);
	if (qemu && !hardware)
		printf("note:    QEMU will run guests with TCG (software emulation): containers work, about 10-50x slower to "
		       "boot and run than with KVM\n");
	bool vsock_needed = c.hypervisor == HV_CLH || c.hypervisor == HV_FIRECRACKER;
	item(&rep, h.vhost_vsock, vsock_needed, "/dev/vhost-vsock is there",
	     vsock_needed ? "/dev/vhost-vsock is missing (modprobe vhost_vsock): the agent channel needs it"
			  : "/dev/vhost-vsock is missing (modprobe vhost_vsock): capsa uses a virtio-serial port for the agent instead");
	item(&rep, h.vhost_net, false, "/dev/vhost-net is there", "/dev/vhost-net is missing (modprobe vhost_net): networking "
	     "will be slower");
	item(&rep, h.net_tun, true, "/dev/net/tun is there", "/dev/net/tun is missing (modprobe tun): VMs cannot get networks");

	char version[1024];
	hypervisor_version_line(c.hv.path, version, sizeof(version));
	snprintf(good, sizeof(good), "hypervisor %s: %s", c.hv.path, version);
	snprintf(buf, sizeof(buf), "hypervisor binary %s is not there or not executable: %s", c.hv.path,
		 install_hint(c.hypervisor));
	item(&rep, executable(c.hv.path), true, good, buf);
	if (c.hypervisor != HV_QEMU && c.hypervisor != HV_DRAGONBALL) {
		snprintf(buf, sizeof(buf), "capsa has no %s driver yet: only qemu runs containers today",
			 hypervisor_kind_section(c.hypervisor));
		item(&rep, false, true, "", buf);
	}
	if (!strcmp(c.hv.shared_fs, "virtio-fs")) {
		snprintf(good, sizeof(good), "virtio-fs daemon %s", c.hv.virtio_fs_daemon);
		snprintf(buf, sizeof(buf), "virtio-fs daemon %s is not there: apt-get install qemu-system-x86 (it ships "
			 "/usr/lib/qemu/virtiofsd), or set shared_fs = \"virtio-9p\"", c.hv.virtio_fs_daemon);
		item(&rep, executable(c.hv.virtio_fs_daemon), true, good, buf);
	}
	snprintf(good, sizeof(good), "guest kernel %s", c.hv.kernel);
	item(&rep, true, true, good, "");
	if (c.hv.initrd[0]) {
		snprintf(good, sizeof(good), "guest initrd %s", c.hv.initrd);
		item(&rep, true, true, good, "");
	}
	if (rep.failures == 0)
		printf("capsa can run containers here with %s%s.\n", hypervisor_kind_section(c.hypervisor),
		       qemu ? (hardware ? " and KVM" : " and TCG (slow: no hardware virtualization)") : "");
	else
		printf("capsa cannot run containers here with %s: %d thing%s missing (above).\n",
		       hypervisor_kind_section(c.hypervisor), rep.failures, rep.failures == 1 ? " is" : "s are");
	config_free(&c);
	return rep.failures ? 1 : 0;
}
