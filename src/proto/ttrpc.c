#include "proto/ttrpc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/ttrpc.pb-c.h"

void ttrpc_header_encode(const struct ttrpc_header *h, uint8_t out[TTRPC_HEADER_SIZE])
{
	out[0] = (uint8_t)(h->length >> 24);
	out[1] = (uint8_t)(h->length >> 16);
	out[2] = (uint8_t)(h->length >> 8);
	out[3] = (uint8_t)h->length;
	out[4] = (uint8_t)(h->stream_id >> 24);
	out[5] = (uint8_t)(h->stream_id >> 16);
	out[6] = (uint8_t)(h->stream_id >> 8);
	out[7] = (uint8_t)h->stream_id;
	out[8] = h->type;
	out[9] = h->flags;
}

void ttrpc_header_decode(const uint8_t in[TTRPC_HEADER_SIZE], struct ttrpc_header *h)
{
	h->length = (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
	h->stream_id = (uint32_t)in[4] << 24 | (uint32_t)in[5] << 16 | (uint32_t)in[6] << 8 | in[7];
	h->type = in[8];
	h->flags = in[9];
}

void ttrpc_reader_init(struct ttrpc_reader *r, uint32_t max_message)
{
	*r = (struct ttrpc_reader){ .max_message = max_message };
}

void ttrpc_reader_next(struct ttrpc_reader *r)
{
	free(r->payload);
	r->payload = NULL;
	r->payload_have = 0;
	r->header_have = 0;
}

void ttrpc_reader_reset(struct ttrpc_reader *r)
{
	ttrpc_reader_next(r);
	r->skip_left = 0;
}

size_t ttrpc_reader_feed(struct ttrpc_reader *r, const uint8_t *data, size_t len, enum ttrpc_event *ret_event)
{
	size_t used = 0;

	*ret_event = TTRPC_NEED_MORE;
	if (r->skip_left) {
		size_t n = len < r->skip_left ? len : r->skip_left;
		r->skip_left -= n;
		used += n;
		if (r->skip_left)
			return used;
	}
	if (r->header_have < TTRPC_HEADER_SIZE) {
		size_t n = TTRPC_HEADER_SIZE - r->header_have;
		if (n > len - used)
			n = len - used;
		memcpy(r->header_bytes + r->header_have, data + used, n);
		r->header_have += n;
		used += n;
		if (r->header_have < TTRPC_HEADER_SIZE)
			return used;
		ttrpc_header_decode(r->header_bytes, &r->header);
		if (r->header.length > r->max_message) {
			r->skip_left = r->header.length;
			r->header_have = 0;
			*ret_event = TTRPC_OVERSIZED;
			return used;
		}
		/* +1 so a zero-length payload still has a distinct allocation */
		r->payload = malloc((size_t)r->header.length + 1);
		if (!r->payload) {
			/* treat as oversized: skip it rather than lose sync */
			r->skip_left = r->header.length;
			r->header_have = 0;
			*ret_event = TTRPC_OVERSIZED;
			return used;
		}
		r->payload_have = 0;
	}
	size_t want = r->header.length - r->payload_have;
	size_t n = want < len - used ? want : len - used;
	memcpy(r->payload + r->payload_have, data + used, n);
	r->payload_have += n;
	used += n;
	if (r->payload_have == r->header.length)
		*ret_event = TTRPC_FRAME;
	return used;
}

static int append_frame(struct buffer *out, uint32_t stream_id, uint8_t type, const ProtobufCMessage *msg)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	if (len > TTRPC_MAX_MESSAGE)
		return -EMSGSIZE;
	struct ttrpc_header h = { .length = (uint32_t)len, .stream_id = stream_id, .type = type };
	uint8_t *p = buffer_reserve(out, TTRPC_HEADER_SIZE + len);
	if (!p)
		return -ENOMEM;
	ttrpc_header_encode(&h, p);
	protobuf_c_message_pack(msg, p + TTRPC_HEADER_SIZE);
	buffer_commit(out, TTRPC_HEADER_SIZE + len);
	return 0;
}

int ttrpc_append_request(struct buffer *out, uint32_t stream_id, const char *service, const char *method,
			 const uint8_t *payload, size_t payload_len)
{
	Ttrpc__Request req = TTRPC__REQUEST__INIT;
	req.service = (char *)service;
	req.method = (char *)method;
	req.payload.data = (uint8_t *)payload;
	req.payload.len = payload_len;
	return append_frame(out, stream_id, TTRPC_TYPE_REQUEST, &req.base);
}

int ttrpc_append_response(struct buffer *out, uint32_t stream_id, int code, const char *message,
			  const uint8_t *payload, size_t payload_len)
{
	Ttrpc__Response resp = TTRPC__RESPONSE__INIT;
	Ttrpc__Status status = TTRPC__STATUS__INIT;
	status.code = code;
	status.message = (char *)(message ? message : "");
	resp.status = &status;
	resp.payload.data = (uint8_t *)payload;
	resp.payload.len = payload_len;
	return append_frame(out, stream_id, TTRPC_TYPE_RESPONSE, &resp.base);
}
