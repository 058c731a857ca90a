/* The virtqueue code against hostile drivers: no KVM, a plain buffer as guest memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vmm/virtio/queue.h"

#define MEM_SIZE (64 * 1024)
#define DESC 0x1000
#define AVAIL 0x2000
#define USED 0x3000
#define DATA 0x4000

struct fixture {
	uint8_t *buf;
	struct guest_memory mem;
	struct virtq q;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->buf = calloc(1, MEM_SIZE);
	guest_mem_from_buffer(&f->mem, f->buf, MEM_SIZE);
	f->q = (struct virtq){ .num_max = 256, .num = 16, .desc_gpa = DESC, .avail_gpa = AVAIL, .used_gpa = USED };
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	free(f->buf);
	free(f);
	return 0;
}

static void set_desc(struct fixture *f, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc d = { .addr = addr, .len = len, .flags = flags, .next = next };
	memcpy(f->buf + DESC + 16 * i, &d, sizeof(d));
}

/* Makes head available as the next entry of the available ring. */
static void make_avail(struct fixture *f, uint16_t head)
{
	uint16_t idx;
	memcpy(&idx, f->buf + AVAIL + 2, 2);
	memcpy(f->buf + AVAIL + 4 + 2 * (idx % f->q.num), &head, 2);
	idx++;
	memcpy(f->buf + AVAIL + 2, &idx, 2);
}

static int pop(struct fixture *f, struct virtq_chain *c)
{
	struct capsa_error err = { 0 };
	int r = virtq_pop(&f->q, &f->mem, c, &err);
	if (r < 0)
		assert_true(strlen(err.msg) > 0);   /* every fault says what was wrong */
	return r;
}

static void test_valid_chain(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(virtq_activate(&f->q, &f->mem, NULL), 0);
	set_desc(f, 3, DATA, 16, VRING_DESC_F_NEXT, 7);
	set_desc(f, 7, DATA + 100, 32, VRING_DESC_F_WRITE, 0);
	memcpy(f->buf + DATA, "0123456789abcdef", 16);
	make_avail(f, 3);
	struct virtq_chain c;
	assert_int_equal(pop(f, &c), 1);
	assert_int_equal(c.head, 3);
	assert_int_equal(c.n_out, 1);
	assert_int_equal(c.n_in, 1);
	assert_int_equal(c.out_len, 16);
	assert_int_equal(c.in_len, 32);
	assert_ptr_equal(c.iov[0].iov_base, f->buf + DATA);
	char got[8] = { 0 };
	assert_int_equal(virtq_chain_read(&c, 10, got, 100), 6);
	assert_memory_equal(got, "abcdef", 6);
	assert_int_equal(virtq_chain_write(&c, 30, "xyz", 3), 2);   /* only 2 bytes left in 32 */
	assert_memory_equal(f->buf + DATA + 130, "xy", 2);
	assert_int_equal(pop(f, &c), 0);   /* nothing more */
	virtq_push(&f->q, c.head, 5);
	struct vring_used_elem e;
	memcpy(&e, f->buf + USED + 4, sizeof(e));
	assert_int_equal(e.id, 3);
	assert_int_equal(e.len, 5);
	uint16_t used_idx;
	memcpy(&used_idx, f->buf + USED + 2, 2);
	assert_int_equal(used_idx, 1);
	assert_true(virtq_wants_interrupt(&f->q));
	uint16_t no_irq = VRING_AVAIL_F_NO_INTERRUPT;
	memcpy(f->buf + AVAIL, &no_irq, 2);
	assert_false(virtq_wants_interrupt(&f->q));
}

static void test_bad_sizes(void **state)
{
	struct fixture *f = *state;
	uint16_t sizes[] = { 0, 3, 12, 100, 512 };   /* not powers of two, or over num_max (256) */
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		f->q.num = sizes[i];
		struct capsa_error err = { 0 };
		assert_int_equal(virtq_activate(&f->q, &f->mem, &err), -EINVAL);
		assert_false(f->q.active);
		assert_non_null(strstr(err.msg, "power of two"));
	}
}

static void test_rings_outside_memory(void **state)
{
	struct fixture *f = *state;
	struct { uint64_t desc, avail, used; int want; } cases[] = {
		{ MEM_SIZE - 16, AVAIL, USED, -EFAULT },           /* table runs off the end */
		{ DESC, UINT64_MAX - 1, USED, -EFAULT },           /* huge */
		{ DESC, UINT64_MAX, USED, -EINVAL },               /* misaligned */
		{ DESC, AVAIL, UINT64_MAX - 3, -EFAULT },          /* would wrap around */
		{ DESC + 8, AVAIL, USED, -EINVAL },                /* table not 16-byte aligned */
		{ DESC, AVAIL + 1, USED, -EINVAL },
		{ DESC, AVAIL, USED + 2, -EINVAL },
		{ DESC, AVAIL, (uint64_t)MEM_SIZE << 20, -EFAULT },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f->q.desc_gpa = cases[i].desc;
		f->q.avail_gpa = cases[i].avail;
		f->q.used_gpa = cases[i].used;
		assert_int_equal(virtq_activate(&f->q, &f->mem, NULL), cases[i].want);
		assert_false(f->q.active);
	}
	struct virtq_chain c;
	assert_int_equal(pop(f, &c), 0);   /* an inactive queue yields nothing */
}

