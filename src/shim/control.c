/* The shim's control socket: the CLI's requests, and the exec'd processes it relays for capsa exec proxies. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/unix_socket.h"
#include "runtime/control_msg.h"
#include "shim/shim.h"

void shim_write_state(struct shim *s)
{
	struct capsa_error err = { 0 };
	if (state_write(s->root, &s->st, &err) < 0)
		fprintf(stderr, "capsa-shim: %s\n", err.msg);
}

int control_listen(struct shim *s, struct capsa_error *err)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/shim.sock", s->state_dir);
	int fd = unix_listen_as(path, SOCK_SEQPACKET | SOCK_NONBLOCK, 16, err);
	if (fd < 0)
		return fd;
	s->control = fd;
	return 0;
}

static void answer(int conn, json_t *msg)
{
	control_send(conn, msg, NULL, 0, NULL);
	json_decref(msg);
}

static void answer_result(int conn, int r, const struct capsa_error *err)
{
	if (r < 0)
		answer(conn, json_pack("{s:s}", "error", err->code ? err->msg : strerror(-r)));
	else
		answer(conn, json_pack("{s:b}", "ok", 1));
}

static json_t *exit_json(struct agent_exit e)
{
	return json_pack("{s:{s:b, s:i, s:i}}", "exit", "exited", e.exited, "code", e.code, "signal", e.signal);
}

void execs_reap(struct shim *s, bool all_gone)
{
	for (struct exec_proc **pp = &s->execs; *pp;) {
		struct exec_proc *e = *pp;
		bool done = e->relay && relay_finished(e->relay);
		if (!done && !all_gone) {
			pp = &e->next;
			continue;
		}
		struct agent_exit status = done ? relay_exit_status(e->relay) : (struct agent_exit){ .signal = SIGKILL };
		if (e->conn >= 0) {
			answer(e->conn, exit_json(status));
			close(e->conn);
		}
		relay_free(e->relay);
		for (int i = 0; i < 3; i++)
			if (e->fds[i] >= 0)
				close(e->fds[i]);
		free(e->exec_id);
		*pp = e->next;
		free(e);
	}
}

static int do_exec(struct shim *s, int conn, json_t *req, int *fds, size_t n_fds, struct capsa_error *err)
{
	const char *exec_id = json_string_value(json_object_get(req, "exec_id"));
	json_t *process = json_object_get(req, "process");
	bool terminal = json_is_true(json_object_get(process, "terminal"));
	if (!exec_id || !json_is_object(process))
		return capsa_error_set(err, -EINVAL, "exec: exec_id and process are required");
	if (n_fds != 3)
		return capsa_error_set(err, -EINVAL, "exec: expected 3 stdio fds, got %zu", n_fds);
	if (s->st.status == STATUS_PAUSED)
		return capsa_error_set(err, -EBUSY, "container '%s' is paused", s->id);
	_cleanup_free_ char *text = json_dumps(process, JSON_COMPACT);
	if (!text)
		return capsa_error_set(err, -ENOMEM, "out of memory");
	int r = agent_exec_process(s->session.agent, s->id, exec_id, text, strlen(text), err);
	if (r < 0)
		return r;
	struct exec_proc *e = calloc(1, sizeof(*e));
	if (!e || !(e->exec_id = strdup(exec_id))) {
		free(e);
		return capsa_error_set(err, -ENOMEM, "out of memory");
	}
	e->conn = conn;
	e->terminal = terminal;
	memcpy(e->fds, fds, sizeof(e->fds));
	struct relay_io io = { .in = fds[0], .out = fds[1], .err = fds[2], .terminal = terminal };
	r = relay_new(s->session.agent, s->id, exec_id, &io, &e->relay, err);
	if (r < 0) {
		free(e->exec_id);
		free(e);
		return r;
	}
	for (size_t i = 0; i < 3; i++)
		fds[i] = -1;   /* the exec owns them now */
	e->next = s->execs;
	s->execs = e;
	return 0;
}

