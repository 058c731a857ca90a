/*
 * vCPUs: one thread each running KVM_RUN. Exits are dispatched to the port
 * I/O and MMIO buses; everything that reaches a device from here is guest
 * input and the devices check it. SIGUSR1 with immediate_exit gets a thread
 * out of KVM_RUN when the VM stops.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "vmm/vm.h"

#define X86_CR0_PE 0x1ULL
#define X86_CR0_ET 0x10ULL
#define X86_CR0_PG 0x80000000ULL
#define X86_CR4_PAE 0x20ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL
#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7
#define CPUID_HYPERVISOR (1u << 31)
#define CPUID_1_ECX_VMX (1u << 5)
#define CPUID_80000001_ECX_SVM (1u << 2)

int vcpu_create(struct vm *vm, unsigned id, struct capsa_error *err)
{
	struct vcpu *c = &vm->vcpus[id];
	*c = (struct vcpu){ .vm = vm, .id = id, .fd = -1 };
	c->fd = ioctl(vm->kvm.vm_fd, KVM_CREATE_VCPU, id);
	if (c->fd < 0)
		return capsa_error_errno(err, -errno, "KVM_CREATE_VCPU %u", id);
	void *run = mmap(NULL, (size_t)vm->kvm.vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
	if (run == MAP_FAILED)
		return capsa_error_errno(err, -errno, "mapping vCPU %u's kvm_run", id);
	c->run = run;

	/* what KVM supports, with this vCPU's APIC id and the hypervisor bit, and no nested
	 * virtualization: guests are not hypervisors, and their KVM would only slow their boot */
	struct kvm_cpuid2 *sup = vm->kvm.supported_cpuid;
	size_t size = sizeof(*sup) + sup->nent * sizeof(sup->entries[0]);
	_cleanup_free_ struct kvm_cpuid2 *cpuid = malloc(size);
	if (!cpuid)
		return capsa_error_set(err, -ENOMEM, "out of memory");
	memcpy(cpuid, sup, size);
	for (unsigned i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];
		if (e->function == 1) {
			e->ebx = (e->ebx & 0x00ffffff) | (id << 24);
			e->ecx = (e->ecx | CPUID_HYPERVISOR) & ~CPUID_1_ECX_VMX;
		} else if (e->function == 0x80000001) {
			e->ecx &= ~CPUID_80000001_ECX_SVM;
		} else if (e->function == 0xb) {
			e->edx = id;
		}
	}
	if (ioctl(c->fd, KVM_SET_CPUID2, cpuid) < 0)
		return capsa_error_errno(err, -errno, "KVM_SET_CPUID2 on vCPU %u", id);

	/* LINT0 delivers the PIC's ExtINT, LINT1 NMI, as the MP table says */
	struct kvm_lapic_state lapic;
	if (ioctl(c->fd, KVM_GET_LAPIC, &lapic) < 0)
		return capsa_error_errno(err, -errno, "KVM_GET_LAPIC on vCPU %u", id);
	uint32_t lvt;
	memcpy(&lvt, lapic.regs + APIC_LVT0, 4);
	lvt = (lvt & ~0x700u) | (APIC_MODE_EXTINT << 8);
	memcpy(lapic.regs + APIC_LVT0, &lvt, 4);
	memcpy(&lvt, lapic.regs + APIC_LVT1, 4);
	lvt = (lvt & ~0x700u) | (APIC_MODE_NMI << 8);
	memcpy(lapic.regs + APIC_LVT1, &lvt, 4);
	if (ioctl(c->fd, KVM_SET_LAPIC, &lapic) < 0)
		return capsa_error_errno(err, -errno, "KVM_SET_LAPIC on vCPU %u", id);

	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	if (ioctl(c->fd, KVM_SET_FPU, &fpu) < 0)
		return capsa_error_errno(err, -errno, "KVM_SET_FPU on vCPU %u", id);
	return 0;
}

static void flat_segment(struct kvm_segment *s, uint16_t selector, uint8_t type, bool code64)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = selector, .type = type, .present = 1, .s = 1,
		.db = code64 ? 0 : 1, .l = code64 ? 1 : 0, .g = 1,
	};
}

