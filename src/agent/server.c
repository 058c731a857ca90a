#include "agent/server.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/log.h"
#include "agent/loop.h"
#include "common/buffer.h"
#include "proto/ttrpc.pb-c.h"

#define MAX_CONNECTIONS 64
#define READ_CHUNK 65536

struct conn {
	struct watch w;
	unsigned id;          /* changes on every reset, so parked calls of an old session drop */
	bool is_port;
	bool host_attached;   /* port only */
	struct ttrpc_reader reader;
	struct buffer out;
};

static struct conn *conns[MAX_CONNECTIONS];
static unsigned next_conn_id = 1;
static bool channel_lost;

static struct conn *conn_by_id(unsigned id)
{
	for (size_t i = 0; i < MAX_CONNECTIONS; i++)
		if (conns[i] && conns[i]->id == id)
			return conns[i];
	return NULL;
}

bool server_call_alive(struct call call)
{
	return conn_by_id(call.conn_id) != NULL;
}

unsigned server_connections(void)
{
	unsigned n = 0;
	for (size_t i = 0; i < MAX_CONNECTIONS; i++)
		if (conns[i] && (!conns[i]->is_port || conns[i]->host_attached))
			n++;
	return n;
}

bool server_output_pending(void)
{
	for (size_t i = 0; i < MAX_CONNECTIONS; i++)
		if (conns[i] && buffer_len(&conns[i]->out) > 0)
			return true;
	return false;
}

bool server_channel_lost(void)
{
	return channel_lost;
}

static void conn_free(struct conn *c)
{
	for (size_t i = 0; i < MAX_CONNECTIONS; i++)
		if (conns[i] == c)
			conns[i] = NULL;
	loop_set(&c->w, 0);
	close(c->w.fd);
	ttrpc_reader_reset(&c->reader);
	buffer_free(&c->out);
	free(c);
}

/* A hung-up port keeps its fd; whatever was half-read or unsent belonged to the old host session. */
static void port_reset(struct conn *c)
{
	if (c->host_attached)
		log_debug("channel: host detached");
	c->host_attached = false;
	c->id = next_conn_id++;
	ttrpc_reader_reset(&c->reader);
	buffer_clear(&c->out);
}

static void conn_drop(struct conn *c)
{
	if (c->is_port)
		port_reset(c);
	else
		conn_free(c);
}

/* Returns false when the connection was dropped. */
static bool conn_flush(struct conn *c)
{
	while (buffer_len(&c->out) > 0) {
		ssize_t n = write(c->w.fd, buffer_head(&c->out), buffer_len(&c->out));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			log_debug("channel: write failed: %s", strerror(errno));
			conn_drop(c);
			return false;
		}
		buffer_consume(&c->out, (size_t)n);
	}
	/* the port is edge-triggered and always watched for output; sockets only while something is queued */
	if (!c->is_port)
		loop_set(&c->w, EPOLLIN | (buffer_len(&c->out) ? EPOLLOUT : 0));
	return true;
}

static void reply_raw(struct call call, int code, const char *message, const uint8_t *payload, size_t len)
{
	struct conn *c = conn_by_id(call.conn_id);
	if (!c)
		return;
	int r = ttrpc_append_response(&c->out, call.stream_id, code, message, payload, len);
	if (r < 0) {
		log_warn("reply on stream %u: %s", call.stream_id, strerror(-r));
		ttrpc_append_response(&c->out, call.stream_id, TTRPC_RESOURCE_EXHAUSTED, "reply too large", NULL, 0);
	}
	conn_flush(c);
}

void server_reply(struct call call, const ProtobufCMessage *resp)
{
	if (!resp) {
		reply_raw(call, TTRPC_OK, NULL, NULL, 0);
		return;
	}
	size_t len = protobuf_c_message_get_packed_size(resp);
	uint8_t *buf = malloc(len + 1);
	if (!buf) {
		reply_raw(call, TTRPC_RESOURCE_EXHAUSTED, "out of memory", NULL, 0);
		return;
	}
	protobuf_c_message_pack(resp, buf);
	reply_raw(call, TTRPC_OK, NULL, buf, len);
	free(buf);
}

void server_reply_error(struct call call, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_debug("stream %u: error %d: %s", call.stream_id, code, msg);
	reply_raw(call, code, msg, NULL, 0);
}

