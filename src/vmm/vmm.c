/* Puts the VM together: memory, KVM, boot, platform devices, virtio devices, vCPUs, the loop. */
#include "vmm/vmm.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "vmm/virtio/console.h"
#include "vmm/virtio/vsock.h"

#include "vmm/vm.h"

#define CMDLINE_BUF (BOOT_CMDLINE_MAX + 256)

void vm_log(struct vm *vm, const char *fmt, ...)
{
	if (!vm->cfg.log)
		return;
	va_list ap;
	va_start(ap, fmt);
	vm->cfg.log(vm->cfg.log_opaque, fmt, ap);
	va_end(ap);
}

void vm_request_exit(struct vm *vm, enum vmm_exit reason, const char *fmt, ...)
{
	pthread_mutex_lock(&vm->exit_lock);
	if (!atomic_load(&vm->stopping)) {
		atomic_store(&vm->exit_reason, (int)reason);
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(vm->exit_message, sizeof(vm->exit_message), fmt, ap);
		va_end(ap);
		atomic_store(&vm->stopping, true);
		uint64_t one = 1;
		(void)!write(vm->stop_event, &one, sizeof(one));
	}
	pthread_mutex_unlock(&vm->exit_lock);
}

static void on_stop_event(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	(void)events;
	loop_quit(vm->loop);
}

static void on_stop_fd(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	uint8_t buf[128];
	(void)events;
	(void)!read(vm->cfg.stop_fd, buf, sizeof(buf));
	vm_request_exit(vm, VMM_EXIT_STOPPED, "stopped on request");
}

static void on_console_input(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	(void)events;
	/* at the end of input the console stays, output only */
	if (serial_input(vm->serial) < 0) {
		loop_remove(vm->loop, vm->console_source);
		vm->console_source = NULL;
	}
}

static void set_serial_irq(void *opaque, int level)
{
	struct vm *vm = opaque;
	kvm_irq_line(&vm->kvm, SERIAL_IRQ, level);
}

static void virtio_interrupt(void *opaque)
{
	struct virtio_slot *slot = opaque;
	uint64_t one = 1;
	(void)!write(slot->irq_fd, &one, sizeof(one));
}

static void virtio_log(void *opaque, const char *fmt, va_list ap)
{
	struct vm *vm = opaque;
	if (vm->cfg.log)
		vm->cfg.log(vm->cfg.log_opaque, fmt, ap);
}

static void on_queue_notify(void *opaque, uint32_t events)
{
	struct virtio_notify *n = opaque;
	uint64_t count;
	(void)events;
	if (read(n->fd, &count, sizeof(count)) == sizeof(count))
		virtio_mmio_notify(n->dev, n->queue);
}

static void mmio_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	virtio_mmio_read(opaque, offset, data, len);
}

static void mmio_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	virtio_mmio_write(opaque, offset, data, len);
}

typedef int (*device_new_fn)(struct virtio_mmio_dev *transport, struct loop *loop, const struct vmm_config *cfg,
			     void **ret, struct capsa_error *err);

