#include "client/relay.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fdio.h"

#define CHUNK 65536

struct out_stream {
	int fd;
	bool from_stderr;
	uint32_t stream;
	bool done;
};

struct relay {
	struct agent_client *c;
	const char *id, *exec_id;
	struct out_stream out, err;
	int in_fd;
	uint32_t wait_stream, write_stream, close_stream;
	bool wait_done, write_pending, close_pending, in_done;
	uint8_t in_buf[CHUNK];
	size_t in_len, in_off;
	struct agent_exit exit;
};

static int take_output(struct relay *r, struct out_stream *o, struct capsa_error *err)
{
	if (o->done || !agent_client_has_response(r->c, o->stream))
		return 0;
	uint8_t *data = NULL;
	size_t len = 0;
	int ret = agent_receive_read(r->c, o->stream, &data, &len, err);
	if (ret < 0)
		return ret;
	if (len == 0) {
		o->done = true;
		return 0;
	}
	ret = write_all(o->fd, data, len);
	free(data);
	/* a reader that went away is not the container's problem: keep draining */
	if (ret < 0 && ret != -EPIPE)
		return capsa_error_errno(err, ret, "writing container output");
	return agent_send_read(r->c, r->id, r->exec_id, o->from_stderr, CHUNK, &o->stream, err);
}

static int start_close(struct relay *r, struct capsa_error *err)
{
	r->in_done = true;
	r->close_pending = true;
	return agent_send_close_stdin(r->c, r->id, r->exec_id, &r->close_stream, err);
}

static int take_write(struct relay *r, struct capsa_error *err)
{
	if (!r->write_pending || !agent_client_has_response(r->c, r->write_stream))
		return 0;
	r->write_pending = false;
	size_t written = 0;
	struct capsa_error ignored = { 0 };
	if (agent_receive_write(r->c, r->write_stream, &written, &ignored) < 0) {
		/* the process closed its stdin or exited: drop the rest of ours */
		r->in_done = true;
		r->in_len = r->in_off = 0;
		return 0;
	}
	r->in_off += written;
	if (r->in_off < r->in_len) {
		r->write_pending = true;
		return agent_send_write(r->c, r->id, r->exec_id, r->in_buf + r->in_off, r->in_len - r->in_off,
					&r->write_stream, err);
	}
	r->in_len = r->in_off = 0;
	return 0;
}

static int read_stdin(struct relay *r, struct capsa_error *err)
{
	ssize_t n = read(r->in_fd, r->in_buf, sizeof(r->in_buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0)
		return start_close(r, err);
	r->in_len = (size_t)n;
	r->in_off = 0;
	r->write_pending = true;
	return agent_send_write(r->c, r->id, r->exec_id, r->in_buf, r->in_len, &r->write_stream, err);
}

int relay_new(struct agent_client *c, const char *id, const char *exec_id, const struct relay_io *io,
	      struct relay **ret, struct capsa_error *err)
{
	struct relay *r = calloc(1, sizeof(*r));
	if (!r)
		return capsa_error_set(err, -ENOMEM, "out of memory");
	*r = (struct relay){
		.c = c, .in_fd = io->in,
		.out = { .fd = io->out }, .err = { .fd = io->err, .from_stderr = true, .done = io->terminal },
	};
	r->id = strdup(id);
	r->exec_id = strdup(exec_id);
	int ret_code = 0;
	if (!r->id || !r->exec_id)
		ret_code = capsa_error_set(err, -ENOMEM, "out of memory");
	if (ret_code == 0)
		ret_code = agent_send_wait(c, id, exec_id, &r->wait_stream, err);
	if (ret_code == 0)
		ret_code = agent_send_read(c, id, exec_id, false, CHUNK, &r->out.stream, err);
	if (ret_code == 0 && !r->err.done)
		ret_code = agent_send_read(c, id, exec_id, true, CHUNK, &r->err.stream, err);
	if (ret_code == 0 && io->in < 0)
		ret_code = start_close(r, err);
	if (ret_code < 0) {
		relay_free(r);
		return ret_code;
	}
	*ret = r;
	return 0;
}

int relay_input_fd(const struct relay *r)
{
	return !r->in_done && !r->write_pending && !r->wait_done ? r->in_fd : -1;
}

int relay_step(struct relay *r, bool input_ready, struct capsa_error *err)
{
	int ret;
	if (input_ready && relay_input_fd(r) >= 0 && (ret = read_stdin(r, err)) < 0)
		return ret;
	if ((ret = take_output(r, &r->out, err)) < 0 || (ret = take_output(r, &r->err, err)) < 0 ||
	    (ret = take_write(r, err)) < 0)
		return ret;
	if (r->close_pending && agent_client_has_response(r->c, r->close_stream)) {
		struct capsa_error ignored = { 0 };
		agent_client_receive(r->c, r->close_stream, NULL, NULL, 0, &ignored);
		r->close_pending = false;
	}
	if (!r->wait_done && agent_client_has_response(r->c, r->wait_stream)) {
		if ((ret = agent_receive_wait(r->c, r->wait_stream, &r->exit, err)) < 0)
			return ret;
		r->wait_done = true;
	}
	return 0;
}

bool relay_finished(const struct relay *r)
{
	return r->wait_done && r->out.done && r->err.done;
}

struct agent_exit relay_exit_status(const struct relay *r)
{
	return r->exit;
}

void relay_free(struct relay *r)
{
	if (!r)
		return;
	/* answers still owed are collected so nothing lingers on the connection */
	struct capsa_error ignored = { 0 };
	if (r->write_pending && relay_finished(r))
		agent_client_receive(r->c, r->write_stream, NULL, NULL, AGENT_CALL_TIMEOUT_MS, &ignored);
	if (r->close_pending && relay_finished(r))
		agent_client_receive(r->c, r->close_stream, NULL, NULL, AGENT_CALL_TIMEOUT_MS, &ignored);
	free((char *)r->id);
	free((char *)r->exec_id);
	free(r);
}

int agent_relay(struct agent_client *c, const char *id, const char *exec_id, const struct relay_io *io,
		struct agent_exit *ret, struct capsa_error *err)
{
	struct relay *r;
	int ret_code = relay_new(c, id, exec_id, io, &r, err);
	if (ret_code < 0)
		return ret_code;
	while (!relay_finished(r)) {
		struct pollfd pfd[2] = { { .fd = agent_client_fd(c), .events = POLLIN },
					 { .fd = relay_input_fd(r), .events = POLLIN } };
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			ret_code = capsa_error_errno(err, -errno, "poll");
			break;
		}
		if (pfd[0].revents && (ret_code = agent_client_pump(c, 0, err)) < 0)
			break;
		if ((ret_code = relay_step(r, pfd[1].revents != 0, err)) < 0)
			break;
	}
	if (ret_code >= 0)
		*ret = relay_exit_status(r);
	relay_free(r);
	return ret_code;
}
