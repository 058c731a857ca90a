#include "client/agent_api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/agent.pb-c.h"

#define CALL(c, method, req, desc, ret, err) \
	agent_client_call(c, method, &(req).base, desc, (ProtobufCMessage **)(ret), AGENT_CALL_TIMEOUT_MS, err)

int agent_check(struct agent_client *c, int timeout_ms, struct capsa_error *err)
{
	Capsa__Agent__CheckRequest req = CAPSA__AGENT__CHECK_REQUEST__INIT;
	Capsa__Agent__HealthCheckResponse *resp = NULL;
	int r = agent_client_call(c, "Check", &req.base, &capsa__agent__health_check_response__descriptor,
				  (ProtobufCMessage **)&resp, timeout_ms, err);
	if (r < 0)
		return r;
	bool serving = resp->status == CAPSA__AGENT__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
	capsa__agent__health_check_response__free_unpacked(resp, NULL);
	return serving ? 0 : capsa_error_set(err, -EAGAIN, "Check: the agent is not serving");
}

int agent_version(struct agent_client *c, char *agent_version, size_t av_len, char *kernel_release, size_t kr_len,
		  struct capsa_error *err)
{
	Capsa__Agent__CheckRequest req = CAPSA__AGENT__CHECK_REQUEST__INIT;
	Capsa__Agent__VersionResponse *resp = NULL;
	int r = CALL(c, "Version", req, &capsa__agent__version_response__descriptor, &resp, err);
	if (r < 0)
		return r;
	snprintf(agent_version, av_len, "%s", resp->agent_version);
	snprintf(kernel_release, kr_len, "%s", resp->kernel_release);
	capsa__agent__version_response__free_unpacked(resp, NULL);
	return 0;
}

int agent_create_sandbox(struct agent_client *c, const char *sandbox_id, const char *hostname, const char *fs_type,
			 const char *fs_tag, const char *mount_point, struct capsa_error *err)
{
	Capsa__Agent__CreateSandboxRequest req = CAPSA__AGENT__CREATE_SANDBOX_REQUEST__INIT;
	Capsa__Agent__SharedFilesystem fs = CAPSA__AGENT__SHARED_FILESYSTEM__INIT;
	Capsa__Agent__SharedFilesystem *fs_list[1] = { &fs };
	req.sandbox_id = (char *)sandbox_id;
	req.hostname = (char *)(hostname ? hostname : "");
	if (fs_type) {
		fs.type = (char *)fs_type;
		fs.tag = (char *)fs_tag;
		fs.mount_point = (char *)mount_point;
		req.n_shared_fs = 1;
		req.shared_fs = fs_list;
	}
	return CALL(c, "CreateSandbox", req, NULL, NULL, err);
}

int agent_destroy_sandbox(struct agent_client *c, struct capsa_error *err)
{
	Capsa__Agent__Empty req = CAPSA__AGENT__EMPTY__INIT;
	return CALL(c, "DestroySandbox", req, NULL, NULL, err);
}

int agent_create_container(struct agent_client *c, const char *id, const char *spec_json, size_t spec_len,
			   const char *guest_rootfs, struct capsa_error *err)
{
	Capsa__Agent__CreateContainerRequest req = CAPSA__AGENT__CREATE_CONTAINER_REQUEST__INIT;
	req.container_id = (char *)id;
	req.oci_spec.data = (uint8_t *)spec_json;
	req.oci_spec.len = spec_len;
	req.rootfs = (char *)guest_rootfs;
	return CALL(c, "CreateContainer", req, NULL, NULL, err);
}

static int container_call(struct agent_client *c, const char *method, const char *id, struct capsa_error *err)
{
	Capsa__Agent__ContainerRequest req = CAPSA__AGENT__CONTAINER_REQUEST__INIT;
	req.container_id = (char *)id;
	return CALL(c, method, req, NULL, NULL, err);
}

int agent_start_container(struct agent_client *c, const char *id, struct capsa_error *err)
{
	return container_call(c, "StartContainer", id, err);
}

int agent_remove_container(struct agent_client *c, const char *id, struct capsa_error *err)
{
	return container_call(c, "RemoveContainer", id, err);
}

int agent_pause_container(struct agent_client *c, const char *id, bool pause, struct capsa_error *err)
{
	return container_call(c, pause ? "PauseContainer" : "ResumeContainer", id, err);
}

int agent_list_processes(struct agent_client *c, const char *id, uint32_t **ret, size_t *ret_n, struct capsa_error *err)
{
	Capsa__Agent__ContainerRequest req = CAPSA__AGENT__CONTAINER_REQUEST__INIT;
	Capsa__Agent__ListProcessesResponse *resp = NULL;
	req.container_id = (char *)id;
	int r = CALL(c, "ListProcesses", req, &capsa__agent__list_processes_response__descriptor, &resp, err);
	if (r < 0)
		return r;
	*ret = malloc((resp->n_pids + 1) * sizeof(uint32_t));
	if (!*ret) {
		capsa__agent__list_processes_response__free_unpacked(resp, NULL);
		return capsa_error_set(err, -ENOMEM, "out of memory");
	}
	memcpy(*ret, resp->pids, resp->n_pids * sizeof(uint32_t));
	*ret_n = resp->n_pids;
	capsa__agent__list_processes_response__free_unpacked(resp, NULL);
	return 0;
}

int agent_exec_process(struct agent_client *c, const char *id, const char *exec_id, const char *process_json,
		       size_t len, struct capsa_error *err)
{
	Capsa__Agent__ExecProcessRequest req = CAPSA__AGENT__EXEC_PROCESS_REQUEST__INIT;
	req.container_id = (char *)id;
	req.exec_id = (char *)exec_id;
	req.process.data = (uint8_t *)process_json;
	req.process.len = len;
	return CALL(c, "ExecProcess", req, NULL, NULL, err);
}

