#include "vmm/virtio/console.h"

#include <errno.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/unix_socket.h"

enum { Q_RX, Q_TX, Q_CTRL_RX, Q_CTRL_TX, NUM_QUEUES };
#define CTRL_MAX 8
#define CTRL_MSG_MAX 64

struct ctrl_msg {
	uint32_t len;
	uint8_t data[CTRL_MSG_MAX];
};

struct console {
	struct virtio_mmio_dev *t;
	struct loop *loop;
	char *path;
	int listen_fd, conn_fd;
	struct loop_source *listen_src, *conn_src;
	struct virtio_console_config config;
	bool port_ready, guest_open;
	struct ctrl_msg ctrl[CTRL_MAX];
	unsigned ctrl_head, ctrl_count;
	uint8_t *pending;           /* guest output the host socket has not taken yet */
	size_t pending_len, pending_off;
};

static struct virtq *queue(struct console *c, unsigned q)
{
	return &c->t->queues[q];
}

static void queue_ctrl(struct console *c, uint16_t event, uint16_t value, const char *text)
{
	if (c->ctrl_count >= CTRL_MAX)
		return;   /* only a driver that never reads its control queue gets here */
	struct ctrl_msg *m = &c->ctrl[(c->ctrl_head + c->ctrl_count++) % CTRL_MAX];
	struct virtio_console_control hdr = { .id = 0, .event = event, .value = value };
	memcpy(m->data, &hdr, sizeof(hdr));
	m->len = sizeof(hdr);
	if (text) {
		size_t n = strlen(text);
		memcpy(m->data + sizeof(hdr), text, n);
		m->len += (uint32_t)n;
	}
}

static void deliver_ctrl(struct console *c)
{
	bool used = false;
	while (c->ctrl_count && virtio_mmio_running(c->t)) {
		struct virtq_chain chain;
		int r = virtio_mmio_pop(c->t, Q_CTRL_RX, "control receive queue", &chain);
		if (r < 0)
			return;
		if (r == 0)
			break;
		struct ctrl_msg *m = &c->ctrl[c->ctrl_head];
		if (chain.in_len < m->len)
			return virtio_mmio_fault(c->t, "control receive buffer of %llu bytes is too small",
						 (unsigned long long)chain.in_len);
		virtq_chain_write(&chain, 0, m->data, m->len);
		virtq_push(queue(c, Q_CTRL_RX), chain.head, m->len);
		c->ctrl_head = (c->ctrl_head + 1) % CTRL_MAX;
		c->ctrl_count--;
		used = true;
	}
	if (used)
		virtio_mmio_signal_used(c->t, Q_CTRL_RX);
}

static void update_watch(struct console *c)
{
	if (c->listen_src)
		loop_modify(c->loop, c->listen_src, c->conn_fd < 0 ? EPOLLIN : 0);
	if (c->conn_src)
		loop_modify(c->loop, c->conn_src,
			    (c->guest_open && virtio_mmio_running(c->t) && virtq_has_avail(queue(c, Q_RX)) ? EPOLLIN : 0) |
			    (c->pending_len ? EPOLLOUT : 0));
}

static void host_disconnect(struct console *c)
{
	loop_remove(c->loop, c->conn_src);
	c->conn_src = NULL;
	close(c->conn_fd);
	c->conn_fd = -1;
	free(c->pending);
	c->pending = NULL;
	c->pending_len = c->pending_off = 0;
	if (c->port_ready) {
		queue_ctrl(c, VIRTIO_CONSOLE_PORT_OPEN, 0, NULL);
		deliver_ctrl(c);
	}
}

