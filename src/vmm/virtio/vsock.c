#include "vmm/virtio/vsock.h"

#include <errno.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_vsock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/unix_socket.h"
#include "vmm/virtio/vsock_internal.h"

static struct virtq *queue(struct vsock *v, unsigned q)
{
	return &v->t->queues[q];
}

/* Device to guest: control packets first, then data, while the guest has buffers. */
void vsock_pump_rx(struct vsock *v)
{
	bool used = false;
	while (virtio_mmio_running(v->t)) {
		struct conn *c = NULL;
		if (!v->n_orphans) {
			for (c = v->conns; c && !vsock_conn_has_output(c); c = c->next)
				;
			if (!c)
				break;
		}
		struct virtq_chain chain;
		if (virtio_mmio_pop(v->t, VSOCK_Q_RX, "receive queue", &chain) <= 0)
			break;
		if (chain.in_len < HDR_SIZE) {
			virtio_mmio_fault(v->t, "receive buffer of %llu bytes cannot hold a packet header",
					  (unsigned long long)chain.in_len);
			break;
		}
		int len;
		if (!c) {
			struct orphan_rst o = v->orphans[--v->n_orphans];
			struct virtio_vsock_hdr h = vsock_make_hdr(v, NULL, o.local_port, o.peer_port, VIRTIO_VSOCK_OP_RST);
			virtq_chain_write(&chain, 0, &h, HDR_SIZE);
			len = HDR_SIZE;
		} else {
			len = vsock_conn_fill_chain(v, c, &chain);
		}
		if (len <= 0) {
			virtq_unpop(queue(v, VSOCK_Q_RX));
			if (c && vsock_conn_has_output(c))
				break;   /* data but no room after the header: wait for bigger buffers rather than spin */
			continue;
		}
		virtq_push(queue(v, VSOCK_Q_RX), chain.head, (uint32_t)len);
		used = true;
	}
	if (used)
		virtio_mmio_signal_used(v->t, VSOCK_Q_RX);
}