int vcpu_setup_boot(struct vcpu *c, const struct boot_info *boot, struct capsa_error *err)
{
	struct kvm_sregs sregs;
	if (ioctl(c->fd, KVM_GET_SREGS, &sregs) < 0)
		return capsa_error_errno(err, -errno, "KVM_GET_SREGS");
	bool lm = boot->entry == BOOT_ENTRY_LINUX64;
	flat_segment(&sregs.cs, 0x10, 0xb, lm);
	flat_segment(&sregs.ds, 0x18, 0x3, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.tr = (struct kvm_segment){ .limit = 0x67, .type = 0xb, .present = 1 };   /* a busy 32-bit TSS, as VMX requires */
	sregs.ldt = (struct kvm_segment){ .type = 0x2, .present = 1, .unusable = 1 };
	if (lm) {
		sregs.gdt.base = BOOT_GDT_ADDR;
		sregs.gdt.limit = 4 * 8 - 1;
		sregs.cr3 = BOOT_PML4_ADDR;
		sregs.cr4 = X86_CR4_PAE;
		sregs.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_PG;
		sregs.efer = EFER_LME | EFER_LMA;
	} else {
		sregs.cr0 = X86_CR0_PE | X86_CR0_ET;
		sregs.cr4 = 0;
		sregs.efer = 0;
	}
	if (ioctl(c->fd, KVM_SET_SREGS, &sregs) < 0)
		return capsa_error_errno(err, -errno, "KVM_SET_SREGS");
	struct kvm_regs regs = { .rflags = 0x2, .rip = boot->entry_addr, .rsp = BOOT_STACK_TOP };
	if (lm)
		regs.rsi = BOOT_ZERO_PAGE_ADDR;
	else
		regs.rbx = BOOT_PVH_INFO_ADDR;
	if (ioctl(c->fd, KVM_SET_REGS, &regs) < 0)
		return capsa_error_errno(err, -errno, "KVM_SET_REGS");
	return 0;
}

static void handle_io(struct vcpu *c)
{
	struct kvm_run *run = c->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size)
		bus_access(&c->vm->pio, run->io.port, data, run->io.size, run->io.direction == KVM_EXIT_IO_OUT);
}

static void *vcpu_thread(void *opaque)
{
	struct vcpu *c = opaque;
	struct vm *vm = c->vm;
	sigset_t kick;
	sigemptyset(&kick);
	sigaddset(&kick, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	while (!atomic_load(&vm->stopping)) {
		if (ioctl(c->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				c->eintr++;
				continue;
			}
			vm_request_exit(vm, VMM_EXIT_ERROR, "KVM_RUN on vCPU %u: %s", c->id, strerror(errno));
			break;
		}
		struct kvm_run *run = c->run;
		c->exits++;
		c->last_exit = run->exit_reason;
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			handle_io(c);
			break;
		case KVM_EXIT_MMIO:
			bus_access(&vm->mmio, run->mmio.phys_addr, run->mmio.data,
				   run->mmio.len <= 8 ? run->mmio.len : 8, run->mmio.is_write);
			break;
		case KVM_EXIT_SHUTDOWN:
			/* a triple fault: how Linux with reboot=t restarts, and capsa's guests power off */
			vm_request_exit(vm, VMM_EXIT_RESET, "vCPU %u: triple fault (CPU reset)", c->id);
			break;
		case KVM_EXIT_SYSTEM_EVENT:
			if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN)
				vm_request_exit(vm, VMM_EXIT_SHUTDOWN, "the guest powered off");
			else if (run->system_event.type == KVM_SYSTEM_EVENT_RESET)
				vm_request_exit(vm, VMM_EXIT_RESET, "the guest reset the machine");
			else
				vm_request_exit(vm, VMM_EXIT_ERROR, "vCPU %u: system event %u (guest crash)", c->id,
						run->system_event.type);
			break;
		case KVM_EXIT_HLT:
			vm_request_exit(vm, VMM_EXIT_SHUTDOWN, "vCPU %u halted with interrupts off", c->id);
			break;
		case KVM_EXIT_INTR:
			break;
		case KVM_EXIT_FAIL_ENTRY:
			vm_request_exit(vm, VMM_EXIT_ERROR, "vCPU %u: VM entry failed (reason 0x%llx)", c->id,
					(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			vm_request_exit(vm, VMM_EXIT_ERROR, "vCPU %u: KVM internal error %u", c->id, run->internal.suberror);
			break;
		default:
			vm_request_exit(vm, VMM_EXIT_ERROR, "vCPU %u: unexpected exit %u", c->id, run->exit_reason);
			break;
		}
	}
	return NULL;
}

int vcpu_start(struct vcpu *c, struct capsa_error *err)
{
	int r = pthread_create(&c->thread, NULL, vcpu_thread, c);
	if (r)
		return capsa_error_errno(err, -r, "starting vCPU %u's thread", c->id);
	c->started = true;
	return 0;
}

void vcpu_kick(struct vcpu *c)
{
	if (!c->started)
		return;
	__atomic_store_n(&c->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_kill(c->thread, SIGUSR1);
}

void vcpu_destroy(struct vcpu *c)
{
	if (c->started) {
		pthread_join(c->thread, NULL);
		c->started = false;
		/* where a guest stopped from outside was: the first clue when one hangs */
		struct kvm_regs regs;
		if (atomic_load(&c->vm->exit_reason) == VMM_EXIT_STOPPED && ioctl(c->fd, KVM_GET_REGS, &regs) == 0)
			vm_log(c->vm, "vCPU %u stopped at rip 0x%llx after %llu exits (the last %u), %llu interrupted runs", c->id,
			       (unsigned long long)regs.rip, c->exits, c->last_exit, c->eintr);
	}
	if (c->run)
		munmap(c->run, (size_t)c->vm->kvm.vcpu_mmap_size);
	if (c->fd >= 0)
		close(c->fd);
	c->run = NULL;
	c->fd = -1;
}