static int add_virtio(struct vm *vm, const struct virtio_device_ops *ops, device_new_fn device_new,
		      void (*device_free)(void *), char *cmdline, struct capsa_error *err)
{
	if (vm->n_virtio >= VM_MAX_VIRTIO)
		return capsa_error_set(err, -ENOSPC, "too many virtio devices");
	unsigned index = vm->n_virtio;
	struct virtio_slot *slot = &vm->virtio[index];
	uint64_t base = VIRTIO_MMIO_BASE + (uint64_t)index * VIRTIO_MMIO_SIZE;
	unsigned irq = VIRTIO_FIRST_IRQ + index;
	virtio_mmio_init(&slot->mmio, ops, NULL, &vm->mem, base, irq);
	slot->mmio.interrupt = virtio_interrupt;
	slot->mmio.interrupt_opaque = slot;
	slot->mmio.log = virtio_log;
	slot->mmio.log_opaque = vm;
	slot->irq_fd = -1;
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		slot->notify[q].fd = -1;
	vm->n_virtio++;   /* from here vmm_free cleans the slot up */
	int r = device_new(&slot->mmio, vm->loop, &vm->cfg, &slot->device, err);
	if (r < 0)
		return r;
	slot->mmio.dev = slot->device;
	slot->free_device = device_free;
	slot->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (slot->irq_fd < 0)
		return capsa_error_errno(err, -errno, "eventfd");
	if ((r = kvm_irqfd(&vm->kvm, slot->irq_fd, irq, err)) < 0)
		return r;
	for (unsigned q = 0; q < ops->num_queues; q++) {
		struct virtio_notify *n = &slot->notify[q];
		*n = (struct virtio_notify){ .dev = &slot->mmio, .queue = q };
		n->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (n->fd < 0)
			return capsa_error_errno(err, -errno, "eventfd");
		if ((r = kvm_ioeventfd(&vm->kvm, n->fd, base + 0x50 /* QueueNotify */, q, err)) < 0)
			return r;
		if ((r = loop_add(vm->loop, n->fd, EPOLLIN, on_queue_notify, n, NULL, NULL)) < 0)
			return capsa_error_errno(err, r, "watching a queue notification");
	}
	if ((r = bus_register(&vm->mmio, base, VIRTIO_MMIO_SIZE, mmio_read, mmio_write, &slot->mmio)) < 0)
		return capsa_error_errno(err, r, "placing %s at 0x%llx", ops->name, (unsigned long long)base);
	size_t len = strlen(cmdline);
	snprintf(cmdline + len, CMDLINE_BUF - len, " virtio_mmio.device=4K@0x%llx:%u", (unsigned long long)base, irq);
	return 0;
}

static int create(struct vm *vm, struct capsa_error *err)
{
	const struct vmm_config *cfg = &vm->cfg;
	if (cfg->cpus < 1 || cfg->cpus > VMM_MAX_CPUS)
		return capsa_error_set(err, -EINVAL, "%u vCPUs: capsa-vmm runs 1 to %d", cfg->cpus, VMM_MAX_CPUS);
	if (!cfg->kernel)
		return capsa_error_set(err, -EINVAL, "no kernel given");
	int r = kvm_open(&vm->kvm, cfg->kvm_device ? cfg->kvm_device : "/dev/kvm", err);
	if (r < 0)
		return r;
	if ((r = guest_mem_create(&vm->mem, cfg->memory_mib, err)) < 0)
		return r;
	if ((r = kvm_create_vm(&vm->kvm, &vm->mem, err)) < 0)
		return r;
	if ((r = loop_new(&vm->loop, err)) < 0)
		return r;
	vm->stop_event = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_event < 0)
		return capsa_error_errno(err, -errno, "eventfd");
	if ((r = loop_add(vm->loop, vm->stop_event, EPOLLIN, on_stop_event, vm, NULL, NULL)) < 0)
		return capsa_error_errno(err, r, "watching the stop event");
	if (cfg->stop_fd >= 0 && (r = loop_add(vm->loop, cfg->stop_fd, EPOLLIN, on_stop_fd, vm, NULL, NULL)) < 0)
		return capsa_error_errno(err, r, "watching the stop fd");

	if ((r = serial_new(cfg->console_out, cfg->console_in, set_serial_irq, vm, &vm->serial, err)) < 0)
		return r;
	if ((r = bus_register(&vm->pio, SERIAL_PORT_BASE, SERIAL_PORT_LEN, serial_read, serial_write, vm->serial)) < 0 ||
	    (r = reset_ports_register(vm)) < 0)
		return capsa_error_errno(err, r, "registering platform devices");
	if (cfg->console_in >= 0 &&
	    (r = loop_add(vm->loop, cfg->console_in, EPOLLIN, on_console_input, vm, NULL, &vm->console_source)) < 0)
		return capsa_error_errno(err, r, "watching console input");

	_cleanup_free_ char *cmdline = calloc(1, CMDLINE_BUF);
	if (!cmdline)
		return capsa_error_set(err, -ENOMEM, "out of memory");
	snprintf(cmdline, CMDLINE_BUF, "%s", cfg->cmdline ? cfg->cmdline : "");
	if (cfg->agent_socket &&
	    (r = add_virtio(vm, &virtio_console_ops, virtio_console_new, virtio_console_free, cmdline, err)) < 0)
		return r;
	if (cfg->vsock_socket &&
	    (r = add_virtio(vm, &virtio_vsock_ops, virtio_vsock_new, virtio_vsock_free, cmdline, err)) < 0)
		return r;

	if ((r = boot_load(&vm->mem, cfg->kernel, cfg->initrd, cmdline, cfg->cpus, &vm->boot, err)) < 0)
		return r;
	for (unsigned i = 0; i < cfg->cpus; i++)
		if ((r = vcpu_create(vm, i, err)) < 0)
			return r;
	return vcpu_setup_boot(&vm->vcpus[0], &vm->boot, err);
}