void virtio_vsock_handle_tx(void *dev, const struct virtq_chain *chain)
{
	struct vsock *v = dev;
	struct virtio_vsock_hdr h;
	if (virtq_chain_read(chain, 0, &h, HDR_SIZE) < HDR_SIZE)
		return virtio_mmio_fault(v->t, "transmit packet of %llu bytes is shorter than its header",
					 (unsigned long long)chain->out_len);
	if (h.len > chain->out_len - HDR_SIZE)
		return virtio_mmio_fault(v->t, "packet claims %u bytes of payload but carries %llu", h.len,
					 (unsigned long long)(chain->out_len - HDR_SIZE));
	if (h.src_cid != v->cid || h.dst_cid != VSOCK_HOST_CID) {
		virtio_mmio_log(v->t, "packet from cid %llu to cid %llu dropped: only %llu to %u is routed",
				(unsigned long long)h.src_cid, (unsigned long long)h.dst_cid, (unsigned long long)v->cid,
				VSOCK_HOST_CID);
		return;
	}
	struct conn *c = vsock_find_conn(v, h.dst_port, h.src_port);
	if (h.type != VIRTIO_VSOCK_TYPE_STREAM) {
		if (h.op != VIRTIO_VSOCK_OP_RST)
			vsock_queue_rst(v, h.dst_port, h.src_port);
		return;
	}
	if (c) {
		c->peer_buf_alloc = h.buf_alloc;
		c->peer_fwd_cnt = h.fwd_cnt;
	}
	switch (h.op) {
	case VIRTIO_VSOCK_OP_REQUEST:
		if (c)
			vsock_conn_reset(c);   /* a second REQUEST on a live connection: start over cleanly */
		else
			vsock_guest_connect(v, &h);
		return;
	case VIRTIO_VSOCK_OP_RST:
		if (c)
			vsock_conn_free(c);
		return;
	}
	if (!c) {
		vsock_queue_rst(v, h.dst_port, h.src_port);
		return;
	}
	switch (h.op) {
	case VIRTIO_VSOCK_OP_RESPONSE:
		if (c->state != CONN_REQUESTED)
			return vsock_conn_reset(c);
		c->state = CONN_ESTABLISHED;
		char ok[32];
		int n = snprintf(ok, sizeof(ok), "OK %u\n", c->local_port);
		if (send(c->fd, ok, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n)
			return vsock_conn_reset(c);
		vsock_conn_watch(c);
		return;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		if ((h.flags & VIRTIO_VSOCK_SHUTDOWN_RCV) && (h.flags & VIRTIO_VSOCK_SHUTDOWN_SEND)) {
			vsock_conn_flush(c);
			return vsock_conn_reset(c);
		}
		if (h.flags & VIRTIO_VSOCK_SHUTDOWN_SEND) {
			c->shut_wr_pending = true;
			vsock_conn_flush(c);
		}
		return;
	case VIRTIO_VSOCK_OP_RW:
		if (c->state != CONN_ESTABLISHED)
			return vsock_conn_reset(c);
		if (h.len && vsock_conn_write(c, chain, h.len) < 0) {
			virtio_mmio_log(v->t, "connection %u -> %u: dropped (host gone or guest over its credit)",
					h.src_port, h.dst_port);
			return vsock_conn_reset(c);
		}
		vsock_conn_watch(c);
		return;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		c->send_credit = true;
		return;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		return;
	default:
		virtio_mmio_log(v->t, "packet with unknown op %u: connection reset", h.op);
		return vsock_conn_reset(c);
	}
}

static void process_tx(struct vsock *v)
{
	bool used = false;
	while (virtio_mmio_running(v->t)) {
		struct virtq_chain chain;
		if (virtio_mmio_pop(v->t, VSOCK_Q_TX, "transmit queue", &chain) <= 0)
			break;
		virtio_vsock_handle_tx(v, &chain);
		virtq_push(queue(v, VSOCK_Q_TX), chain.head, 0);
		used = true;
	}
	if (used)
		virtio_mmio_signal_used(v->t, VSOCK_Q_TX);
}

static void vsock_notify(void *dev, unsigned q)
{
	struct vsock *v = dev;
	if (q == VSOCK_Q_TX)
		process_tx(v);
	/* the event queue only holds buffers for events capsa-vmm never sends (migration) */
	vsock_pump_rx(v);
}

static void vsock_reset(void *dev)
{
	struct vsock *v = dev;
	while (v->conns)
		vsock_conn_free(v->conns);
	v->n_orphans = 0;
}

static const void *vsock_config(void *dev)
{
	return &((struct vsock *)dev)->config_cid;
}

const struct virtio_device_ops virtio_vsock_ops = {
	.name = "virtio-vsock",
	.device_id = VIRTIO_ID_VSOCK,
	.num_queues = VSOCK_NUM_QUEUES,
	.queue_size_max = 256,
	.features = 0,
	.config_size = sizeof(uint64_t),
	.config = vsock_config,
	.activate = vsock_reset,
	.queue_notify = vsock_notify,
	.reset = vsock_reset,
};

int virtio_vsock_new(struct virtio_mmio_dev *transport, struct loop *loop, const struct vmm_config *cfg, void **ret,
		     struct capsa_error *err)
{
	if (cfg->vsock_cid < 3 || cfg->vsock_cid > UINT32_MAX - 1)
		return capsa_error_set(err, -EINVAL, "vsock cid %llu is not a guest cid (3 or more)",
				       (unsigned long long)cfg->vsock_cid);
	struct vsock *v = calloc(1, sizeof(*v));
	if (!v)
		return capsa_error_set(err, -ENOMEM, "out of memory");
	v->t = transport;
	v->loop = loop;
	v->cid = v->config_cid = cfg->vsock_cid;
	v->next_port = FIRST_HOST_PORT;
	v->listen_fd = -1;
	v->path = strdup(cfg->vsock_socket);
	if (!v->path) {
		free(v);
		return capsa_error_set(err, -ENOMEM, "out of memory");
	}
	if (loop) {
		v->listen_fd = unix_listen(cfg->vsock_socket, 16, err);
		if (v->listen_fd < 0) {
			int r = v->listen_fd;
			free(v->path);
			free(v);
			return r;
		}
		if (loop_add(loop, v->listen_fd, EPOLLIN, vsock_on_accept, v, &transport->lock, &v->listen_src) < 0) {
			virtio_vsock_free(v);
			return capsa_error_set(err, -ENOMEM, "watching the vsock socket");
		}
	}
	*ret = v;
	return 0;
}

void virtio_vsock_free(void *dev)
{
	struct vsock *v = dev;
	if (!v)
		return;
	vsock_reset(v);
	if (v->listen_fd >= 0) {
		loop_remove(v->loop, v->listen_src);
		close(v->listen_fd);
		unlink(v->path);
	}
	free(v->path);
	free(v);
}

unsigned virtio_vsock_connections(void *dev)
{
	return ((struct vsock *)dev)->n_conns;
}