int agent_signal_process(struct agent_client *c, const char *id, const char *exec_id, int signal, bool all,
			 struct capsa_error *err)
{
	Capsa__Agent__SignalProcessRequest req = CAPSA__AGENT__SIGNAL_PROCESS_REQUEST__INIT;
	req.container_id = (char *)id;
	req.exec_id = (char *)exec_id;
	req.signal = (uint32_t)signal;
	req.all = all;
	return CALL(c, "SignalProcess", req, NULL, NULL, err);
}

int agent_tty_resize(struct agent_client *c, const char *id, const char *exec_id, unsigned rows, unsigned columns,
		     struct capsa_error *err)
{
	Capsa__Agent__TtyWinResizeRequest req = CAPSA__AGENT__TTY_WIN_RESIZE_REQUEST__INIT;
	req.container_id = (char *)id;
	req.exec_id = (char *)exec_id;
	req.rows = rows;
	req.columns = columns;
	return CALL(c, "TtyWinResize", req, NULL, NULL, err);
}

int agent_send_close_stdin(struct agent_client *c, const char *id, const char *exec_id, uint32_t *ret_stream,
			   struct capsa_error *err)
{
	Capsa__Agent__ProcessRequest req = CAPSA__AGENT__PROCESS_REQUEST__INIT;
	req.container_id = (char *)id;
	req.exec_id = (char *)exec_id;
	return agent_client_send(c, "CloseStdin", &req.base, ret_stream, err);
}

int agent_close_stdin(struct agent_client *c, const char *id, const char *exec_id, struct capsa_error *err)
{
	uint32_t stream;
	int r = agent_send_close_stdin(c, id, exec_id, &stream, err);
	return r < 0 ? r : agent_client_receive(c, stream, NULL, NULL, AGENT_CALL_TIMEOUT_MS, err);
}

int agent_send_wait(struct agent_client *c, const char *id, const char *exec_id, uint32_t *ret_stream,
		    struct capsa_error *err)
{
	Capsa__Agent__ProcessRequest req = CAPSA__AGENT__PROCESS_REQUEST__INIT;
	req.container_id = (char *)id;
	req.exec_id = (char *)exec_id;
	return agent_client_send(c, "WaitProcess", &req.base, ret_stream, err);
}

int agent_receive_wait(struct agent_client *c, uint32_t stream, struct agent_exit *ret, struct capsa_error *err)
{
	Capsa__Agent__WaitProcessResponse *resp = NULL;
	int r = agent_client_receive(c, stream, &capsa__agent__wait_process_response__descriptor,
				     (ProtobufCMessage **)&resp, -1, err);
	if (r < 0)
		return r;
	*ret = (struct agent_exit){ .exited = resp->exited, .code = resp->exit_code, .signal = (int)resp->signal };
	capsa__agent__wait_process_response__free_unpacked(resp, NULL);
	return 0;
}

int agent_wait_process(struct agent_client *c, const char *id, const char *exec_id, struct agent_exit *ret,
		       struct capsa_error *err)
{
	uint32_t stream;
	int r = agent_send_wait(c, id, exec_id, &stream, err);
	return r < 0 ? r : agent_receive_wait(c, stream, ret, err);
}

int agent_send_read(struct agent_client *c, const char *id, const char *exec_id, bool from_stderr, uint32_t len,
		    uint32_t *ret_stream, struct capsa_error *err)
{
	Capsa__Agent__ReadStreamRequest req = CAPSA__AGENT__READ_STREAM_REQUEST__INIT;
	req.container_id = (char *)id;
	req.exec_id = (char *)exec_id;
	req.len = len;
	return agent_client_send(c, from_stderr ? "ReadStderr" : "ReadStdout", &req.base, ret_stream, err);
}

int agent_receive_read(struct agent_client *c, uint32_t stream, uint8_t **ret_data, size_t *ret_len,
		       struct capsa_error *err)
{
	Capsa__Agent__ReadStreamResponse *resp = NULL;
	int r = agent_client_receive(c, stream, &capsa__agent__read_stream_response__descriptor,
				     (ProtobufCMessage **)&resp, -1, err);
	if (r < 0)
		return r;
	*ret_data = NULL;
	*ret_len = resp->data.len;
	if (resp->data.len) {
		*ret_data = malloc(resp->data.len);
		if (!*ret_data) {
			capsa__agent__read_stream_response__free_unpacked(resp, NULL);
			return capsa_error_set(err, -ENOMEM, "out of memory");
		}
		memcpy(*ret_data, resp->data.data, resp->data.len);
	}
	capsa__agent__read_stream_response__free_unpacked(resp, NULL);
	return 0;
}

int agent_send_write(struct agent_client *c, const char *id, const char *exec_id, const void *data, size_t len,
		     uint32_t *ret_stream, struct capsa_error *err)
{
	Capsa__Agent__WriteStreamRequest req = CAPSA__AGENT__WRITE_STREAM_REQUEST__INIT;
	req.container_id = (char *)id;
	req.exec_id = (char *)exec_id;
	req.data.data = (uint8_t *)data;
	req.data.len = len;
	return agent_client_send(c, "WriteStdin", &req.base, ret_stream, err);
}

int agent_receive_write(struct agent_client *c, uint32_t stream, size_t *ret_written, struct capsa_error *err)
{
	Capsa__Agent__WriteStreamResponse *resp = NULL;
	int r = agent_client_receive(c, stream, &capsa__agent__write_stream_response__descriptor,
				     (ProtobufCMessage **)&resp, -1, err);
	if (r < 0)
		return r;
	*ret_written = resp->len;
	capsa__agent__write_stream_response__free_unpacked(resp, NULL);
	return 0;
}
