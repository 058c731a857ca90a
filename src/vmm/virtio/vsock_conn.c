/* The host side of the vsock device: unix socket connections, the hybrid-vsock handshake, credit. */
#include <errno.h>
#include <linux/virtio_vsock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/virtio/vsock_internal.h"

static void on_conn(void *opaque, uint32_t events);

struct conn *vsock_find_conn(struct vsock *v, uint32_t local_port, uint32_t peer_port)
{
	for (struct conn *c = v->conns; c; c = c->next)
		if (c->state != CONN_HANDSHAKE && c->local_port == local_port && c->peer_port == peer_port)
			return c;
	return NULL;
}

void vsock_conn_watch(struct conn *c)
{
	if (!c->src)
		return;
	uint32_t ev = 0;
	if (c->state == CONN_HANDSHAKE || (c->state == CONN_ESTABLISHED && !c->readable && !c->host_eof))
		ev |= EPOLLIN;
	if (c->buf_len)
		ev |= EPOLLOUT;
	loop_modify(c->v->loop, c->src, ev);
}

void vsock_conn_free(struct conn *c)
{
	struct vsock *v = c->v;
	for (struct conn **p = &v->conns; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	v->n_conns--;
	loop_remove(v->loop, c->src);
	close(c->fd);
	free(c->buf);
	free(c);
}

void vsock_queue_rst(struct vsock *v, uint32_t local_port, uint32_t peer_port)
{
	if (v->n_orphans < MAX_ORPHAN_RSTS)
		v->orphans[v->n_orphans++] = (struct orphan_rst){ local_port, peer_port };
}

/* Ends a connection, telling the guest with RST. */
void vsock_conn_reset(struct conn *c)
{
	if (c->state != CONN_HANDSHAKE)
		vsock_queue_rst(c->v, c->local_port, c->peer_port);
	vsock_conn_free(c);
}

struct conn *vsock_conn_new(struct vsock *v, int fd, enum conn_state state)
{
	if (v->n_conns >= VSOCK_MAX_CONNS)
		return NULL;
	struct conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	*c = (struct conn){ .v = v, .state = state, .fd = fd };
	if (loop_add(v->loop, fd, 0, on_conn, c, &v->t->lock, &c->src) < 0) {
		free(c);
		return NULL;
	}
	c->next = v->conns;
	v->conns = c;
	v->n_conns++;
	return c;
}

struct virtio_vsock_hdr vsock_make_hdr(struct vsock *v, struct conn *c, uint32_t local_port, uint32_t peer_port,
					uint16_t op)
{
	struct virtio_vsock_hdr h = {
		.src_cid = VSOCK_HOST_CID, .dst_cid = v->cid, .src_port = local_port, .dst_port = peer_port,
		.type = VIRTIO_VSOCK_TYPE_STREAM, .op = op, .buf_alloc = VSOCK_BUF_ALLOC,
	};
	if (c) {
		h.fwd_cnt = c->fwd_cnt;
		c->fwd_cnt_told = c->fwd_cnt;
	}
	return h;
}

static uint32_t peer_credit(const struct conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;
	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

/* The next thing connection c owes the guest, if any: fills h (and payload via the chain). */
bool vsock_conn_has_output(const struct conn *c)
{
	return c->send_request || c->send_response || c->send_shutdown || c->send_credit ||
	       (c->state == CONN_ESTABLISHED && c->readable && peer_credit(c) > 0);
}

/* Fills one receive chain for c. Returns bytes used, 0 when c had nothing after all, < 0 when c went away. */
int vsock_conn_fill_chain(struct vsock *v, struct conn *c, const struct virtq_chain *chain)
{
	struct virtio_vsock_hdr h;
	uint32_t payload = 0;
	if (c->send_request) {
		c->send_request = false;
		h = vsock_make_hdr(v, c, c->local_port, c->peer_port, VIRTIO_VSOCK_OP_REQUEST);
	} else if (c->send_response) {
		c->send_response = false;
		h = vsock_make_hdr(v, c, c->local_port, c->peer_port, VIRTIO_VSOCK_OP_RESPONSE);
	} else if (c->send_shutdown) {
		c->send_shutdown = false;
		h = vsock_make_hdr(v, c, c->local_port, c->peer_port, VIRTIO_VSOCK_OP_SHUTDOWN);
		h.flags = VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND;
	} else if (c->state == CONN_ESTABLISHED && c->readable && peer_credit(c) > 0) {
		/* read straight from the socket into the guest's buffer, after the header */
		struct iovec iov[VIRTQ_MAX_CHAIN];
		unsigned n = 0;
		uint64_t skip = HDR_SIZE, room = peer_credit(c);
		for (unsigned i = chain->n_out; i < chain->n_out + chain->n_in && room; i++) {
			const struct iovec *s = &chain->iov[i];
			if (skip >= s->iov_len) {
				skip -= s->iov_len;
				continue;
			}
			size_t len = s->iov_len - skip < room ? s->iov_len - skip : room;
			iov[n++] = (struct iovec){ (uint8_t *)s->iov_base + skip, len };
			room -= len;
			skip = 0;
		}
		if (!n)
			return 0;
		ssize_t r = readv(c->fd, iov, (int)n);
		if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
			c->readable = false;
			vsock_conn_watch(c);
			return 0;
		}
		if (r <= 0) {
			/* the host closed its end: the guest hears a full shutdown and answers RST */
			c->readable = false;
			c->host_eof = true;
			vsock_conn_watch(c);
			h = vsock_make_hdr(v, c, c->local_port, c->peer_port, VIRTIO_VSOCK_OP_SHUTDOWN);
			h.flags = VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND;
		} else {
			payload = (uint32_t)r;
			c->tx_cnt += payload;
			h = vsock_make_hdr(v, c, c->local_port, c->peer_port, VIRTIO_VSOCK_OP_RW);
			h.len = payload;
		}
	} else if (c->send_credit) {
		h = vsock_make_hdr(v, c, c->local_port, c->peer_port, VIRTIO_VSOCK_OP_CREDIT_UPDATE);
	} else {
		return 0;
	}
	c->send_credit = false;   /* every packet carries our credit */
	virtq_chain_write(chain, 0, &h, HDR_SIZE);
	return (int)(HDR_SIZE + payload);
}

bool vsock_conn_flush(struct conn *c)
{
	while (c->buf_len) {
		ssize_t n = send(c->fd, c->buf, c->buf_len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			return false;
		memmove(c->buf, c->buf + n, c->buf_len - (size_t)n);
		c->buf_len -= (size_t)n;
		c->fwd_cnt += (uint32_t)n;
	}
	if (!c->buf_len && c->shut_wr_pending) {
		shutdown(c->fd, SHUT_WR);
		c->shut_wr_pending = false;
	}
	if (c->fwd_cnt - c->fwd_cnt_told >= CREDIT_UPDATE_EVERY)
		c->send_credit = true;
	return true;
}

/* Guest data for the host socket: written now, or kept within the credit we gave. */
int vsock_conn_write(struct conn *c, const struct virtq_chain *chain, uint32_t len)
{
	if (c->rx_cnt - c->fwd_cnt + len > VSOCK_BUF_ALLOC)
		return -ENOBUFS;   /* more than the credit we gave */
	if (!c->buf && !(c->buf = malloc(VSOCK_BUF_ALLOC)))
		return -ENOMEM;
	virtq_chain_read(chain, HDR_SIZE, c->buf + c->buf_len, len);
	c->buf_len += len;
	c->rx_cnt += len;
	return vsock_conn_flush(c) ? 0 : -EPIPE;
}

void vsock_guest_connect(struct vsock *v, const struct virtio_vsock_hdr *h)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 16];
	snprintf(path, sizeof(path), "%s_%u", v->path, h->dst_port);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(addr.sun_path) || fd < 0) {
		if (fd >= 0)
			close(fd);
		return vsock_queue_rst(v, h->dst_port, h->src_port);
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	struct conn *c;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || !(c = vsock_conn_new(v, fd, CONN_ESTABLISHED))) {
		close(fd);
		return vsock_queue_rst(v, h->dst_port, h->src_port);
	}
	c->local_port = h->dst_port;
	c->peer_port = h->src_port;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	c->send_response = true;
	vsock_conn_watch(c);
}

