#include "hypervisor/kvm_probe.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fdio.h"

static bool cpuinfo_has_virt_flag(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/cpuinfo", "re");
	char line[8192];
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		if (strstr(line, " vmx") || strstr(line, " svm"))
			return true;
	}
	return false;
}

/* In a child, so a host that hangs or dies on guest code cannot take us with it.
 * Real mode at 0x1000: mov al, 0x42; out 0x10, al; hlt. */
static int run_guest_code(int kvm)
{
	static const unsigned char code[] = { 0xb0, 0x42, 0xe6, 0x10, 0xf4 };
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return 2;
	void *mem = mmap(NULL, 0x2000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 2;
	memcpy((char *)mem + 0x1000, code, sizeof(code));
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = 0x2000, .userspace_addr = (unsigned long)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return 2;
	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vcpu < 0 || run_size <= 0)
		return 2;
	struct kvm_run *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return 2;
	struct kvm_sregs sregs;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return 2;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return 2;
	struct kvm_regs regs = { .rip = 0x1000, .rflags = 0x2 };
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return 2;
	bool saw_out = false;
	for (int i = 0; i < 8; i++) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0)
			return 3;
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == 0x10 && run->io.direction == KVM_EXIT_IO_OUT &&
		    *((unsigned char *)run + run->io.data_offset) == 0x42)
			saw_out = true;
		else if (run->exit_reason == KVM_EXIT_HLT)
			return saw_out ? 0 : 4;
		else
			return 4;
	}
	return 4;
}

void kvm_probe_run(struct kvm_probe *ret)
{
	*ret = (struct kvm_probe){ 0 };
	ret->cpu_flag = cpuinfo_has_virt_flag();
	_cleanup_close_ int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		snprintf(ret->detail, sizeof(ret->detail), "/dev/kvm cannot be opened: %s", strerror(errno));
		return;
	}
	if (ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		snprintf(ret->detail, sizeof(ret->detail), "/dev/kvm answers with an unexpected API version");
		return;
	}
	ret->dev_kvm = true;
	pid_t pid = fork();
	if (pid == 0) {
		alarm(5);
		_exit(run_guest_code(kvm));
	}
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) < 0) {
		snprintf(ret->detail, sizeof(ret->detail), "could not fork the KVM test: %s", strerror(errno));
		return;
	}
	ret->runs_guest_code = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (!ret->runs_guest_code)
		snprintf(ret->detail, sizeof(ret->detail), "a test VM %s",
			 WIFSIGNALED(status) ? "hung or crashed running five instructions"
			 : WEXITSTATUS(status) == 2 ? "could not be set up"
			 : WEXITSTATUS(status) == 3 ? "failed KVM_RUN"
						    : "ran its instructions wrongly");
	else if (!ret->cpu_flag)
		snprintf(ret->detail, sizeof(ret->detail),
			 "/dev/kvm runs code but the CPU has no vmx/svm flag: a paravirtualized (PVM) or emulating "
			 "host, where ordinary guests fall into instruction emulation");
	else
		snprintf(ret->detail, sizeof(ret->detail), "hardware virtualization (%s) works", "vmx/svm");
}