/* Host to guest, while the guest has the port open and buffers to fill. */
static void pump_rx(struct console *c)
{
	bool used = false;
	while (c->conn_fd >= 0 && c->guest_open && virtio_mmio_running(c->t)) {
		struct virtq_chain chain;
		if (virtio_mmio_pop(c->t, Q_RX, "receive queue", &chain) <= 0)
			break;
		ssize_t n = chain.n_in ? readv(c->conn_fd, chain.iov + chain.n_out, (int)chain.n_in) : 0;
		if (n > 0) {
			virtq_push(queue(c, Q_RX), chain.head, (uint32_t)n);
			used = true;
			continue;
		}
		virtq_unpop(queue(c, Q_RX));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n == 0 && !chain.n_in) {
			virtio_mmio_fault(c->t, "receive buffer with no writable part");
			break;
		}
		host_disconnect(c);
	}
	if (used)
		virtio_mmio_signal_used(c->t, Q_RX);
}

static bool flush_pending(struct console *c)
{
	while (c->pending_off < c->pending_len) {
		ssize_t n = send(c->conn_fd, c->pending + c->pending_off, c->pending_len - c->pending_off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return false;
		if (n < 0) {
			host_disconnect(c);
			return true;
		}
		c->pending_off += (size_t)n;
	}
	free(c->pending);
	c->pending = NULL;
	c->pending_len = c->pending_off = 0;
	return true;
}

/* Guest to host; a host that does not read holds the guest's writes back. */
static void process_tx(struct console *c)
{
	bool used = false;
	while (!c->pending_len && virtio_mmio_running(c->t)) {
		struct virtq_chain chain;
		if (virtio_mmio_pop(c->t, Q_TX, "transmit queue", &chain) <= 0)
			break;
		if (c->conn_fd >= 0 && chain.out_len) {
			struct msghdr msg = { .msg_iov = chain.iov, .msg_iovlen = chain.n_out };
			ssize_t n = sendmsg(c->conn_fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				host_disconnect(c);
			} else if ((uint64_t)(n < 0 ? 0 : n) < chain.out_len) {
				size_t done = n < 0 ? 0 : (size_t)n;
				c->pending = malloc(chain.out_len - done);
				if (c->pending) {
					c->pending_len = chain.out_len - done;
					virtq_chain_read(&chain, done, c->pending, c->pending_len);
				}
			}
		}
		/* with no host connected the bytes are dropped, as on a serial line with nobody listening */
		virtq_push(queue(c, Q_TX), chain.head, 0);
		used = true;
	}
	if (used)
		virtio_mmio_signal_used(c->t, Q_TX);
}

static void process_ctrl_tx(struct console *c)
{
	bool used = false;
	while (virtio_mmio_running(c->t)) {
		struct virtq_chain chain;
		int r = virtio_mmio_pop(c->t, Q_CTRL_TX, "control transmit queue", &chain);
		if (r < 0)
			return;
		if (r == 0)
			break;
		struct virtio_console_control m;
		if (virtq_chain_read(&chain, 0, &m, sizeof(m)) < sizeof(m))
			return virtio_mmio_fault(c->t, "control message of %llu bytes is too short",
						 (unsigned long long)chain.out_len);
		virtq_push(queue(c, Q_CTRL_TX), chain.head, 0);
		used = true;
		if (m.event == VIRTIO_CONSOLE_DEVICE_READY && m.value == 1) {
			queue_ctrl(c, VIRTIO_CONSOLE_PORT_ADD, 0, NULL);
		} else if (m.id != 0) {
			virtio_mmio_log(c->t, "control message %u for port %u, which does not exist", m.event, m.id);
		} else if (m.event == VIRTIO_CONSOLE_PORT_READY && m.value == 1) {
			c->port_ready = true;
			queue_ctrl(c, VIRTIO_CONSOLE_PORT_NAME, 0, VIRTIO_CONSOLE_AGENT_PORT);
			if (c->conn_fd >= 0)
				queue_ctrl(c, VIRTIO_CONSOLE_PORT_OPEN, 1, NULL);
		} else if (m.event == VIRTIO_CONSOLE_PORT_OPEN) {
			c->guest_open = m.value != 0;
		}
	}
	if (used)
		virtio_mmio_signal_used(c->t, Q_CTRL_TX);
	deliver_ctrl(c);
	pump_rx(c);
}

/* Loop callbacks run with the transport's lock held (loop_add). */
static void on_conn(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	if ((events & EPOLLOUT) && c->pending_len && flush_pending(c))
		process_tx(c);
	if (c->conn_fd >= 0 && (events & EPOLLIN))
		pump_rx(c);
	if (c->conn_fd >= 0 && (events & (EPOLLHUP | EPOLLERR)) && c->conn_src) {
		/* epoll reports a hang-up even unasked: stop watching; what is left is read when the guest can take it */
		loop_remove(c->loop, c->conn_src);
		c->conn_src = NULL;
		int unread = 0;
		if (!c->guest_open || ioctl(c->conn_fd, FIONREAD, &unread) < 0 || unread == 0)
			host_disconnect(c);
	}
	if (c->conn_fd >= 0)
		update_watch(c);
}

static void on_accept(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	(void)events;
	if (c->conn_fd < 0) {
		int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd >= 0) {
			c->conn_fd = fd;
			if (loop_add(c->loop, fd, 0, on_conn, c, &c->t->lock, &c->conn_src) < 0) {
				close(fd);
				c->conn_fd = -1;
			} else if (c->port_ready) {
				queue_ctrl(c, VIRTIO_CONSOLE_PORT_OPEN, 1, NULL);
				deliver_ctrl(c);
			}
		}
	}
	update_watch(c);
}