static void dispatch(struct conn *c)
{
	struct call call = { .conn_id = c->id, .stream_id = c->reader.header.stream_id };
	if (c->reader.header.type != TTRPC_TYPE_REQUEST) {
		server_reply_error(call, TTRPC_INVALID_ARGUMENT, "frame type %u is not a request", c->reader.header.type);
		return;
	}
	Ttrpc__Request *req = ttrpc__request__unpack(NULL, c->reader.header.length, c->reader.payload);
	if (!req) {
		server_reply_error(call, TTRPC_INVALID_ARGUMENT, "malformed request message");
		return;
	}
	if (strcmp(req->service, AGENT_SERVICE)) {
		server_reply_error(call, TTRPC_UNIMPLEMENTED, "unknown service '%.64s'", req->service);
	} else {
		const struct method *m = NULL;
		for (size_t i = 0; i < agent_methods_count; i++)
			if (!strcmp(agent_methods[i].name, req->method))
				m = &agent_methods[i];
		if (!m) {
			server_reply_error(call, TTRPC_UNIMPLEMENTED, "unknown method '%.64s'", req->method);
		} else {
			log_debug("stream %u: %s", call.stream_id, m->name);
			m->fn(call, req->payload.data, req->payload.len);
		}
	}
	ttrpc__request__free_unpacked(req, NULL);
}

static void conn_readable(struct conn *c)
{
	static uint8_t chunk[READ_CHUNK];
	for (;;) {
		ssize_t n = read(c->w.fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			if (c->is_port && (errno == ENODEV || errno == ENXIO)) {
				log_warn("channel: port device is gone");
				channel_lost = true;
			}
			conn_drop(c);
			return;
		}
		if (n == 0) {
			/* a port reads 0 while no host is attached; edge-triggered epoll wakes us on attach */
			conn_drop(c);
			return;
		}
		if (c->is_port && !c->host_attached) {
			c->host_attached = true;
			log_debug("channel: host attached");
		}
		unsigned id = c->id;
		size_t off = 0;
		while (off < (size_t)n) {
			enum ttrpc_event ev;
			off += ttrpc_reader_feed(&c->reader, chunk + off, (size_t)n - off, &ev);
			if (ev == TTRPC_OVERSIZED) {
				struct call call = { .conn_id = c->id, .stream_id = c->reader.header.stream_id };
				server_reply_error(call, TTRPC_RESOURCE_EXHAUSTED, "message of %u bytes exceeds the limit of %u",
						   c->reader.header.length, c->reader.max_message);
			} else if (ev == TTRPC_FRAME) {
				dispatch(c);
				ttrpc_reader_next(&c->reader);
			}
			/* a handler may have dropped this connection */
			if (!conn_by_id(id))
				return;
		}
	}
}

static void conn_event(struct watch *w, uint32_t events)
{
	struct conn *c = container_of(w, struct conn, w);
	unsigned id = c->id;
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		conn_readable(c);
	c = conn_by_id(id);
	if (c && (events & EPOLLOUT))
		conn_flush(c);
}

static int conn_add(int fd, bool is_port)
{
	size_t slot = MAX_CONNECTIONS;
	for (size_t i = 0; i < MAX_CONNECTIONS && slot == MAX_CONNECTIONS; i++)
		if (!conns[i])
			slot = i;
	if (slot == MAX_CONNECTIONS)
		return -EMFILE;
	struct conn *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->w = (struct watch){ .fd = fd, .fn = conn_event };
	c->id = next_conn_id++;
	c->is_port = is_port;
	ttrpc_reader_init(&c->reader, TTRPC_MAX_MESSAGE);
	int r = loop_set(&c->w, is_port ? EPOLLIN | EPOLLOUT | EPOLLET : EPOLLIN);
	if (r < 0) {
		free(c);
		return r;
	}
	conns[slot] = c;
	if (is_port)
		conn_readable(c);   /* edge-triggered: take what is already there */
	return 0;
}

int server_add_port(int fd)
{
	return conn_add(fd, true);
}

static struct watch listener;

static void listener_event(struct watch *w, uint32_t events)
{
	(void)events;
	int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	int r = conn_add(fd, false);
	if (r < 0) {
		log_warn("refusing connection: %s", strerror(-r));
		close(fd);
	}
}

int server_add_listener(int fd)
{
	listener = (struct watch){ .fd = fd, .fn = listener_event };
	return loop_set(&listener, EPOLLIN);
}