static void test_bad_descriptors(void **state)
{
	struct fixture *f = *state;
	struct { uint64_t addr; uint32_t len; uint16_t flags; uint16_t next; int want; } cases[] = {
		{ MEM_SIZE, 1, 0, 0, -EFAULT },                      /* just past the end */
		{ MEM_SIZE - 4, 8, 0, 0, -EFAULT },                  /* straddles the end */
		{ UINT64_MAX - 10, 100, 0, 0, -EFAULT },             /* addr + len overflows */
		{ DATA, 16, VRING_DESC_F_INDIRECT, 0, -EINVAL },     /* indirect was not offered */
		{ DATA, 16, VRING_DESC_F_NEXT, 16, -EINVAL },        /* next past the table */
		{ DATA, 16, VRING_DESC_F_NEXT, 0xffff, -EINVAL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(virtq_activate(&f->q, &f->mem, NULL), 0);
		memset(f->buf + AVAIL, 0, 0x100);
		set_desc(f, 0, cases[i].addr, cases[i].len, cases[i].flags, cases[i].next);
		make_avail(f, 0);
		struct virtq_chain c;
		assert_int_equal(pop(f, &c), cases[i].want);
	}
}

/* A fresh queue: empty rings, activated. */
static void restart(struct fixture *f)
{
	memset(f->buf + AVAIL, 0, 0x100);
	memset(f->buf + USED, 0, 0x100);
	assert_int_equal(virtq_activate(&f->q, &f->mem, NULL), 0);
}

static void test_loops_and_heads(void **state)
{
	struct fixture *f = *state;
	restart(f);
	struct virtq_chain c;
	/* 0 -> 1 -> 0 ... */
	set_desc(f, 0, DATA, 4, VRING_DESC_F_NEXT, 1);
	set_desc(f, 1, DATA, 4, VRING_DESC_F_NEXT, 0);
	make_avail(f, 0);
	assert_int_equal(pop(f, &c), -ELOOP);
	/* a descriptor pointing at itself */
	restart(f);
	set_desc(f, 5, DATA, 4, VRING_DESC_F_NEXT, 5);
	make_avail(f, 5);
	assert_int_equal(pop(f, &c), -ELOOP);
	/* a head past the table */
	restart(f);
	make_avail(f, 16);
	assert_int_equal(pop(f, &c), -EINVAL);
	/* readable after writable */
	restart(f);
	set_desc(f, 2, DATA, 4, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 3);
	set_desc(f, 3, DATA, 4, 0, 0);
	make_avail(f, 2);
	assert_int_equal(pop(f, &c), -EINVAL);
}

static void test_avail_index_jump(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(virtq_activate(&f->q, &f->mem, NULL), 0);
	uint16_t idx = 17;   /* 17 buffers made available in a 16-entry ring */
	memcpy(f->buf + AVAIL + 2, &idx, 2);
	struct virtq_chain c;
	assert_int_equal(pop(f, &c), -EINVAL);
}

static void test_chain_too_long(void **state)
{
	struct fixture *f = *state;
	f->q.num = 128;
	assert_int_equal(virtq_activate(&f->q, &f->mem, NULL), 0);
	for (uint16_t i = 0; i < 100; i++)
		set_desc(f, i, DATA, 1, VRING_DESC_F_NEXT, (uint16_t)(i + 1));
	set_desc(f, 100, DATA, 1, 0, 0);
	make_avail(f, 0);
	struct virtq_chain c;
	assert_int_equal(pop(f, &c), -E2BIG);
}

/* Lengths that add up past 4 GiB: guest memory is a sparse 4 GiB + 64 KiB mapping, never touched. */
static void test_total_length_overflow(void **state)
{
	(void)state;
	size_t size = (4ULL << 30) + MEM_SIZE;
	uint8_t *buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(buf != MAP_FAILED);
	struct fixture f = { .buf = buf };
	guest_mem_from_buffer(&f.mem, buf, size);
	f.q = (struct virtq){ .num_max = 256, .num = 16, .desc_gpa = DESC, .avail_gpa = AVAIL, .used_gpa = USED };
	assert_int_equal(virtq_activate(&f.q, &f.mem, NULL), 0);
	set_desc(&f, 0, 0, 0xffffffff, VRING_DESC_F_NEXT, 1);
	set_desc(&f, 1, 0, 0xffffffff, 0, 0);
	make_avail(&f, 0);
	struct virtq_chain c;
	assert_int_equal(pop(&f, &c), -EOVERFLOW);
	munmap(buf, size);
}

static void test_guest_mem_ptr(void **state)
{
	struct fixture *f = *state;
	assert_non_null(guest_mem_ptr(&f->mem, 0, MEM_SIZE));
	assert_non_null(guest_mem_ptr(&f->mem, MEM_SIZE, 0));
	assert_null(guest_mem_ptr(&f->mem, 1, MEM_SIZE));
	assert_null(guest_mem_ptr(&f->mem, UINT64_MAX, 2));
	assert_null(guest_mem_ptr(&f->mem, 2, UINT64_MAX));
	assert_int_equal(guest_mem_write(&f->mem, MEM_SIZE - 1, "ab", 2), -EFAULT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_valid_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rings_outside_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_descriptors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loops_and_heads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_avail_index_jump, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_too_long, setup, teardown),
		cmocka_unit_test(test_total_length_overflow),
		cmocka_unit_test_setup_teardown(test_guest_mem_ptr, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