static void console_notify(void *dev, unsigned q)
{
	struct console *c = dev;
	switch (q) {
	case Q_RX: pump_rx(c); break;
	case Q_TX: process_tx(c); break;
	case Q_CTRL_RX: deliver_ctrl(c); break;
	case Q_CTRL_TX: process_ctrl_tx(c); break;
	}
	update_watch(c);
}

static void console_reset(void *dev)
{
	struct console *c = dev;
	c->port_ready = c->guest_open = false;
	c->ctrl_count = c->ctrl_head = 0;
	update_watch(c);
}

static void console_activate(void *dev)
{
	console_reset(dev);
}

static const void *console_config(void *dev)
{
	return &((struct console *)dev)->config;
}

const struct virtio_device_ops virtio_console_ops = {
	.name = "virtio-console",
	.device_id = VIRTIO_ID_CONSOLE,
	.num_queues = NUM_QUEUES,
	.queue_size_max = 256,
	.features = 1ULL << VIRTIO_CONSOLE_F_MULTIPORT,
	.config_size = sizeof(struct virtio_console_config),
	.config = console_config,
	.activate = console_activate,
	.queue_notify = console_notify,
	.reset = console_reset,
};

int virtio_console_new(struct virtio_mmio_dev *transport, struct loop *loop, const struct vmm_config *cfg, void **ret,
		       struct capsa_error *err)
{
	struct console *c = calloc(1, sizeof(*c));
	if (!c)
		return capsa_error_set(err, -ENOMEM, "out of memory");
	c->t = transport;
	c->loop = loop;
	c->conn_fd = -1;
	c->config.max_nr_ports = 1;
	c->listen_fd = unix_listen(cfg->agent_socket, 4, err);
	if (c->listen_fd < 0) {
		int r = c->listen_fd;
		free(c);
		return r;
	}
	c->path = strdup(cfg->agent_socket);
	if (!c->path || loop_add(loop, c->listen_fd, EPOLLIN, on_accept, c, &transport->lock, &c->listen_src) < 0) {
		virtio_console_free(c);
		return capsa_error_set(err, -ENOMEM, "setting up the agent socket");
	}
	*ret = c;
	return 0;
}

void virtio_console_free(void *dev)
{
	struct console *c = dev;
	if (!c)
		return;
	loop_remove(c->loop, c->listen_src);
	loop_remove(c->loop, c->conn_src);
	if (c->conn_fd >= 0)
		close(c->conn_fd);
	close(c->listen_fd);
	if (c->path)
		unlink(c->path);
	free(c->path);
	free(c->pending);
	free(c);
}
