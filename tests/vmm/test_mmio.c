/* The virtio-mmio transport against hostile register accesses, with a small device behind it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/virtio/mmio.h"

#define MEM_SIZE (64 * 1024)

struct test_device {
	uint8_t config[8];
	int activated, notified, resets;
	unsigned last_queue;
};

static const void *dev_config(void *dev) { return ((struct test_device *)dev)->config; }
static void dev_activate(void *dev) { ((struct test_device *)dev)->activated++; }
static void dev_reset(void *dev) { ((struct test_device *)dev)->resets++; }
static void dev_notify(void *dev, unsigned q)
{
	struct test_device *d = dev;
	d->notified++;
	d->last_queue = q;
}

static const struct virtio_device_ops test_ops = {
	.name = "test", .device_id = 42, .num_queues = 2, .queue_size_max = 64, .features = 1ULL << 3,
	.config_size = 8, .config = dev_config, .activate = dev_activate, .queue_notify = dev_notify,
	.reset = dev_reset,
};

struct fixture {
	uint8_t *buf;
	struct guest_memory mem;
	struct test_device dev;
	struct virtio_mmio_dev t;
	int interrupts, log_lines;
};

static void count_interrupt(void *opaque) { ((struct fixture *)opaque)->interrupts++; }
static void count_log(void *opaque, const char *fmt, va_list ap)
{
	(void)fmt;
	(void)ap;
	((struct fixture *)opaque)->log_lines++;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->buf = calloc(1, MEM_SIZE);
	guest_mem_from_buffer(&f->mem, f->buf, MEM_SIZE);
	memcpy(f->dev.config, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	virtio_mmio_init(&f->t, &test_ops, &f->dev, &f->mem, 0xd0000000, 5);
	f->t.interrupt = count_interrupt;
	f->t.interrupt_opaque = f;
	f->t.log = count_log;
	f->t.log_opaque = f;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	virtio_mmio_destroy(&f->t);
	free(f->buf);
	free(f);
	return 0;
}

static uint32_t rd(struct fixture *f, uint64_t off)
{
	uint32_t v = 0xdeadbeef;
	virtio_mmio_read(&f->t, off, &v, 4);
	return v;
}

static void wr(struct fixture *f, uint64_t off, uint32_t v)
{
	virtio_mmio_write(&f->t, off, &v, 4);
}

static void setup_queue(struct fixture *f, unsigned q, uint32_t num, uint64_t desc, uint64_t avail, uint64_t used)
{
	wr(f, VIRTIO_MMIO_QUEUE_SEL, q);
	wr(f, VIRTIO_MMIO_QUEUE_NUM, num);
	wr(f, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(f, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	wr(f, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)avail);
	wr(f, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(avail >> 32));
	wr(f, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)used);
	wr(f, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(used >> 32));
	wr(f, VIRTIO_MMIO_QUEUE_READY, 1);
}

static void negotiate(struct fixture *f, uint64_t features)
{
	wr(f, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	wr(f, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
}

static void test_identity(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(rd(f, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(rd(f, VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_ID), 42);
	wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_FEATURES), 1);   /* VERSION_1 is bit 32 */
	wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_FEATURES), 1 << 3);
	wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 7);
	assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_FEATURES), 0);
}

static void test_config_bounds(void **state)
{
	struct fixture *f = *state;
	uint8_t b[8];
	virtio_mmio_read(&f->t, 0x100 + 4, b, 4);
	assert_memory_equal(b, "\x05\x06\x07\x08", 4);
	memset(b, 0xaa, sizeof(b));
	virtio_mmio_read(&f->t, 0x100 + 6, b, 4);   /* runs past the 8 bytes */
	assert_memory_equal(b, "\0\0\0\0", 4);
	memset(b, 0xaa, sizeof(b));
	virtio_mmio_read(&f->t, 0x100 + 0xe00, b, 8);
	assert_memory_equal(b, "\0\0\0\0\0\0\0\0", 8);
	virtio_mmio_read(&f->t, 0x100, b, 3);        /* an odd size */
	assert_memory_equal(b, "\0\0\0", 3);
	virtio_mmio_write(&f->t, 0x100, "\xff\xff\xff\xff", 4);   /* read-only config */
	assert_memory_equal(f->dev.config, "\x01\x02\x03\x04", 4);
	assert_true(f->log_lines >= 4);
}