static int handle(struct shim *s, int conn, json_t *req, int *fds, size_t n_fds, bool *keep_conn,
		  struct capsa_error *err)
{
	const char *op = json_string_value(json_object_get(req, "op"));
	struct agent_client *agent = s->session.agent;
	int r;
	if (!op)
		return capsa_error_set(err, -EINVAL, "request without op");
	if (s->vm_gone)
		return capsa_error_set(err, -ESRCH, "container '%s' is stopped", s->id);
	if (!strcmp(op, "start")) {
		if (s->st.status != STATUS_CREATED)
			return capsa_error_set(err, -EBUSY, "container '%s' is %s, not created", s->id, status_name(s->st.status));
		if ((r = agent_start_container(agent, s->id, err)) < 0)
			return r;
		s->st.status = STATUS_RUNNING;
		shim_write_state(s);
		return 0;
	}
	if (!strcmp(op, "kill")) {
		int sig = (int)json_integer_value(json_object_get(req, "signal"));
		bool all = json_is_true(json_object_get(req, "all"));
		const char *exec_id = json_string_value(json_object_get(req, "exec_id"));
		return agent_signal_process(agent, s->id, exec_id ? exec_id : "", sig, all, err);
	}
	if (!strcmp(op, "pause") || !strcmp(op, "resume")) {
		bool pause = !strcmp(op, "pause");
		if (s->st.status != (pause ? STATUS_RUNNING : STATUS_PAUSED))
			return capsa_error_set(err, -EBUSY, "container '%s' is %s, not %s", s->id, status_name(s->st.status),
					       pause ? "running" : "paused");
		if ((r = agent_pause_container(agent, s->id, pause, err)) < 0)
			return r;
		s->st.status = pause ? STATUS_PAUSED : STATUS_RUNNING;
		shim_write_state(s);
		return 0;
	}
	if (!strcmp(op, "ps")) {
		uint32_t *pids = NULL;
		size_t n = 0;
		if ((r = agent_list_processes(agent, s->id, &pids, &n, err)) < 0)
			return r;
		json_t *list = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(list, json_integer(pids[i]));
		free(pids);
		answer(conn, json_pack("{s:b, s:o}", "ok", 1, "pids", list));
		return 1;   /* answered */
	}
	if (!strcmp(op, "exec")) {
		if ((r = do_exec(s, conn, req, fds, n_fds, err)) < 0)
			return r;
		*keep_conn = true;
		return 0;
	}
	if (!strcmp(op, "resize")) {
		const char *exec_id = json_string_value(json_object_get(req, "exec_id"));
		unsigned rows = (unsigned)json_integer_value(json_object_get(req, "rows"));
		unsigned cols = (unsigned)json_integer_value(json_object_get(req, "columns"));
		return agent_tty_resize(agent, s->id, exec_id ? exec_id : "", rows, cols, err);
	}
	if (!strcmp(op, "destroy")) {
		/* the container's init is killed; the main loop then ends the VM and the shim */
		agent_signal_process(agent, s->id, "", SIGKILL, true, NULL);
		return 0;
	}
	return capsa_error_set(err, -EINVAL, "unknown op '%s'", op);
}

/* A message on an exec connection: a resize or a signal from the proxy; its end means the proxy is gone. */
void exec_conn_readable(struct shim *s, struct exec_proc *e)
{
	json_t *msg = NULL;
	struct capsa_error err = { 0 };
	int r = control_recv(e->conn, &msg, NULL, NULL, 0, &err);
	if (r <= 0) {
		/* whoever waited for this process is gone: so is the process, as with runc */
		agent_signal_process(s->session.agent, s->id, e->exec_id, SIGKILL, false, NULL);
		close(e->conn);
		e->conn = -1;
		return;
	}
	const char *op = json_string_value(json_object_get(msg, "op"));
	if (op && !strcmp(op, "resize"))
		agent_tty_resize(s->session.agent, s->id, e->exec_id, (unsigned)json_integer_value(json_object_get(msg, "rows")),
				 (unsigned)json_integer_value(json_object_get(msg, "columns")), &err);
	else if (op && !strcmp(op, "kill"))
		agent_signal_process(s->session.agent, s->id, e->exec_id, (int)json_integer_value(json_object_get(msg, "signal")),
				     false, &err);
	json_decref(msg);
}

void control_accept(struct shim *s)
{
	int conn = accept4(s->control, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0)
		return;
	json_t *req = NULL;
	int fds[CONTROL_MAX_FDS] = { -1, -1, -1 };
	size_t n_fds = 0;
	struct capsa_error err = { 0 };
	bool keep = false;
	int r = control_recv(conn, &req, fds, &n_fds, 5000, &err);
	if (r > 0) {
		r = handle(s, conn, req, fds, n_fds, &keep, &err);
		if (r <= 0)
			answer_result(conn, r, &err);
		/* an exec connection stays open for the exit status; resize requests may follow on it */
	}
	json_decref(req);
	for (size_t i = 0; i < n_fds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (!keep)
		close(conn);
}
