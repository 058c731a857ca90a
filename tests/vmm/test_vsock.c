/*
 * The userspace vsock device against hostile packets, and the guest-to-host
 * path to "<socket>_<port>" with real unix sockets. No KVM: packets are
 * handed to the device as the transmit queue would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/virtio_vsock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/fdio.h"
#include "common/unix_socket.h"
#include "vmm/loop.h"
#include "vmm/virtio/vsock.h"

#define GUEST_CID 3

struct fixture {
	char dir[64], sock[128], port_sock[160];
	uint8_t *buf;
	struct guest_memory mem;
	struct loop *loop;
	struct virtio_mmio_dev t;
	void *dev;
	int faults;
};

static void count_log(void *opaque, const char *fmt, va_list ap)
{
	(void)ap;
	if (strstr(fmt, "%s@0x%llx: %s%s"))
		((struct fixture *)opaque)->faults++;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/capsa-vsock-test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->sock, sizeof(f->sock), "%s/v.sock", f->dir);
	snprintf(f->port_sock, sizeof(f->port_sock), "%s_5000", f->sock);
	f->buf = calloc(1, 65536);
	guest_mem_from_buffer(&f->mem, f->buf, 65536);
	assert_int_equal(loop_new(&f->loop, NULL), 0);
	struct vmm_config cfg = { .vsock_socket = f->sock, .vsock_cid = GUEST_CID };
	virtio_mmio_init(&f->t, &virtio_vsock_ops, NULL, &f->mem, 0xd0001000, 6);
	f->t.log = count_log;
	f->t.log_opaque = f;
	assert_int_equal(virtio_vsock_new(&f->t, f->loop, &cfg, &f->dev, NULL), 0);
	f->t.dev = f->dev;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	virtio_vsock_free(f->dev);
	virtio_mmio_destroy(&f->t);
	loop_free(f->loop);
	unlink(f->port_sock);
	assert_int_equal(access(f->sock, F_OK), -1);   /* the device removed its socket */
	assert_int_equal(rmdir(f->dir), 0);            /* and left nothing else behind */
	free(f->buf);
	free(f);
	return 0;
}

/* A transmit chain of one readable buffer holding bytes. */
static void send_packet(struct fixture *f, const void *bytes, size_t len)
{
	struct virtq_chain c = { .n_out = 1, .out_len = len };
	c.iov[0] = (struct iovec){ (void *)bytes, len };
	virtio_vsock_handle_tx(f->dev, &c);
}

static struct virtio_vsock_hdr hdr(uint16_t op, uint32_t src_port, uint32_t dst_port, uint32_t len)
{
	return (struct virtio_vsock_hdr){
		.src_cid = GUEST_CID, .dst_cid = VSOCK_HOST_CID, .src_port = src_port, .dst_port = dst_port,
		.len = len, .type = VIRTIO_VSOCK_TYPE_STREAM, .op = op, .buf_alloc = 65536,
	};
}

static void test_short_header_faults(void **state)
{
	struct fixture *f = *state;
	struct virtio_vsock_hdr h = hdr(VIRTIO_VSOCK_OP_REQUEST, 1, 5000, 0);
	send_packet(f, &h, sizeof(h) - 1);
	assert_true(f->t.failed);
	assert_int_equal(virtio_vsock_connections(f->dev), 0);
}

static void test_length_beyond_payload_faults(void **state)
{
	struct fixture *f = *state;
	uint8_t pkt[sizeof(struct virtio_vsock_hdr) + 4];
	struct virtio_vsock_hdr h = hdr(VIRTIO_VSOCK_OP_RW, 1, 5000, 0xffffffff);
	memcpy(pkt, &h, sizeof(h));
	send_packet(f, pkt, sizeof(pkt));
	assert_true(f->t.failed);
}

