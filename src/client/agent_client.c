#include "client/agent_client.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buffer.h"
#include "common/cleanup.h"
#include "common/fdio.h"
#include "proto/ttrpc.h"
#include "proto/ttrpc.pb-c.h"

#define AGENT_SERVICE "capsa.agent.AgentService"

struct response {
	struct response *next;
	uint32_t stream_id;
	Ttrpc__Response *msg;
};

struct agent_client {
	int fd;
	uint32_t next_stream;
	struct ttrpc_reader reader;
	struct response *responses;
	bool closed;
};

int agent_client_new(int fd, struct agent_client **ret, struct capsa_error *err)
{
	struct agent_client *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return capsa_error_set(err, -ENOMEM, "out of memory");
	}
	c->fd = fd;
	c->next_stream = 1;   /* ttrpc clients use odd stream ids */
	ttrpc_reader_init(&c->reader, TTRPC_MAX_MESSAGE);
	*ret = c;
	return 0;
}

void agent_client_free(struct agent_client *c)
{
	if (!c)
		return;
	while (c->responses) {
		struct response *r = c->responses;
		c->responses = r->next;
		ttrpc__response__free_unpacked(r->msg, NULL);
		free(r);
	}
	ttrpc_reader_reset(&c->reader);
	close(c->fd);
	free(c);
}

int agent_client_fd(const struct agent_client *c)
{
	return c->fd;
}

int agent_client_send_raw(struct agent_client *c, const void *data, size_t len, struct capsa_error *err)
{
	int r = send_all(c->fd, data, len);
	if (r < 0)
		return capsa_error_errno(err, r, "writing to the agent");
	return 0;
}

int agent_client_send(struct agent_client *c, const char *method, const ProtobufCMessage *req,
		      uint32_t *ret_stream, struct capsa_error *err)
{
	if (c->closed)
		return capsa_error_set(err, -EPIPE, "the agent connection is closed");
	size_t len = protobuf_c_message_get_packed_size(req);
	_cleanup_free_ uint8_t *payload = malloc(len + 1);
	if (!payload)
		return capsa_error_set(err, -ENOMEM, "out of memory");
	protobuf_c_message_pack(req, payload);
	struct buffer out = { 0 };
	uint32_t stream = c->next_stream;
	int r = ttrpc_append_request(&out, stream, AGENT_SERVICE, method, payload, len);
	if (r < 0) {
		buffer_free(&out);
		return capsa_error_errno(err, r, "encoding %s request", method);
	}
	r = send_all(c->fd, buffer_head(&out), buffer_len(&out));
	buffer_free(&out);
	if (r < 0)
		return capsa_error_errno(err, r, "sending %s to the agent", method);
	c->next_stream += 2;
	*ret_stream = stream;
	return 0;
}

static int store_frame(struct agent_client *c)
{
	if (c->reader.header.type != TTRPC_TYPE_RESPONSE)
		return 0;   /* nothing else is expected from the agent; skip it */
	Ttrpc__Response *msg = ttrpc__response__unpack(NULL, c->reader.header.length, c->reader.payload);
	if (!msg)
		return -EBADMSG;
	struct response *r = calloc(1, sizeof(*r));
	if (!r) {
		ttrpc__response__free_unpacked(msg, NULL);
		return -ENOMEM;
	}
	r->stream_id = c->reader.header.stream_id;
	r->msg = msg;
	r->next = c->responses;
	c->responses = r;
	return 0;
}

int agent_client_pump(struct agent_client *c, int timeout_ms, struct capsa_error *err)
{
	uint8_t buf[65536];
	if (c->closed)
		return capsa_error_set(err, -EPIPE, "the agent closed the connection");
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	int n = poll(&pfd, 1, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : capsa_error_errno(err, -errno, "poll on the agent connection");
	if (n == 0)
		return 0;
	ssize_t got = read(c->fd, buf, sizeof(buf));
	if (got < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return 0;
		return capsa_error_errno(err, -errno, "reading from the agent");
	}
	if (got == 0) {
		c->closed = true;
		return capsa_error_set(err, -EPIPE, "the agent closed the connection");
	}
	size_t off = 0;
	while (off < (size_t)got) {
		enum ttrpc_event ev;
		off += ttrpc_reader_feed(&c->reader, buf + off, (size_t)got - off, &ev);
		if (ev == TTRPC_OVERSIZED)
			return capsa_error_set(err, -EMSGSIZE, "the agent sent a %u-byte message, over the limit",
					       c->reader.header.length);
		if (ev == TTRPC_FRAME) {
			int r = store_frame(c);
			ttrpc_reader_next(&c->reader);
			if (r < 0)
				return capsa_error_errno(err, r, "decoding a response from the agent");
		}
	}
	return 1;
}

static struct response *take_response(struct agent_client *c, uint32_t stream)
{
	for (struct response **pp = &c->responses; *pp; pp = &(*pp)->next)
		if ((*pp)->stream_id == stream) {
			struct response *r = *pp;
			*pp = r->next;
			return r;
		}
	return NULL;
}

bool agent_client_has_response(struct agent_client *c, uint32_t stream)
{
	for (struct response *r = c->responses; r; r = r->next)
		if (r->stream_id == stream)
			return true;
	return false;
}

static int errno_for_code(int code)
{
	switch (code) {
	case TTRPC_NOT_FOUND:
		return -ENOENT;
	case TTRPC_ALREADY_EXISTS:
		return -EEXIST;
	case TTRPC_INVALID_ARGUMENT:
		return -EINVAL;
	case TTRPC_UNIMPLEMENTED:
		return -ENOSYS;
	case TTRPC_RESOURCE_EXHAUSTED:
		return -EMSGSIZE;
	case TTRPC_FAILED_PRECONDITION:
		return -EBUSY;
	default:
		return -EIO;
	}
}

int agent_client_receive(struct agent_client *c, uint32_t stream, const ProtobufCMessageDescriptor *desc,
			 ProtobufCMessage **ret, int timeout_ms, struct capsa_error *err)
{
	long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	struct response *resp;
	while (!(resp = take_response(c, stream))) {
		int left = deadline < 0 ? -1 : (int)(deadline - now_ms());
		if (deadline >= 0 && left <= 0)
			return capsa_error_set(err, -ETIMEDOUT, "no answer from the agent within %d ms", timeout_ms);
		int r = agent_client_pump(c, left, err);
		if (r < 0)
			return r;
	}
	int r = 0;
	Ttrpc__Status *st = resp->msg->status;
	if (st && st->code != TTRPC_OK) {
		r = capsa_error_set(err, errno_for_code(st->code), "agent: %s", st->message ? st->message : "(no message)");
	} else if (desc && ret) {
		*ret = protobuf_c_message_unpack(desc, NULL, resp->msg->payload.len, resp->msg->payload.data);
		if (!*ret)
			r = capsa_error_set(err, -EBADMSG, "agent: malformed %s", desc->name);
	}
	ttrpc__response__free_unpacked(resp->msg, NULL);
	free(resp);
	return r;
}

int agent_client_call(struct agent_client *c, const char *method, const ProtobufCMessage *req,
		      const ProtobufCMessageDescriptor *desc, ProtobufCMessage **ret, int timeout_ms,
		      struct capsa_error *err)
{
	uint32_t stream;
	int r = agent_client_send(c, method, req, &stream, err);
	if (r < 0)
		return r;
	r = agent_client_receive(c, stream, desc, ret, timeout_ms, err);
	if (r < 0)
		capsa_error_prefix(err, "%s", method);
	return r;
}
