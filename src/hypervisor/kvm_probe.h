/* Whether this host can run ordinary guests under KVM, decided by trying. */
#pragma once

#include <stdbool.h>

struct kvm_probe {
	bool dev_kvm;          /* /dev/kvm opens and answers KVM_GET_API_VERSION */
	bool cpu_flag;         /* vmx or svm in /proc/cpuinfo */
	bool runs_guest_code;  /* a VM ran a few real-mode instructions correctly */
	char detail[256];      /* why not, in a sentence */
};

void kvm_probe_run(struct kvm_probe *ret);
/* Hardware virtualization that an ordinary guest can use. */
static inline bool kvm_probe_usable(const struct kvm_probe *p)
{
	return p->dev_kvm && p->cpu_flag && p->runs_guest_code;
}
