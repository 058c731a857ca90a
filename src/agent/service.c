/* The AgentService methods: decode, validate, act, answer. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "agent/container.h"
#include "agent/sandbox.h"
#include "agent/server.h"
#include "proto/agent.pb-c.h"

#define AGENT_API_VERSION "1"

static int code_for_errno(int e)
{
	switch (e) {
	case -ENOENT:
	case -ESRCH:
		return TTRPC_NOT_FOUND;
	case -EEXIST:
		return TTRPC_ALREADY_EXISTS;
	case -EINVAL:
	case -ENAMETOOLONG:
		return TTRPC_INVALID_ARGUMENT;
	case -EMFILE:
	case -ENOMEM:
		return TTRPC_RESOURCE_EXHAUSTED;
	case -EALREADY:
	case -EBADF:
	case -ENOTTY:
		return TTRPC_FAILED_PRECONDITION;
	default:
		return TTRPC_INTERNAL;
	}
}

static void reply_result(struct call call, int r, const struct capsa_error *err)
{
	if (r >= 0)
		server_reply(call, NULL);
	else
		server_reply_error(call, code_for_errno(r), "%s", err->code ? err->msg : strerror(-r));
}

/* Unpacks the request or answers INVALID_ARGUMENT; free with FREE(). */
#define UNPACK(unpack_fn, call, payload, len)                                                          \
	({                                                                                          \
		__typeof__(unpack_fn(NULL, 0, NULL)) _m = unpack_fn(NULL, len, payload);            \
		if (!_m)                                                                            \
			server_reply_error(call, TTRPC_INVALID_ARGUMENT, "malformed request for %s", \
					   #unpack_fn);                                             \
		_m;                                                                                 \
	})

#define FREE(m) protobuf_c_message_free_unpacked(&(m)->base, NULL)

static void check(struct call call, const uint8_t *payload, size_t len)
{
	Capsa__Agent__CheckRequest *req = UNPACK(capsa__agent__check_request__unpack, call, payload, len);
	if (!req)
		return;
	Capsa__Agent__HealthCheckResponse resp = CAPSA__AGENT__HEALTH_CHECK_RESPONSE__INIT;
	resp.status = CAPSA__AGENT__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
	server_reply(call, &resp.base);
	FREE(req);
}

static void version(struct call call, const uint8_t *payload, size_t len)
{
	Capsa__Agent__CheckRequest *req = UNPACK(capsa__agent__check_request__unpack, call, payload, len);
	if (!req)
		return;
	struct utsname u;
	uname(&u);
	Capsa__Agent__VersionResponse resp = CAPSA__AGENT__VERSION_RESPONSE__INIT;
	resp.agent_version = (char *)CAPSA_VERSION;
	resp.api_version = (char *)AGENT_API_VERSION;
	resp.kernel_release = u.release;
	server_reply(call, &resp.base);
	FREE(req);
}

static void create_sandbox(struct call call, const uint8_t *payload, size_t len)
{
	Capsa__Agent__CreateSandboxRequest *req = UNPACK(capsa__agent__create_sandbox_request__unpack, call, payload, len);
	if (!req)
		return;
	struct capsa_error err = { 0 };
	reply_result(call, sandbox_create(req, &err), &err);
	FREE(req);
}

static void destroy_sandbox(struct call call, const uint8_t *payload, size_t len)
{
	Capsa__Agent__Empty *req = UNPACK(capsa__agent__empty__unpack, call, payload, len);
	if (!req)
		return;
	containers_remove_all();
	server_reply(call, NULL);
	sandbox_request_shutdown();
	FREE(req);
}

static void create_container(struct call call, const uint8_t *payload, size_t len)
{
	Capsa__Agent__CreateContainerRequest *req = UNPACK(capsa__agent__create_container_request__unpack, call, payload, len);
	if (!req)
		return;
	struct capsa_error err = { 0 };
	int r = container_create(req->container_id, (const char *)req->oci_spec.data, req->oci_spec.len, req->rootfs,
				 &err);
	reply_result(call, r, &err);
	FREE(req);
}

static void start_container(struct call call, const uint8_t *payload, size_t len)
{
	Capsa__Agent__ContainerRequest *req = UNPACK(capsa__agent__container_request__unpack, call, payload, len);
	if (!req)
		return;
	struct capsa_error err = { 0 };
	reply_result(call, container_start(req->container_id, &err), &err);
	FREE(req);
}

static void remove_container(struct call call, const uint8_t *payload, size_t len)
{
	Capsa__Agent__ContainerRequest *req = UNPACK(capsa__agent__container_request__unpack, call, payload, len);
	if (!req)
		return;
	struct capsa_error err = { 0 };
	reply_result(call, container_remove(req->container_id, &err), &err);
	FREE(req);
}

static void pause_or_resume(struct call call, const uint8_t *payload, size_t len, bool pause)
{
	Capsa__Agent__ContainerRequest *req = UNPACK(capsa__agent__container_request__unpack, call, payload, len);
	if (!req)
		return;
	struct capsa_error err = { 0 };
	reply_result(call, container_pause(req->container_id, pause, &err), &err);
	FREE(req);
}

static void pause_container(struct call call, const uint8_t *payload, size_t len)
{
	pause_or_resume(call, payload, len, true);
}

static void resume_container(struct call call, const uint8_t *payload, size_t len)
{
	pause_or_resume(call, payload, len, false);
}

static void list_processes(struct call call, const uint8_t *payload, size_t len)
{
	Capsa__Agent__ContainerRequest *req = UNPACK(capsa__agent__container_request__unpack, call, payload, len);
	if (!req)
		return;
	struct capsa_error err = { 0 };
	uint32_t *pids = NULL;
	size_t n = 0;
	int r = container_pids(req->container_id, &pids, &n, &err);
	if (r < 0) {
		reply_result(call, r, &err);
	} else {
		Capsa__Agent__ListProcessesResponse resp = CAPSA__AGENT__LIST_PROCESSES_RESPONSE__INIT;
		resp.pids = pids;
		resp.n_pids = n;
		server_reply(call, &resp.base);
	}
	free(pids);
	FREE(req);
}

static void exec_process(struct call call, const uint8_t *payload, size_t len)
{
	Capsa__Agent__ExecProcessRequest *req = UNPACK(capsa__agent__exec_process_request__unpack, call, payload, len);
	if (!req)
		return;
	struct capsa_error err = { 0 };
	int r = container_exec(req->container_id, req->exec_id, (const char *)req->process.data, req->process.len, &err);
	reply_result(call, r, &err);
	FREE(req);
}

/* Looks up the process a request names, answering NOT_FOUND itself. */
static struct process *find_or_reply(struct call call, const char *container_id, const char *exec_id)
{
	struct capsa_error err = { 0 };
	struct process *p = process_find(container_id, exec_id, &err);
	if (!p)
		reply_result(call, err.code, &err);
	return p;
}

static void signal_process(struct call call, const uint8_t *payload, size_t len)
{
	Capsa__Agent__SignalProcessRequest *req = UNPACK(capsa__agent__signal_process_request__unpack, call, payload, len);
	if (!req)
		return;
	struct process *p = find_or_reply(call, req->container_id, req->exec_id);
	if (p) {
		struct capsa_error err = { 0 };
		reply_result(call, process_signal(p, (int)req->signal, req->all, &err), &err);
	}
	FREE(req);
}

static void wait_process(struct call call, const uint8_t *payload, size_t len)
{
	Capsa__Agent__ProcessRequest *req = UNPACK(capsa__agent__process_request__unpack, call, payload, len);
	if (!req)
		return;
	struct process *p = find_or_reply(call, req->container_id, req->exec_id);
	if (p)
		process_wait(p, call);
	FREE(req);
}

static void process_info(struct call call, const uint8_t *payload, size_t len)
{
	Capsa__Agent__ProcessRequest *req = UNPACK(capsa__agent__process_request__unpack, call, payload, len);
	if (!req)
		return;
	struct process *p = find_or_reply(call, req->container_id, req->exec_id);
	if (p) {
		Capsa__Agent__ProcessResponse resp = CAPSA__AGENT__PROCESS_RESPONSE__INIT;
		resp.pid = (uint32_t)process_pid(p);
		server_reply(call, &resp.base);
	}
	FREE(req);
}

static void write_stdin(struct call call, const uint8_t *payload, size_t len)
{
	Capsa__Agent__WriteStreamRequest *req = UNPACK(capsa__agent__write_stream_request__unpack, call, payload, len);
	if (!req)
		return;
	struct process *p = find_or_reply(call, req->container_id, req->exec_id);
	if (p)
		process_write(p, call, req->data.data, req->data.len);
	FREE(req);
}

static void close_stdin(struct call call, const uint8_t *payload, size_t len)
{
	Capsa__Agent__ProcessRequest *req = UNPACK(capsa__agent__process_request__unpack, call, payload, len);
	if (!req)
		return;
	struct process *p = find_or_reply(call, req->container_id, req->exec_id);
	if (p) {
		struct capsa_error err = { 0 };
		reply_result(call, process_close_stdin(p, &err), &err);
	}
	FREE(req);
}

static void read_stream(struct call call, const uint8_t *payload, size_t len, bool from_stderr)
{
	Capsa__Agent__ReadStreamRequest *req = UNPACK(capsa__agent__read_stream_request__unpack, call, payload, len);
	if (!req)
		return;
	struct process *p = find_or_reply(call, req->container_id, req->exec_id);
	if (p)
		process_read(p, from_stderr, call, req->len);
	FREE(req);
}

static void read_stdout(struct call call, const uint8_t *payload, size_t len)
{
	read_stream(call, payload, len, false);
}

static void read_stderr(struct call call, const uint8_t *payload, size_t len)
{
	read_stream(call, payload, len, true);
}

static void tty_win_resize(struct call call, const uint8_t *payload, size_t len)
{
	Capsa__Agent__TtyWinResizeRequest *req = UNPACK(capsa__agent__tty_win_resize_request__unpack, call, payload, len);
	if (!req)
		return;
	struct process *p = find_or_reply(call, req->container_id, req->exec_id);
	if (p) {
		struct capsa_error err = { 0 };
		if (req->rows > 65535 || req->columns > 65535)
			reply_result(call, capsa_error_set(&err, -EINVAL, "window size %ux%u out of range", req->rows,
							   req->columns), &err);
		else
			reply_result(call, process_resize(p, req->rows, req->columns, &err), &err);
	}
	FREE(req);
}

const struct method agent_methods[] = {
	{ "Check", check },
	{ "Version", version },
	{ "CreateSandbox", create_sandbox },
	{ "DestroySandbox", destroy_sandbox },
	{ "CreateContainer", create_container },
	{ "StartContainer", start_container },
	{ "RemoveContainer", remove_container },
	{ "ExecProcess", exec_process },
	{ "SignalProcess", signal_process },
	{ "WaitProcess", wait_process },
	{ "ProcessInfo", process_info },
	{ "WriteStdin", write_stdin },
	{ "CloseStdin", close_stdin },
	{ "ReadStdout", read_stdout },
	{ "ReadStderr", read_stderr },
	{ "TtyWinResize", tty_win_resize },
	{ "PauseContainer", pause_container },
	{ "ResumeContainer", resume_container },
	{ "ListProcesses", list_processes },
};
const size_t agent_methods_count = sizeof(agent_methods) / sizeof(agent_methods[0]);