static void test_bad_registers(void **state)
{
	struct fixture *f = *state;
	uint8_t b[2] = { 0xaa, 0xaa };
	virtio_mmio_read(&f->t, VIRTIO_MMIO_MAGIC_VALUE, b, 2);   /* registers are 32-bit */
	assert_int_equal(b[0], 0);
	assert_int_equal(rd(f, 0x2), 0);                          /* misaligned */
	wr(f, VIRTIO_MMIO_QUEUE_SEL, 1000);                       /* no such queue */
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	wr(f, VIRTIO_MMIO_QUEUE_NUM, 16);
	wr(f, VIRTIO_MMIO_QUEUE_READY, 1);
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 1000);
	wr(f, 0xfc, 1);                                           /* unknown register */
	assert_int_equal(f->dev.notified, 0);
	assert_false(f->t.failed);
}

static void test_feature_negotiation(void **state)
{
	struct fixture *f = *state;
	negotiate(f, 1ULL << 3);   /* without VERSION_1 */
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK, 0);
	wr(f, VIRTIO_MMIO_STATUS, 0);
	negotiate(f, (1ULL << VIRTIO_F_VERSION_1) | (1ULL << 9));   /* a feature not offered */
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK, 0);
	wr(f, VIRTIO_MMIO_STATUS, 0);
	negotiate(f, (1ULL << VIRTIO_F_VERSION_1) | (1ULL << 3));
	assert_int_not_equal(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK, 0);
}

static void test_bring_up_and_notify(void **state)
{
	struct fixture *f = *state;
	negotiate(f, 1ULL << VIRTIO_F_VERSION_1);
	setup_queue(f, 0, 16, 0x1000, 0x2000, 0x3000);
	setup_queue(f, 1, 64, 0x4000, 0x5000, 0x6000);
	assert_false(f->t.failed);
	wr(f, VIRTIO_MMIO_STATUS, rd(f, VIRTIO_MMIO_STATUS) | VIRTIO_CONFIG_S_DRIVER_OK);
	assert_int_equal(f->dev.activated, 1);
	assert_true(virtio_mmio_running(&f->t));
	virtio_mmio_notify(&f->t, 1);
	assert_int_equal(f->dev.notified, 1);
	assert_int_equal(f->dev.last_queue, 1);
	virtio_mmio_notify(&f->t, 5);   /* no such queue */
	assert_int_equal(f->dev.notified, 1);
	/* a ready queue cannot be moved under the device */
	wr(f, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(f, VIRTIO_MMIO_QUEUE_DESC_LOW, 0xffff0000);
	assert_int_equal(f->t.queues[0].desc_gpa, 0x1000);
	wr(f, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(f->dev.resets, 1);
	assert_false(f->t.queues[0].ready);
}

static void test_hostile_queue_faults_device(void **state)
{
	struct fixture *f = *state;
	struct { uint32_t num; uint64_t desc, avail, used; } cases[] = {
		{ 12, 0x1000, 0x2000, 0x3000 },                 /* not a power of two */
		{ 128, 0x1000, 0x2000, 0x3000 },                /* more than QueueNumMax (64) */
		{ 16, MEM_SIZE - 16, 0x2000, 0x3000 },          /* table outside guest memory */
		{ 16, 0x1000, 0x2000, 0xfffffffffffffff0ULL },  /* used ring wraps */
		{ 0x10010, 0x1000, 0x2000, 0x3000 },            /* size over 16 bits */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		wr(f, VIRTIO_MMIO_STATUS, 0);
		f->interrupts = 0;
		negotiate(f, 1ULL << VIRTIO_F_VERSION_1);
		setup_queue(f, 0, cases[i].num, cases[i].desc, cases[i].avail, cases[i].used);
		assert_true(f->t.failed);
		assert_int_not_equal(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
		assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS) & 2, 2);   /* config change */
		assert_int_equal(f->interrupts, 1);
		wr(f, VIRTIO_MMIO_STATUS, rd(f, VIRTIO_MMIO_STATUS) | VIRTIO_CONFIG_S_DRIVER_OK);
		assert_false(virtio_mmio_running(&f->t));
		virtio_mmio_notify(&f->t, 0);
		assert_int_equal(f->dev.notified, 0);
	}
	/* a reset brings it back */
	wr(f, VIRTIO_MMIO_STATUS, 0);
	assert_false(f->t.failed);
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), 0);
}

static void test_driver_ok_without_features_ok(void **state)
{
	struct fixture *f = *state;
	wr(f, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK);
	assert_true(f->t.failed);
	assert_int_equal(f->dev.activated, 0);
}

static void test_log_is_bounded(void **state)
{
	struct fixture *f = *state;
	for (int i = 0; i < 1000; i++)
		rd(f, 0x2);   /* a misaligned register read, each one worth a line */
	assert_int_equal(f->log_lines, 64 + 1);   /* 64 lines, then one saying the rest are dropped */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_feature_negotiation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bring_up_and_notify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_queue_faults_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_driver_ok_without_features_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_is_bounded, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
