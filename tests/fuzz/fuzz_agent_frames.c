/*
 * libFuzzer target: everything the agent decodes from the host before it
 * acts. Bytes go through the ttRPC frame reader in fuzzer-chosen chunks;
 * each frame's Request envelope, the method's message and, for
 * CreateContainer and ExecProcess, the OCI JSON inside are decoded.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "agent/oci.h"
#include "proto/agent.pb-c.h"
#include "proto/ttrpc.h"
#include "proto/ttrpc.pb-c.h"

static const struct {
	const char *method;
	const ProtobufCMessageDescriptor *desc;
} messages[] = {
	{ "Check", &capsa__agent__check_request__descriptor },
	{ "CreateSandbox", &capsa__agent__create_sandbox_request__descriptor },
	{ "CreateContainer", &capsa__agent__create_container_request__descriptor },
	{ "StartContainer", &capsa__agent__container_request__descriptor },
	{ "ExecProcess", &capsa__agent__exec_process_request__descriptor },
	{ "SignalProcess", &capsa__agent__signal_process_request__descriptor },
	{ "WaitProcess", &capsa__agent__process_request__descriptor },
	{ "WriteStdin", &capsa__agent__write_stream_request__descriptor },
	{ "ReadStdout", &capsa__agent__read_stream_request__descriptor },
	{ "TtyWinResize", &capsa__agent__tty_win_resize_request__descriptor },
};

static void decode_payload(const char *method, const uint8_t *data, size_t len)
{
	for (size_t i = 0; i < sizeof(messages) / sizeof(messages[0]); i++) {
		if (strcmp(method, messages[i].method))
			continue;
		ProtobufCMessage *m = protobuf_c_message_unpack(messages[i].desc, NULL, len, data);
		if (!m)
			return;
		if (messages[i].desc == &capsa__agent__create_container_request__descriptor) {
			Capsa__Agent__CreateContainerRequest *cc = (Capsa__Agent__CreateContainerRequest *)m;
			struct oci_spec spec;
			if (oci_spec_parse((const char *)cc->oci_spec.data, cc->oci_spec.len, &spec, NULL) == 0)
				oci_spec_free(&spec);
		} else if (messages[i].desc == &capsa__agent__exec_process_request__descriptor) {
			Capsa__Agent__ExecProcessRequest *ep = (Capsa__Agent__ExecProcessRequest *)m;
			struct oci_process p;
			if (oci_process_parse((const char *)ep->process.data, ep->process.len, &p, NULL) == 0)
				oci_process_free(&p);
		}
		protobuf_c_message_free_unpacked(m, NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	/* the first byte picks the read size, as a socket would split the stream */
	size_t chunk = (size_t)data[0] % 64 + 1;
	data++;
	size--;
	struct ttrpc_reader r;
	ttrpc_reader_init(&r, 1 << 16);
	size_t off = 0;
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;
		size_t used = 0;
		while (used < n) {
			enum ttrpc_event ev;
			used += ttrpc_reader_feed(&r, data + off + used, n - used, &ev);
			if (ev != TTRPC_FRAME)
				continue;
			Ttrpc__Request *req = ttrpc__request__unpack(NULL, r.header.length, r.payload);
			if (req) {
				decode_payload(req->method, req->payload.data, req->payload.len);
				ttrpc__request__free_unpacked(req, NULL);
			}
			/* the whole frame body may also be an OCI document */
			struct oci_spec spec;
			if (oci_spec_parse((const char *)r.payload, r.header.length, &spec, NULL) == 0)
				oci_spec_free(&spec);
			ttrpc_reader_next(&r);
		}
		off += n;
	}
	ttrpc_reader_reset(&r);
	return 0;
}
