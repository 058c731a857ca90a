#include "vmm/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "common/cleanup.h"

struct loop_source {
	int fd;
	uint32_t events;
	loop_fn fn;
	void *opaque;
	pthread_mutex_t *lock;
	bool removed;
	struct loop_source *next_dead;
};

struct loop {
	int epfd;
	bool quit;
	pthread_mutex_t dead_lock;
	struct loop_source *dead;   /* freed by the loop's thread after the round that may still point at them */
};

int loop_new(struct loop **ret, struct capsa_error *err)
{
	_cleanup_free_ struct loop *l = calloc(1, sizeof(*l));
	if (!l)
		return capsa_error_set(err, -ENOMEM, "out of memory");
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		return capsa_error_errno(err, -errno, "epoll_create1");
	pthread_mutex_init(&l->dead_lock, NULL);
	*ret = steal_pointer(&l);
	return 0;
}

static void free_dead(struct loop *l)
{
	pthread_mutex_lock(&l->dead_lock);
	struct loop_source *dead = l->dead;
	l->dead = NULL;
	pthread_mutex_unlock(&l->dead_lock);
	while (dead) {
		struct loop_source *s = dead;
		dead = s->next_dead;
		free(s);
	}
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	free_dead(l);
	close(l->epfd);
	pthread_mutex_destroy(&l->dead_lock);
	free(l);
}

int loop_add(struct loop *l, int fd, uint32_t events, loop_fn fn, void *opaque, pthread_mutex_t *lock,
	     struct loop_source **ret)
{
	struct loop_source *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	*s = (struct loop_source){ .fd = fd, .events = events, .fn = fn, .opaque = opaque, .lock = lock };
	struct epoll_event ev = { .events = events, .data.ptr = s };
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int r = -errno;
		free(s);
		return r;
	}
	if (ret)
		*ret = s;
	return 0;
}

int loop_modify(struct loop *l, struct loop_source *s, uint32_t events)
{
	if (s->removed || s->events == events)
		return 0;
	struct epoll_event ev = { .events = events, .data.ptr = s };
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, s->fd, &ev) < 0)
		return -errno;
	s->events = events;
	return 0;
}

void loop_remove(struct loop *l, struct loop_source *s)
{
	if (!s || s->removed)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	s->removed = true;
	pthread_mutex_lock(&l->dead_lock);
	s->next_dead = l->dead;
	l->dead = s;
	pthread_mutex_unlock(&l->dead_lock);
}

int loop_run_once(struct loop *l, int timeout_ms)
{
	struct epoll_event evs[16];
	int n = epoll_wait(l->epfd, evs, 16, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n && !l->quit; i++) {
		struct loop_source *s = evs[i].data.ptr;
		/* s itself stays allocated until free_dead() below; its owner may be gone */
		if (s->lock)
			pthread_mutex_lock(s->lock);
		if (!s->removed)
			s->fn(s->opaque, evs[i].events);
		if (s->lock)
			pthread_mutex_unlock(s->lock);
	}
	free_dead(l);
	return n;
}

int loop_run(struct loop *l)
{
	while (!l->quit) {
		int r = loop_run_once(l, -1);
		if (r < 0)
			return r;
	}
	return 0;
}

void loop_quit(struct loop *l)
{
	l->quit = true;
}
