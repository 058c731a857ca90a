/*
 * Ways a guest restarts the machine, which for capsa means "power off": the
 * i8042 keyboard controller's reset line (Linux reboot=k) and the reset
 * control register at 0xcf9 (reboot=p). A triple fault (reboot=t) arrives as
 * KVM_EXIT_SHUTDOWN in vcpu.c. The i8042 answers the few commands Linux's
 * probe sends (controller test, command byte), so the probe finishes at once
 * instead of timing out; there is no keyboard behind it.
 */
#include <stdint.h>
#include <string.h>

#include "vmm/vm.h"

#define I8042_DATA 0x60
#define I8042_COMMAND 0x64
#define I8042_CMD_READ_CTR 0x20
#define I8042_CMD_WRITE_CTR 0x60
#define I8042_CMD_SELF_TEST 0xaa
#define I8042_CMD_KBD_TEST 0xab
#define I8042_CMD_RESET 0xfe
#define I8042_STATUS_OBF 0x01
#define I8042_STATUS_SYS 0x04
#define I8042_CTR_AUX_DISABLED 0x20
#define RESET_CONTROL 0xcf9
#define RESET_CONTROL_RESET 0x04

static void i8042_read(void *opaque, uint64_t port, void *data, unsigned len)
{
	struct i8042 *k = &((struct vm *)opaque)->kbc;
	uint8_t v;
	memset(data, 0, len);
	pthread_mutex_lock(&k->lock);
	if (port == I8042_COMMAND) {
		v = I8042_STATUS_SYS | (k->out_full ? I8042_STATUS_OBF : 0);
	} else {
		v = k->out;
		k->out_full = false;
	}
	pthread_mutex_unlock(&k->lock);
	memcpy(data, &v, 1);
}

static void i8042_reply(struct i8042 *k, uint8_t v)
{
	k->out = v;
	k->out_full = true;
}

static void i8042_write(void *opaque, uint64_t port, const void *data, unsigned len)
{
	struct vm *vm = opaque;
	struct i8042 *k = &vm->kbc;
	uint8_t v = *(const uint8_t *)data;
	(void)len;
	if (port == I8042_COMMAND && v == I8042_CMD_RESET) {
		vm_request_exit(vm, VMM_EXIT_RESET, "the guest reset the machine through the i8042");
		return;
	}
	pthread_mutex_lock(&k->lock);
	if (port == I8042_DATA) {
		if (k->pending_cmd == I8042_CMD_WRITE_CTR)
			k->ctr = v | I8042_CTR_AUX_DISABLED;   /* no mouse port: it stays disabled */
		k->pending_cmd = 0;
	} else {
		k->pending_cmd = 0;
		switch (v) {
		case I8042_CMD_READ_CTR: i8042_reply(k, k->ctr); break;
		case I8042_CMD_WRITE_CTR: k->pending_cmd = v; break;
		case I8042_CMD_SELF_TEST: i8042_reply(k, 0x55); break;
		case I8042_CMD_KBD_TEST: i8042_reply(k, 0x00); break;
		default: break;   /* no reply: Linux treats the feature as absent */
		}
	}
	pthread_mutex_unlock(&k->lock);
}

static void reset_control_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	(void)opaque;
	(void)offset;
	memset(data, 0, len);
}

static void reset_control_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	struct vm *vm = opaque;
	(void)offset;
	if (len == 1 && (*(const uint8_t *)data & RESET_CONTROL_RESET))
		vm_request_exit(vm, VMM_EXIT_RESET, "the guest reset the machine through port 0xcf9");
}

static void i8042_read_port(void *opaque, uint64_t offset, void *data, unsigned len, uint64_t base)
{
	i8042_read(opaque, base + offset, data, len);
}

static void i8042_data_read(void *o, uint64_t off, void *d, unsigned len) { i8042_read_port(o, off, d, len, I8042_DATA); }
static void i8042_cmd_read(void *o, uint64_t off, void *d, unsigned len) { i8042_read_port(o, off, d, len, I8042_COMMAND); }
static void i8042_data_write(void *o, uint64_t off, const void *d, unsigned len) { i8042_write(o, I8042_DATA + off, d, len); }
static void i8042_cmd_write(void *o, uint64_t off, const void *d, unsigned len) { i8042_write(o, I8042_COMMAND + off, d, len); }

int reset_ports_register(struct vm *vm)
{
	pthread_mutex_init(&vm->kbc.lock, NULL);
	vm->kbc.ctr = I8042_CTR_AUX_DISABLED;
	int r = bus_register(&vm->pio, I8042_DATA, 1, i8042_data_read, i8042_data_write, vm);
	if (r == 0)
		r = bus_register(&vm->pio, I8042_COMMAND, 1, i8042_cmd_read, i8042_cmd_write, vm);
	if (r == 0)
		r = bus_register(&vm->pio, RESET_CONTROL, 1, reset_control_read, reset_control_write, vm);
	return r;
}
