/*
 * Inside the userspace vsock device: vsock.c speaks virtio (queues, packets),
 * vsock_conn.c the host side (unix sockets, the CONNECT handshake, flow
 * control). Both run under the transport's lock.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_vsock.h>

#include "vmm/virtio/vsock.h"

enum { VSOCK_Q_RX, VSOCK_Q_TX, VSOCK_Q_EVENT, VSOCK_NUM_QUEUES };
#define HDR_SIZE sizeof(struct virtio_vsock_hdr)
#define CONNECT_LINE_MAX 32
#define MAX_ORPHAN_RSTS 32
#define FIRST_HOST_PORT (1u << 30)
#define CREDIT_UPDATE_EVERY (VSOCK_BUF_ALLOC / 4)

enum conn_state {
	CONN_HANDSHAKE,    /* host connected to the socket, its CONNECT line not read yet */
	CONN_REQUESTED,    /* REQUEST sent to the guest, waiting for RESPONSE */
	CONN_ESTABLISHED,
};

struct conn {
	struct conn *next;
	struct vsock *v;
	enum conn_state state;
	uint32_t local_port, peer_port;   /* host side, guest side */
	int fd;
	struct loop_source *src;
	char line[CONNECT_LINE_MAX];
	size_t line_len;
	/* owed to the guest */
	bool send_request, send_response, send_credit, send_shutdown;
	/* flow control: what the guest can take, and what we have taken */
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
	uint32_t rx_cnt, fwd_cnt, fwd_cnt_told;
	bool readable;                    /* the host socket has data or EOF we have not read */
	bool host_eof, shut_wr_pending;
	uint8_t *buf;                     /* guest data the host socket has not taken */
	size_t buf_len;
};

struct orphan_rst {
	uint32_t local_port, peer_port;
};

struct vsock {
	struct virtio_mmio_dev *t;
	struct loop *loop;
	char *path;
	uint64_t config_cid;              /* little endian, the config space */
	uint64_t cid;
	int listen_fd;
	struct loop_source *listen_src;
	struct conn *conns;
	unsigned n_conns;
	uint32_t next_port;
	struct orphan_rst orphans[MAX_ORPHAN_RSTS];
	unsigned n_orphans;
};


/* device side (vsock.c) */
void vsock_pump_rx(struct vsock *v);

/* host side (vsock_conn.c) */
struct conn *vsock_find_conn(struct vsock *v, uint32_t local_port, uint32_t peer_port);
struct conn *vsock_conn_new(struct vsock *v, int fd, enum conn_state state);
void vsock_conn_watch(struct conn *c);
void vsock_conn_free(struct conn *c);
/* Ends a connection, telling the guest with RST. */
void vsock_conn_reset(struct conn *c);
void vsock_queue_rst(struct vsock *v, uint32_t local_port, uint32_t peer_port);
bool vsock_conn_has_output(const struct conn *c);
/* A packet header from the host's end of a connection, carrying c's credit (c may be NULL). */
struct virtio_vsock_hdr vsock_make_hdr(struct vsock *v, struct conn *c, uint32_t local_port, uint32_t peer_port, uint16_t op);
/* Fills one receive chain for c: bytes used, 0 when c had nothing after all. */
int vsock_conn_fill_chain(struct vsock *v, struct conn *c, const struct virtq_chain *chain);
bool vsock_conn_flush(struct conn *c);
int vsock_conn_write(struct conn *c, const struct virtq_chain *chain, uint32_t len);
void vsock_guest_connect(struct vsock *v, const struct virtio_vsock_hdr *h);
void vsock_on_accept(void *opaque, uint32_t events);
