/* Writes valid agent frames as a seed corpus for fuzz-agent-frames. usage: agent-seeds DIR */
#include <stdio.h>
#include <string.h>

#include "client/oci_default.h"
#include "common/buffer.h"
#include "common/fdio.h"
#include "proto/agent.pb-c.h"
#include "proto/ttrpc.h"

static int write_seed(const char *dir, int n, const char *method, const ProtobufCMessage *msg)
{
	uint8_t payload[65536];
	size_t len = protobuf_c_message_pack(msg, payload);
	struct buffer b = { 0 };
	uint8_t chunk = (uint8_t)n;   /* the first byte picks the read size */
	buffer_append(&b, &chunk, 1);
	ttrpc_append_request(&b, (uint32_t)(2 * n + 1), "capsa.agent.AgentService", method, payload, len);
	char path[512];
	snprintf(path, sizeof(path), "%s/seed-%02d", dir, n);
	int r = write_file(path, (const char *)buffer_head(&b), buffer_len(&b), 0644);
	buffer_free(&b);
	return r;
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	json_t *spec = oci_default_spec(NULL, true);
	char *spec_json = json_dumps(spec, JSON_COMPACT);
	json_decref(spec);
	Capsa__Agent__CheckRequest check = CAPSA__AGENT__CHECK_REQUEST__INIT;
	Capsa__Agent__CreateContainerRequest cc = CAPSA__AGENT__CREATE_CONTAINER_REQUEST__INIT;
	cc.container_id = "c0";
	cc.oci_spec.data = (uint8_t *)spec_json;
	cc.oci_spec.len = strlen(spec_json);
	cc.rootfs = "/run/capsa/shared";
	Capsa__Agent__ExecProcessRequest ep = CAPSA__AGENT__EXEC_PROCESS_REQUEST__INIT;
	ep.container_id = "c0";
	ep.exec_id = "e1";
	ep.process.data = (uint8_t *)"{\"args\":[\"sh\"],\"cwd\":\"/\",\"user\":{\"uid\":1}}";
	ep.process.len = strlen((char *)ep.process.data);
	Capsa__Agent__WriteStreamRequest ws = CAPSA__AGENT__WRITE_STREAM_REQUEST__INIT;
	ws.container_id = "c0";
	ws.data.data = (uint8_t *)"data";
	ws.data.len = 4;
	Capsa__Agent__SignalProcessRequest sp = CAPSA__AGENT__SIGNAL_PROCESS_REQUEST__INIT;
	sp.container_id = "c0";
	sp.signal = 9;
	int r = write_seed(argv[1], 1, "Check", &check.base) | write_seed(argv[1], 2, "CreateContainer", &cc.base) |
		write_seed(argv[1], 3, "ExecProcess", &ep.base) | write_seed(argv[1], 4, "WriteStdin", &ws.base) |
		write_seed(argv[1], 5, "SignalProcess", &sp.base);
	free(spec_json);
	return r ? 1 : 0;
}
