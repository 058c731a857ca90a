/*
 * The multiport virtio-console as the Linux driver and capsa-agent use it,
 * driven through the MMIO transport with queues in a plain buffer (no KVM):
 * DEVICE_READY -> PORT_ADD, PORT_READY -> PORT_NAME "agent.channel.0",
 * a host connecting -> PORT_OPEN, data both ways; then hostile control
 * messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/virtio_config.h>
#include <linux/virtio_console.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/unix_socket.h"
#include "vmm/loop.h"
#include "vmm/virtio/console.h"

#define MEM_SIZE (256 * 1024)
#define QSIZE 16
#define RING(q) (0x1000 * ((q) + 1))
#define DATA(q, i) (0x10000 + 0x4000 * (q) + 0x100 * (i))

struct fixture {
	char dir[64], sock[128];
	uint8_t *buf;
	struct guest_memory mem;
	struct loop *loop;
	struct virtio_mmio_dev t;
	void *dev;
	uint16_t next_desc[4], used_seen[4];
};

static void wr(struct fixture *f, uint64_t off, uint32_t v)
{
	virtio_mmio_write(&f->t, off, &v, 4);
}

static uint32_t rd(struct fixture *f, uint64_t off)
{
	uint32_t v;
	virtio_mmio_read(&f->t, off, &v, 4);
	return v;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/capsa-console-test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->sock, sizeof(f->sock), "%s/agent.sock", f->dir);
	f->buf = calloc(1, MEM_SIZE);
	guest_mem_from_buffer(&f->mem, f->buf, MEM_SIZE);
	assert_int_equal(loop_new(&f->loop, NULL), 0);
	struct vmm_config cfg = { .agent_socket = f->sock };
	virtio_mmio_init(&f->t, &virtio_console_ops, NULL, &f->mem, 0xd0000000, 5);
	assert_int_equal(virtio_console_new(&f->t, f->loop, &cfg, &f->dev, NULL), 0);
	f->t.dev = f->dev;
	/* the driver's bring-up */
	uint64_t features = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_CONSOLE_F_MULTIPORT);
	wr(f, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	wr(f, VIRTIO_MMIO_STATUS, rd(f, VIRTIO_MMIO_STATUS) | VIRTIO_CONFIG_S_FEATURES_OK);
	for (unsigned q = 0; q < 4; q++) {
		wr(f, VIRTIO_MMIO_QUEUE_SEL, q);
		wr(f, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
		wr(f, VIRTIO_MMIO_QUEUE_DESC_LOW, RING(q));
		wr(f, VIRTIO_MMIO_QUEUE_AVAIL_LOW, RING(q) + 0x400);
		wr(f, VIRTIO_MMIO_QUEUE_USED_LOW, RING(q) + 0x800);
		wr(f, VIRTIO_MMIO_QUEUE_READY, 1);
	}
	wr(f, VIRTIO_MMIO_STATUS, rd(f, VIRTIO_MMIO_STATUS) | VIRTIO_CONFIG_S_DRIVER_OK);
	assert_true(virtio_mmio_running(&f->t));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	virtio_console_free(f->dev);
	virtio_mmio_destroy(&f->t);
	loop_free(f->loop);
	assert_int_equal(access(f->sock, F_OK), -1);   /* the device removed its socket */
	assert_int_equal(rmdir(f->dir), 0);
	free(f->buf);
	free(f);
	return 0;
}

/* Makes one buffer available on queue q and tells the device. */
static void give(struct fixture *f, unsigned q, const void *data, uint32_t len, bool writable)
{
	uint16_t i = f->next_desc[q]++;
	struct vring_desc d = { .addr = DATA(q, i), .len = len, .flags = writable ? VRING_DESC_F_WRITE : 0 };
	memcpy(f->buf + RING(q) + 16 * i, &d, sizeof(d));
	if (data)
		memcpy(f->buf + DATA(q, i), data, len);
	uint16_t idx;
	memcpy(&idx, f->buf + RING(q) + 0x400 + 2, 2);
	memcpy(f->buf + RING(q) + 0x400 + 4 + 2 * (idx % QSIZE), &i, 2);
	idx++;
	memcpy(f->buf + RING(q) + 0x400 + 2, &idx, 2);
	virtio_mmio_notify(&f->t, q);
}

/* The next buffer the device returned on q: its contents and length, or NULL. */
static const uint8_t *take(struct fixture *f, unsigned q, uint32_t *ret_len)
{
	uint16_t used_idx;
	memcpy(&used_idx, f->buf + RING(q) + 0x800 + 2, 2);
	if (used_idx == f->used_seen[q])
		return NULL;
	struct vring_used_elem e;
	memcpy(&e, f->buf + RING(q) + 0x800 + 4 + 8 * (f->used_seen[q]++ % QSIZE), sizeof(e));
	*ret_len = e.len;
	return f->buf + DATA(q, e.id);
}

static void send_ctrl(struct fixture *f, uint16_t event, uint16_t value)
{
	struct virtio_console_control m = { .id = 0, .event = event, .value = value };
	give(f, 3, &m, sizeof(m), false);
}

static struct virtio_console_control expect_ctrl(struct fixture *f, uint16_t event)
{
	uint32_t len = 0;
	const uint8_t *p = take(f, 2, &len);
	assert_non_null(p);
	assert_true(len >= sizeof(struct virtio_console_control));
	struct virtio_console_control m;
	memcpy(&m, p, sizeof(m));
	assert_int_equal(m.event, event);
	assert_int_equal(m.id, 0);
	return m;
}

static void test_agent_port(void **state)
{
	struct fixture *f = *state;
	for (int i = 0; i < 6; i++)
		give(f, 2, NULL, 64, true);   /* control receive buffers */
	send_ctrl(f, VIRTIO_CONSOLE_DEVICE_READY, 1);
	expect_ctrl(f, VIRTIO_CONSOLE_PORT_ADD);
	give(f, 0, NULL, 128, true);      /* the port's receive buffer, before it is ready */
	send_ctrl(f, VIRTIO_CONSOLE_PORT_READY, 1);
	uint32_t len = 0;
	const uint8_t *p = take(f, 2, &len);
	assert_non_null(p);
	assert_int_equal(len, sizeof(struct virtio_console_control) + strlen("agent.channel.0"));
	assert_memory_equal(p + sizeof(struct virtio_console_control), "agent.channel.0", strlen("agent.channel.0"));
	assert_null(take(f, 2, &len));    /* no host yet: the port is not open */

	int host = unix_connect(f->sock, NULL);
	assert_true(host >= 0);
	assert_true(loop_run_once(f->loop, 1000) > 0);   /* accept */
	struct virtio_console_control m = expect_ctrl(f, VIRTIO_CONSOLE_PORT_OPEN);
	assert_int_equal(m.value, 1);

	/* host bytes wait until the guest opens the port (Linux drops data for a closed port) */
	assert_int_equal(write(host, "ping", 4), 4);
	loop_run_once(f->loop, 100);
	assert_null(take(f, 0, &len));
	send_ctrl(f, VIRTIO_CONSOLE_PORT_OPEN, 1);
	p = take(f, 0, &len);
	assert_non_null(p);
	assert_int_equal(len, 4);
	assert_memory_equal(p, "ping", 4);

	give(f, 1, "pong", 4, false);
	char got[8] = { 0 };
	assert_int_equal(read(host, got, sizeof(got)), 4);
	assert_string_equal(got, "pong");
	assert_non_null(take(f, 1, &len));

	/* the host leaves: the guest hears PORT_OPEN 0 */
	close(host);
	loop_run_once(f->loop, 1000);
	m = expect_ctrl(f, VIRTIO_CONSOLE_PORT_OPEN);
	assert_int_equal(m.value, 0);
	assert_false(f->t.failed);
}

static void test_short_control_message_faults(void **state)
{
	struct fixture *f = *state;
	give(f, 3, "\0\0\0\0", 4, false);   /* half a control message */
	assert_true(f->t.failed);
	assert_int_not_equal(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
	give(f, 3, NULL, 8, false);         /* ignored from now on */
	uint32_t len;
	assert_null(take(f, 3, &len));
	wr(f, VIRTIO_MMIO_STATUS, 0);       /* until the driver resets it */
	assert_false(f->t.failed);
}

static void test_tiny_control_buffer_faults(void **state)
{
	struct fixture *f = *state;
	give(f, 2, NULL, 4, true);          /* cannot hold the 8-byte PORT_ADD */
	send_ctrl(f, VIRTIO_CONSOLE_DEVICE_READY, 1);
	assert_true(f->t.failed);
}

static void test_control_for_other_ports_ignored(void **state)
{
	struct fixture *f = *state;
	give(f, 2, NULL, 64, true);
	struct virtio_console_control m = { .id = 7, .event = VIRTIO_CONSOLE_PORT_READY, .value = 1 };
	give(f, 3, &m, sizeof(m), false);
	uint32_t len;
	assert_null(take(f, 2, &len));      /* no PORT_NAME for a port that does not exist */
	assert_false(f->t.failed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_agent_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_control_message_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tiny_control_buffer_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_control_for_other_ports_ignored, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
