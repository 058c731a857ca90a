/*
 * ttRPC framing (containerd/ttrpc): a 10-byte header (payload length and
 * stream id, big endian; message type; flags) followed by a protobuf
 * Request or Response. Shared by the agent and the host-side client.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buffer.h"

#define TTRPC_HEADER_SIZE 10
#define TTRPC_MAX_MESSAGE (4u << 20)   /* ttrpc's own default limit */

enum ttrpc_type {
	TTRPC_TYPE_REQUEST = 1,
	TTRPC_TYPE_RESPONSE = 2,
	TTRPC_TYPE_DATA = 3,
};

/* gRPC status codes carried in Response.status */
enum ttrpc_code {
	TTRPC_OK = 0,
	TTRPC_CANCELLED = 1,
	TTRPC_UNKNOWN = 2,
	TTRPC_INVALID_ARGUMENT = 3,
	TTRPC_NOT_FOUND = 5,
	TTRPC_ALREADY_EXISTS = 6,
	TTRPC_RESOURCE_EXHAUSTED = 8,
	TTRPC_FAILED_PRECONDITION = 9,
	TTRPC_UNIMPLEMENTED = 12,
	TTRPC_INTERNAL = 13,
	TTRPC_UNAVAILABLE = 14,
};

struct ttrpc_header {
	uint32_t length;
	uint32_t stream_id;
	uint8_t type;
	uint8_t flags;
};

void ttrpc_header_encode(const struct ttrpc_header *h, uint8_t out[TTRPC_HEADER_SIZE]);
void ttrpc_header_decode(const uint8_t in[TTRPC_HEADER_SIZE], struct ttrpc_header *h);

enum ttrpc_event {
	TTRPC_NEED_MORE,   /* everything given was consumed, no frame complete */
	TTRPC_FRAME,       /* a whole frame is in reader.header / reader.payload */
	TTRPC_OVERSIZED,   /* a frame over max_message began; its payload is skipped */
};

/*
 * Incremental frame reader. An oversized frame is reported once and its
 * payload discarded as it arrives, so the stream stays in step and the
 * peer can be answered on that stream id.
 */
struct ttrpc_reader {
	uint32_t max_message;
	struct ttrpc_header header;
	uint8_t header_bytes[TTRPC_HEADER_SIZE];
	size_t header_have;
	uint8_t *payload;
	size_t payload_have;
	size_t skip_left;
};

void ttrpc_reader_init(struct ttrpc_reader *r, uint32_t max_message);
/* Consumes up to len bytes and stops after an event; returns bytes consumed. */
size_t ttrpc_reader_feed(struct ttrpc_reader *r, const uint8_t *data, size_t len, enum ttrpc_event *ret_event);
/* Releases the completed frame's payload and readies the reader for the next. */
void ttrpc_reader_next(struct ttrpc_reader *r);
void ttrpc_reader_reset(struct ttrpc_reader *r);

/* Appends a framed Request to out. */
int ttrpc_append_request(struct buffer *out, uint32_t stream_id, const char *service, const char *method,
			 const uint8_t *payload, size_t payload_len);
/* Appends a framed Response to out. message may be NULL for OK. */
int ttrpc_append_response(struct buffer *out, uint32_t stream_id, int code, const char *message,
			  const uint8_t *payload, size_t payload_len);