static void test_wrong_cids_and_types_are_dropped(void **state)
{
	struct fixture *f = *state;
	int lfd = unix_listen(f->port_sock, 4, NULL);
	assert_true(lfd >= 0);
	struct virtio_vsock_hdr h = hdr(VIRTIO_VSOCK_OP_REQUEST, 1, 5000, 0);
	h.src_cid = 99;   /* spoofing another guest */
	send_packet(f, &h, sizeof(h));
	h = hdr(VIRTIO_VSOCK_OP_REQUEST, 1, 5000, 0);
	h.dst_cid = 7;    /* not the host */
	send_packet(f, &h, sizeof(h));
	h = hdr(VIRTIO_VSOCK_OP_REQUEST, 1, 5000, 0);
	h.type = 2;       /* seqpacket was not offered */
	send_packet(f, &h, sizeof(h));
	assert_int_equal(virtio_vsock_connections(f->dev), 0);
	assert_false(f->t.failed);
	h = hdr(VIRTIO_VSOCK_OP_RW, 1, 5000, 0);   /* data on no connection */
	send_packet(f, &h, sizeof(h));
	assert_int_equal(virtio_vsock_connections(f->dev), 0);
	close(lfd);
}

static void test_connect_to_missing_listener(void **state)
{
	struct fixture *f = *state;
	struct virtio_vsock_hdr h = hdr(VIRTIO_VSOCK_OP_REQUEST, 1, 5000, 0);
	send_packet(f, &h, sizeof(h));
	assert_int_equal(virtio_vsock_connections(f->dev), 0);
	assert_false(f->t.failed);
}

static void test_guest_to_host_stream(void **state)
{
	struct fixture *f = *state;
	int lfd = unix_listen(f->port_sock, 4, NULL);
	assert_true(lfd >= 0);
	struct virtio_vsock_hdr h = hdr(VIRTIO_VSOCK_OP_REQUEST, 1234, 5000, 0);
	send_packet(f, &h, sizeof(h));
	assert_int_equal(virtio_vsock_connections(f->dev), 1);
	int peer = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(peer >= 0);
	uint8_t pkt[sizeof(struct virtio_vsock_hdr) + 5];
	h = hdr(VIRTIO_VSOCK_OP_RW, 1234, 5000, 5);
	memcpy(pkt, &h, sizeof(h));
	memcpy(pkt + sizeof(h), "hello", 5);
	send_packet(f, pkt, sizeof(pkt));
	char got[8] = { 0 };
	assert_int_equal(read(peer, got, sizeof(got)), 5);
	assert_string_equal(got, "hello");
	/* a second REQUEST for a live connection resets it */
	h = hdr(VIRTIO_VSOCK_OP_REQUEST, 1234, 5000, 0);
	send_packet(f, &h, sizeof(h));
	assert_int_equal(virtio_vsock_connections(f->dev), 0);
	assert_int_equal(read(peer, got, sizeof(got)), 0);   /* the host side sees it end */
	close(peer);
	close(lfd);
}

static void test_guest_over_credit_is_reset(void **state)
{
	struct fixture *f = *state;
	int lfd = unix_listen(f->port_sock, 4, NULL);
	assert_true(lfd >= 0);
	struct virtio_vsock_hdr h = hdr(VIRTIO_VSOCK_OP_REQUEST, 77, 5000, 0);
	send_packet(f, &h, sizeof(h));
	assert_int_equal(virtio_vsock_connections(f->dev), 1);
	/* nobody reads the host side: the device may hold VSOCK_BUF_ALLOC and not a byte more */
	size_t big = VSOCK_BUF_ALLOC + 4096;
	uint8_t *pkt = calloc(1, sizeof(h) + big);
	size_t sent = 0;
	while (virtio_vsock_connections(f->dev) == 1 && sent < 64 * VSOCK_BUF_ALLOC) {
		h = hdr(VIRTIO_VSOCK_OP_RW, 77, 5000, 4096);
		memcpy(pkt, &h, sizeof(h));
		send_packet(f, pkt, sizeof(h) + 4096);
		sent += 4096;
	}
	assert_int_equal(virtio_vsock_connections(f->dev), 0);
	assert_false(f->t.failed);   /* one connection's fault, not the device's */
	free(pkt);
	close(lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_short_header_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_length_beyond_payload_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_cids_and_types_are_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_to_missing_listener, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_to_host_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_over_credit_is_reset, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
