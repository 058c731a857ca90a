/* Host ptys for containers with a terminal, and runc's console-socket hand-over of their master. */
#pragma once

#include <stddef.h>

#include "common/error.h"

/* A new pty; the slave is put in raw mode (the guest's own pty does the line discipline). */
int pty_open_raw(int *ret_master, int *ret_slave, char *name, size_t name_len, struct capsa_error *err);
/* runc's protocol: connect to the socket and send the master with SCM_RIGHTS, its name as payload. */
int console_socket_send(const char *socket_path, int master, const char *name, struct capsa_error *err);
