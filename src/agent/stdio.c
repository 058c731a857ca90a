/* Relaying a container process's stdio to parked ReadStream/WriteStream calls. */
#include "agent/process.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "proto/agent.pb-c.h"

#define MAX_READ (1u << 20)

static void output_event(struct watch *w, uint32_t events);
static void input_event(struct watch *w, uint32_t events);

void output_init(struct output *o, struct process *owner, int fd)
{
	*o = (struct output){ .w = { .fd = fd, .fn = output_event }, .owner = owner };
}

static void output_close(struct output *o)
{
	if (o->w.fd < 0)
		return;
	loop_set(&o->w, 0);
	close(o->w.fd);
	o->w.fd = -1;
}

static void reply_data(struct call call, const uint8_t *data, size_t len)
{
	Capsa__Agent__ReadStreamResponse resp = CAPSA__AGENT__READ_STREAM_RESPONSE__INIT;
	resp.data.data = (uint8_t *)data;
	resp.data.len = len;
	server_reply(call, &resp.base);
}

/* Tries to satisfy the pending read; returns true when it was answered. */
static bool output_try(struct output *o)
{
	static uint8_t buf[MAX_READ];
	if (o->w.fd < 0) {
		reply_data(o->read.call, NULL, 0);
		return true;
	}
	ssize_t n;
	do
		n = read(o->w.fd, buf, o->read.len);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		reply_data(o->read.call, buf, (size_t)n);
		return true;
	}
	/* EAGAIN after the process exited means only a stray descendant holds the pipe: call it the end */
	if (n < 0 && errno == EAGAIN && !o->owner->exited)
		return false;
	/* 0 is EOF; a pty master reads EIO once the slave side is closed */
	output_close(o);
	reply_data(o->read.call, NULL, 0);
	return true;
}

static void output_service(struct output *o)
{
	if (!o->read.active)
		return;
	if (!server_call_alive(o->read.call)) {
		o->read.active = false;
	} else if (output_try(o)) {
		o->read.active = false;
	}
	if (o->w.fd >= 0)
		loop_set(&o->w, o->read.active ? EPOLLIN : 0);
}

static void output_event(struct watch *w, uint32_t events)
{
	(void)events;
	output_service(container_of(w, struct output, w));
}

void process_read(struct process *p, bool from_stderr, struct call call, uint32_t len)
{
	struct output *o = from_stderr ? &p->err : &p->out;
	if (o->read.active && server_call_alive(o->read.call)) {
		server_reply_error(call, TTRPC_FAILED_PRECONDITION, "a read of this stream is already pending");
		return;
	}
	if (len == 0 || len > MAX_READ)
		len = MAX_READ;
	o->read = (struct pending_read){ .active = true, .call = call, .len = len };
	output_service(o);
}

static void input_finish(struct process *p)
{
	loop_set(&p->in, 0);
	if (p->in_close_requested && !p->in_pending && p->in.fd >= 0) {
		if (p->terminal) {
			/* a terminal has no end of file to close: send its EOF character */
			char eof = 4;
			if (write(p->in.fd, &eof, 1) < 0) {
				/* the reader is gone: nothing left to tell */
			}
		}
		close(p->in.fd);
		p->in.fd = -1;
	}
}

static void reply_written(struct call call, size_t len)
{
	Capsa__Agent__WriteStreamResponse resp = CAPSA__AGENT__WRITE_STREAM_RESPONSE__INIT;
	resp.len = (uint32_t)len;
	server_reply(call, &resp.base);
}

/* Returns true when the pending write was answered. */
static bool input_try(struct process *p)
{
	ssize_t n;
	do
		n = write(p->in.fd, p->in_data, p->in_len);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return false;
	if (n < 0)
		server_reply_error(p->in_call, TTRPC_FAILED_PRECONDITION, "writing stdin: %s", strerror(errno));
	else
		reply_written(p->in_call, (size_t)n);
	return true;
}

static void input_event(struct watch *w, uint32_t events)
{
	(void)events;
	struct process *p = container_of(w, struct process, in);
	if (p->in_pending && (!server_call_alive(p->in_call) || input_try(p))) {
		p->in_pending = false;
		free(p->in_data);
		p->in_data = NULL;
	}
	if (!p->in_pending)
		input_finish(p);
}

void process_write(struct process *p, struct call call, const uint8_t *data, size_t len)
{
	if (p->in.fd < 0 || p->in_close_requested) {
		server_reply_error(call, TTRPC_FAILED_PRECONDITION, "stdin of process %d is closed", p->pid);
		return;
	}
	if (p->in_pending && server_call_alive(p->in_call)) {
		server_reply_error(call, TTRPC_FAILED_PRECONDITION, "a write to stdin is already pending");
		return;
	}
	if (len == 0) {
		reply_written(call, 0);
		return;
	}
	free(p->in_data);
	p->in_data = malloc(len);
	if (!p->in_data) {
		server_reply_error(call, TTRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	memcpy(p->in_data, data, len);
	p->in_len = len;
	p->in_call = call;
	p->in.fn = input_event;
	if (input_try(p)) {
		free(p->in_data);
		p->in_data = NULL;
		p->in_pending = false;
		return;
	}
	p->in_pending = true;
	loop_set(&p->in, EPOLLOUT);
}

int process_close_stdin(struct process *p, struct capsa_error *err)
{
	if (p->in.fd < 0)
		return capsa_error_set(err, -EBADF, "stdin of process %d is already closed", p->pid);
	p->in_close_requested = true;
	if (!p->in_pending)
		input_finish(p);
	return 0;
}

int process_resize(struct process *p, unsigned rows, unsigned columns, struct capsa_error *err)
{
	if (!p->terminal || p->out.w.fd < 0)
		return capsa_error_set(err, -ENOTTY, "process %d has no terminal", p->pid);
	struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)columns };
	if (ioctl(p->out.w.fd, TIOCSWINSZ, &ws) < 0)
		return capsa_error_errno(err, -errno, "resizing the terminal of process %d", p->pid);
	return 0;
}

void stdio_process_exited(struct process *p)
{
	output_service(&p->out);
	output_service(&p->err);
}

void stdio_close_all(struct process *p)
{
	if (p->out.read.active)
		server_reply_error(p->out.read.call, TTRPC_NOT_FOUND, "process removed");
	if (p->err.read.active)
		server_reply_error(p->err.read.call, TTRPC_NOT_FOUND, "process removed");
	if (p->in_pending)
		server_reply_error(p->in_call, TTRPC_NOT_FOUND, "process removed");
	output_close(&p->out);
	output_close(&p->err);
	if (p->in.fd >= 0) {
		loop_set(&p->in, 0);
		close(p->in.fd);
		p->in.fd = -1;
	}
	free(p->in_data);
	p->in_data = NULL;
	p->in_pending = false;
}