int vmm_create(const struct vmm_config *cfg, struct vmm **ret, struct capsa_error *err)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	if (!vm)
		return capsa_error_set(err, -ENOMEM, "out of memory");
	vm->cfg = *cfg;
	vm->kvm = (struct kvm){ .kvm_fd = -1, .vm_fd = -1 };
	vm->mem.memfd = -1;
	vm->stop_event = -1;
	for (unsigned i = 0; i < VMM_MAX_CPUS; i++)
		vm->vcpus[i].fd = -1;
	pthread_mutex_init(&vm->exit_lock, NULL);
	int r = create(vm, err);
	if (r < 0) {
		vmm_free((struct vmm *)vm);
		return r;
	}
	*ret = (struct vmm *)vm;
	return 0;
}

static void ignore_signal(int sig)
{
	(void)sig;
}

int vmm_run(struct vmm *v, enum vmm_exit *ret_exit, struct capsa_error *err)
{
	struct vm *vm = (struct vm *)v;
	/* SIGUSR1 only interrupts KVM_RUN: blocked everywhere but in vCPU threads */
	struct sigaction sa = { .sa_handler = ignore_signal };
	sigaction(SIGUSR1, &sa, NULL);
	sigset_t kick, old;
	sigemptyset(&kick);
	sigaddset(&kick, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &kick, &old);
	int r = 0;
	for (unsigned i = 0; i < vm->cfg.cpus && r == 0; i++)
		r = vcpu_start(&vm->vcpus[i], err);
	if (r == 0 && (r = loop_run(vm->loop)) < 0)
		capsa_error_errno(err, r, "event loop");
	if (r < 0)
		vm_request_exit(vm, VMM_EXIT_ERROR, "%s", err ? err->msg : "start-up failed");
	for (unsigned i = 0; i < vm->cfg.cpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	for (unsigned i = 0; i < vm->cfg.cpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0)
		return r;
	*ret_exit = (enum vmm_exit)atomic_load(&vm->exit_reason);
	if (*ret_exit == VMM_EXIT_ERROR)
		return capsa_error_set(err, -EIO, "%s", vm->exit_message);
	vm_log(vm, "%s", vm->exit_message);
	return 0;
}

void vmm_free(struct vmm *v)
{
	struct vm *vm = (struct vm *)v;
	if (!vm)
		return;
	for (unsigned i = 0; i < VMM_MAX_CPUS; i++)
		if (vm->vcpus[i].fd >= 0 || vm->vcpus[i].started)
			vcpu_destroy(&vm->vcpus[i]);
	for (unsigned i = 0; i < vm->n_virtio; i++) {
		struct virtio_slot *slot = &vm->virtio[i];
		if (slot->device && slot->free_device)
			slot->free_device(slot->device);
		for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
			if (slot->notify[q].fd >= 0)
				close(slot->notify[q].fd);
		if (slot->irq_fd >= 0)
			close(slot->irq_fd);
		virtio_mmio_destroy(&slot->mmio);
	}
	serial_free(vm->serial);
	loop_free(vm->loop);
	if (vm->stop_event >= 0)
		close(vm->stop_event);
	kvm_close(&vm->kvm);
	guest_mem_destroy(&vm->mem);
	pthread_mutex_destroy(&vm->exit_lock);
	free(vm);
}
