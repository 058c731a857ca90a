/* A tiny epoll loop: objects embed a struct watch and get called back with events. */
#pragma once

#include <stdint.h>

#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

struct watch;
typedef void (*watch_fn)(struct watch *w, uint32_t events);

struct watch {
	int fd;
	uint32_t events;   /* what is registered now; 0: not registered */
	watch_fn fn;
};

int loop_init(void);
/* Registers, changes or (events 0) removes interest in w->fd. */
int loop_set(struct watch *w, uint32_t events);
/* Waits for events and dispatches them; returns after one batch. */
int loop_run_once(int timeout_ms);
