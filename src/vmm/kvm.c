#include "vmm/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fdio.h"

/* Intel needs these pages outside RAM; AMD ignores them. Just below the IOAPIC/BIOS area. */
#define KVM_TSS_ADDR 0xfffbd000
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000
#define CPUID_MAX_ENTRIES 256

static bool cpu_has_hw_virt(void)
{
	_cleanup_free_ char *info = NULL;
	if (read_file("/proc/cpuinfo", 4 << 20, &info, NULL) < 0)
		return true;   /* cannot tell: let KVM decide */
	for (char *line = info; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, "flags", 5))
			continue;
		char *end = strchr(line, '\n');
		if (end)
			*end = '\0';
		bool found = strstr(line, " vmx") || strstr(line, " svm");
		if (end)
			*end = '\n';
		return found;
	}
	return false;
}

int kvm_open(struct kvm *k, const char *dev_path, struct capsa_error *err)
{
	*k = (struct kvm){ .kvm_fd = -1, .vm_fd = -1 };
	_cleanup_close_ int fd = open(dev_path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return capsa_error_set(err, -ENODEV, "%s does not exist: this machine has no KVM", dev_path);
		return capsa_error_errno(err, -errno, "opening %s", dev_path);
	}
	int version = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION)
		return capsa_error_set(err, -ENOTSUP, "%s speaks KVM API %d, not %d", dev_path, version, KVM_API_VERSION);
	if (!cpu_has_hw_virt())
		return capsa_error_set(err, -ENODEV,
				       "%s exists but the CPU has no vmx or svm flag: no hardware virtualization for "
				       "ordinary guests here (a PVM or emulated KVM); use QEMU with TCG instead", dev_path);
	static const struct { int cap; const char *name; } needed[] = {
		{ KVM_CAP_IRQCHIP, "IRQCHIP" }, { KVM_CAP_PIT2, "PIT2" }, { KVM_CAP_IOEVENTFD, "IOEVENTFD" },
		{ KVM_CAP_IRQFD, "IRQFD" }, { KVM_CAP_USER_MEMORY, "USER_MEMORY" },
		{ KVM_CAP_IMMEDIATE_EXIT, "IMMEDIATE_EXIT" }, { KVM_CAP_EXT_CPUID, "EXT_CPUID" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(needed); i++)
		if (ioctl(fd, KVM_CHECK_EXTENSION, needed[i].cap) <= 0)
			return capsa_error_set(err, -ENOTSUP, "%s lacks KVM_CAP_%s", dev_path, needed[i].name);
	k->vcpu_mmap_size = ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (k->vcpu_mmap_size < (int)sizeof(struct kvm_run))
		return capsa_error_errno(err, -errno, "KVM_GET_VCPU_MMAP_SIZE");
	k->supported_cpuid = calloc(1, sizeof(struct kvm_cpuid2) + CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2));
	if (!k->supported_cpuid)
		return capsa_error_set(err, -ENOMEM, "out of memory");
	k->supported_cpuid->nent = CPUID_MAX_ENTRIES;
	if (ioctl(fd, KVM_GET_SUPPORTED_CPUID, k->supported_cpuid) < 0) {
		int r = capsa_error_errno(err, -errno, "KVM_GET_SUPPORTED_CPUID");
		free(k->supported_cpuid);
		k->supported_cpuid = NULL;
		return r;
	}
	k->kvm_fd = steal_fd(&fd);
	return 0;
}

int kvm_create_vm(struct kvm *k, const struct guest_memory *m, struct capsa_error *err)
{
	int fd = ioctl(k->kvm_fd, KVM_CREATE_VM, 0);
	if (fd < 0)
		return capsa_error_errno(err, -errno, "KVM_CREATE_VM");
	/* ioctl-created fds are close-on-exec already (anon inodes with O_CLOEXEC) */
	k->vm_fd = fd;
	if (ioctl(fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0)
		return capsa_error_errno(err, -errno, "KVM_SET_TSS_ADDR");
	uint64_t identity = KVM_IDENTITY_MAP_ADDR;
	if (ioctl(fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0)
		return capsa_error_errno(err, -errno, "KVM_SET_IDENTITY_MAP_ADDR");
	if (ioctl(fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return capsa_error_errno(err, -errno, "KVM_CREATE_IRQCHIP");
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	if (ioctl(fd, KVM_CREATE_PIT2, &pit) < 0)
		return capsa_error_errno(err, -errno, "KVM_CREATE_PIT2");
	for (unsigned i = 0; i < m->n_regions; i++) {
		struct kvm_userspace_memory_region region = {
			.slot = i, .guest_phys_addr = m->regions[i].gpa, .memory_size = m->regions[i].size,
			.userspace_addr = (uintptr_t)m->regions[i].hva,
		};
		if (ioctl(fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
			return capsa_error_errno(err, -errno, "KVM_SET_USER_MEMORY_REGION slot %u", i);
	}
	return 0;
}

void kvm_close(struct kvm *k)
{
	if (k->vm_fd >= 0)
		close(k->vm_fd);
	if (k->kvm_fd >= 0)
		close(k->kvm_fd);
	free(k->supported_cpuid);
	*k = (struct kvm){ .kvm_fd = -1, .vm_fd = -1 };
}

int kvm_irq_line(struct kvm *k, unsigned irq, int level)
{
	struct kvm_irq_level l = { .irq = irq, .level = level };
	return ioctl(k->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

int kvm_irqfd(struct kvm *k, int fd, unsigned gsi, struct capsa_error *err)
{
	struct kvm_irqfd irqfd = { .fd = (uint32_t)fd, .gsi = gsi };
	if (ioctl(k->vm_fd, KVM_IRQFD, &irqfd) < 0)
		return capsa_error_errno(err, -errno, "KVM_IRQFD for GSI %u", gsi);
	return 0;
}

int kvm_ioeventfd(struct kvm *k, int fd, uint64_t addr, uint32_t datamatch, struct capsa_error *err)
{
	struct kvm_ioeventfd io = {
		.datamatch = datamatch, .addr = addr, .len = 4, .fd = fd, .flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
	};
	if (ioctl(k->vm_fd, KVM_IOEVENTFD, &io) < 0)
		return capsa_error_errno(err, -errno, "KVM_IOEVENTFD at 0x%llx", (unsigned long long)addr);
	return 0;
}
