#include "agent/loop.h"

#include <errno.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <unistd.h>

static int epoll_fd = -1;

int loop_init(void)
{
	epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	return epoll_fd < 0 ? -errno : 0;
}

int loop_set(struct watch *w, uint32_t events)
{
	if (events == w->events)
		return 0;
	int op = !w->events ? EPOLL_CTL_ADD : !events ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
	struct epoll_event ev = { .events = events, .data.ptr = w };
	if (epoll_ctl(epoll_fd, op, w->fd, &ev) < 0 && !(op == EPOLL_CTL_DEL && (errno == EBADF || errno == ENOENT)))
		return -errno;
	w->events = events;
	return 0;
}

int loop_run_once(int timeout_ms)
{
	/* one event a call: a callback may free the object behind a later event */
	struct epoll_event events[1];
	int n = epoll_wait(epoll_fd, events, 1, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		struct watch *w = events[i].data.ptr;
		w->fn(w, events[i].events);
	}
	return n;
}
