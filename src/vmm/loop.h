/*
 * The VMM's event loop: one epoll set served by the main thread (device
 * sockets, ioeventfds, signals, the stop request). It sleeps until an fd is
 * ready; nothing polls.
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

struct loop;
struct loop_source;

typedef void (*loop_fn)(void *opaque, uint32_t events);

int loop_new(struct loop **ret, struct capsa_error *err);
void loop_free(struct loop *l);
/*
 * Watches fd (which the caller keeps owning) for events (EPOLLIN...). With a
 * lock, fn runs with it held, and the source may be modified or removed by
 * any thread that holds that lock (a vCPU thread resetting a device): the
 * loop checks under the lock that the source is still there before calling
 * fn. Without one, only the loop's thread may touch the source.
 */
int loop_add(struct loop *l, int fd, uint32_t events, loop_fn fn, void *opaque, pthread_mutex_t *lock,
	     struct loop_source **ret);
int loop_modify(struct loop *l, struct loop_source *s, uint32_t events);
/* Stops watching; safe from inside a callback, even for a source still pending in this round. */
void loop_remove(struct loop *l, struct loop_source *s);
/* Runs until loop_quit(); returns 0 or a negative errno from epoll. */
int loop_run(struct loop *l);
/* One round: waits up to timeout_ms (-1: forever) and dispatches what is ready; returns the number of events. */
int loop_run_once(struct loop *l, int timeout_ms);
void loop_quit(struct loop *l);