/* The host's "CONNECT <port>\n", read a byte at a time so nothing after it is consumed. */
static void read_connect_line(struct conn *c)
{
	struct vsock *v = c->v;
	while (c->line_len < sizeof(c->line) - 1) {
		ssize_t n = read(c->fd, c->line + c->line_len, 1);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0)
			return vsock_conn_free(c);
		if (c->line[c->line_len++] == '\n')
			break;
	}
	c->line[c->line_len] = '\0';
	char *end;
	unsigned long port;
	if (strncmp(c->line, "CONNECT ", 8) || (port = strtoul(c->line + 8, &end, 10), end == c->line + 8) ||
	    *end != '\n' || port > UINT32_MAX)
		return vsock_conn_free(c);
	/* a host port not in use by another connection */
	do
		c->local_port = v->next_port++ ;
	while (vsock_find_conn(v, c->local_port, (uint32_t)port) || c->local_port < FIRST_HOST_PORT);
	if (v->next_port < FIRST_HOST_PORT)
		v->next_port = FIRST_HOST_PORT;
	c->peer_port = (uint32_t)port;
	c->state = CONN_REQUESTED;
	c->send_request = true;
	vsock_conn_watch(c);
}

/* Loop callbacks run with the transport's lock held (loop_add). */
static void on_conn(void *opaque, uint32_t events)
{
	struct conn *c = opaque;
	struct vsock *v = c->v;
	if (c->state == CONN_HANDSHAKE) {
		if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			read_connect_line(c);
	} else {
		if ((events & EPOLLOUT) && !vsock_conn_flush(c)) {
			vsock_conn_reset(c);
			c = NULL;
		}
		if (c && (events & (EPOLLHUP | EPOLLERR)) && c->state == CONN_REQUESTED) {
			vsock_conn_reset(c);   /* the host gave up before the guest answered */
			c = NULL;
		}
		if (c && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && c->state == CONN_ESTABLISHED) {
			if (!c->host_eof)
				c->readable = true;
			if ((events & (EPOLLHUP | EPOLLERR)) && c->src) {
				/* reported even unasked: stop watching, the rest is read as the guest takes it */
				loop_remove(v->loop, c->src);
				c->src = NULL;
			}
		}
		if (c)
			vsock_conn_watch(c);
	}
	vsock_pump_rx(v);
}

void vsock_on_accept(void *opaque, uint32_t events)
{
	struct vsock *v = opaque;
	(void)events;
	int fd = accept4(v->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd >= 0) {
		struct conn *c = vsock_conn_new(v, fd, CONN_HANDSHAKE);
		if (!c)
			close(fd);
		else
			vsock_conn_watch(c);
	}
}

