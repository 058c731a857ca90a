/* ttRPC framing: header layout, incremental reading, oversized frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proto/ttrpc.h"
#include "proto/ttrpc.pb-c.h"

static void header_is_big_endian(void **state)
{
	(void)state;
	struct ttrpc_header h = { .length = 0x01020304, .stream_id = 0x0a0b0c0d, .type = 2, .flags = 0x80 };
	uint8_t raw[TTRPC_HEADER_SIZE];
	ttrpc_header_encode(&h, raw);
	const uint8_t expected[] = { 1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d, 2, 0x80 };
	assert_memory_equal(raw, expected, sizeof(expected));
	struct ttrpc_header back;
	ttrpc_header_decode(raw, &back);
	assert_int_equal(back.length, h.length);
	assert_int_equal(back.stream_id, h.stream_id);
	assert_int_equal(back.type, 2);
	assert_int_equal(back.flags, 0x80);
}

/* Feeds a buffer one byte at a time and returns the frames seen. */
static int feed_bytewise(struct ttrpc_reader *r, const uint8_t *data, size_t len, uint32_t *streams, int max,
			 int *oversized)
{
	int frames = 0;
	for (size_t i = 0; i < len; i++) {
		enum ttrpc_event ev;
		size_t used = ttrpc_reader_feed(r, data + i, 1, &ev);
		assert_int_equal(used, 1);
		if (ev == TTRPC_FRAME) {
			assert_true(frames < max);
			streams[frames++] = r->header.stream_id;
			ttrpc_reader_next(r);
		} else if (ev == TTRPC_OVERSIZED) {
			(*oversized)++;
		}
	}
	return frames;
}

static void request_roundtrip_split_reads(void **state)
{
	(void)state;
	struct buffer b = { 0 };
	const uint8_t payload[] = { 0x0a, 0x03, 'a', 'b', 'c' };
	assert_int_equal(ttrpc_append_request(&b, 7, "svc", "Method", payload, sizeof(payload)), 0);
	assert_int_equal(ttrpc_append_request(&b, 9, "svc", "Other", NULL, 0), 0);

	struct ttrpc_reader r;
	ttrpc_reader_init(&r, TTRPC_MAX_MESSAGE);
	enum ttrpc_event ev;
	size_t used = ttrpc_reader_feed(&r, buffer_head(&b), buffer_len(&b), &ev);
	assert_int_equal(ev, TTRPC_FRAME);
	assert_int_equal(r.header.stream_id, 7);
	assert_int_equal(r.header.type, TTRPC_TYPE_REQUEST);
	Ttrpc__Request *req = ttrpc__request__unpack(NULL, r.header.length, r.payload);
	assert_non_null(req);
	assert_string_equal(req->service, "svc");
	assert_string_equal(req->method, "Method");
	assert_int_equal(req->payload.len, sizeof(payload));
	assert_memory_equal(req->payload.data, payload, sizeof(payload));
	ttrpc__request__free_unpacked(req, NULL);
	ttrpc_reader_next(&r);
	size_t rest = buffer_len(&b) - used;
	used += ttrpc_reader_feed(&r, buffer_head(&b) + used, rest, &ev);
	assert_int_equal(ev, TTRPC_FRAME);
	assert_int_equal(r.header.stream_id, 9);
	assert_int_equal(used, buffer_len(&b));
	ttrpc_reader_next(&r);

	uint32_t streams[4];
	int oversized = 0;
	assert_int_equal(feed_bytewise(&r, buffer_head(&b), buffer_len(&b), streams, 4, &oversized), 2);
	assert_int_equal(streams[0], 7);
	assert_int_equal(streams[1], 9);
	assert_int_equal(oversized, 0);
	ttrpc_reader_reset(&r);
	buffer_free(&b);
}

static void oversized_frame_is_skipped_and_stream_stays_in_step(void **state)
{
	(void)state;
	struct ttrpc_reader r;
	ttrpc_reader_init(&r, 16);
	struct buffer b = { 0 };
	/* a 40-byte frame over a 16-byte limit, then a valid one */
	struct ttrpc_header big = { .length = 40, .stream_id = 3, .type = TTRPC_TYPE_REQUEST };
	uint8_t raw[TTRPC_HEADER_SIZE];
	ttrpc_header_encode(&big, raw);
	buffer_append(&b, raw, sizeof(raw));
	uint8_t junk[40];
	memset(junk, 0xff, sizeof(junk));
	buffer_append(&b, junk, sizeof(junk));
	assert_int_equal(ttrpc_append_response(&b, 5, 0, NULL, NULL, 0), 0);

	uint32_t streams[4];
	int oversized = 0;
	assert_int_equal(feed_bytewise(&r, buffer_head(&b), buffer_len(&b), streams, 4, &oversized), 1);
	assert_int_equal(oversized, 1);
	assert_int_equal(streams[0], 5);
	ttrpc_reader_reset(&r);
	buffer_free(&b);
}

static void response_carries_status(void **state)
{
	(void)state;
	struct buffer b = { 0 };
	assert_int_equal(ttrpc_append_response(&b, 11, TTRPC_NOT_FOUND, "no such thing", NULL, 0), 0);
	struct ttrpc_reader r;
	ttrpc_reader_init(&r, TTRPC_MAX_MESSAGE);
	enum ttrpc_event ev;
	ttrpc_reader_feed(&r, buffer_head(&b), buffer_len(&b), &ev);
	assert_int_equal(ev, TTRPC_FRAME);
	assert_int_equal(r.header.type, TTRPC_TYPE_RESPONSE);
	Ttrpc__Response *resp = ttrpc__response__unpack(NULL, r.header.length, r.payload);
	assert_non_null(resp);
	assert_non_null(resp->status);
	assert_int_equal(resp->status->code, TTRPC_NOT_FOUND);
	assert_string_equal(resp->status->message, "no such thing");
	ttrpc__response__free_unpacked(resp, NULL);
	ttrpc_reader_reset(&r);
	buffer_free(&b);
}

static void buffer_grows_and_consumes(void **state)
{
	(void)state;
	struct buffer b = { 0 };
	uint8_t chunk[1000];
	for (int i = 0; i < 100; i++) {
		memset(chunk, i, sizeof(chunk));
		assert_int_equal(buffer_append(&b, chunk, sizeof(chunk)), 0);
		buffer_consume(&b, 500);
	}
	assert_int_equal(buffer_len(&b), 100 * 500);
	assert_int_equal(buffer_head(&b)[0], 50);   /* exactly chunks 0-49 were consumed */
	buffer_consume(&b, buffer_len(&b));
	assert_int_equal(buffer_len(&b), 0);
	buffer_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(header_is_big_endian),
		cmocka_unit_test(request_roundtrip_split_reads),
		cmocka_unit_test(oversized_frame_is_skipped_and_stream_stays_in_step),
		cmocka_unit_test(response_carries_status),
		cmocka_unit_test(buffer_grows_and_consumes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
