/* The KVM VM: /dev/kvm checks, the VM fd, its memory slots, irqchip and PIT. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "vmm/memory.h"

struct kvm_cpuid2;

struct kvm {
	int kvm_fd;
	int vm_fd;
	int vcpu_mmap_size;
	struct kvm_cpuid2 *supported_cpuid;
};

/*
 * Opens /dev/kvm and makes sure it can run an ordinary guest: a missing
 * device, a wrong API version, no vmx/svm (a PVM host like the machines this
 * project is built on) or a missing capability each gets its own message.
 */
int kvm_open(struct kvm *k, const char *dev_path, struct capsa_error *err);
/* Creates the VM with an in-kernel irqchip and PIT, and maps guest memory. */
int kvm_create_vm(struct kvm *k, const struct guest_memory *m, struct capsa_error *err);
void kvm_close(struct kvm *k);

int kvm_irq_line(struct kvm *k, unsigned irq, int level);
/* Signals on eventfd fd interrupt gsi. */
int kvm_irqfd(struct kvm *k, int fd, unsigned gsi, struct capsa_error *err);
/* Writes of 4 bytes equal to datamatch at addr signal fd instead of exiting. */
int kvm_ioeventfd(struct kvm *k, int fd, uint64_t addr, uint32_t datamatch, struct capsa_error *err);
