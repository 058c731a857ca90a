#pragma once

#include "common/error.h"

/* A listening unix socket at path; fails if path exists. type: SOCK_STREAM or SOCK_SEQPACKET,
 * optionally or'd with SOCK_NONBLOCK (SOCK_CLOEXEC is always added). */
int unix_listen_as(const char *path, int type, int backlog, struct capsa_error *err);
int unix_connect_as(const char *path, int type, struct capsa_error *err);
/* The SOCK_STREAM forms. */
int unix_listen(const char *path, int backlog, struct capsa_error *err);
int unix_connect(const char *path, struct capsa_error *err);
