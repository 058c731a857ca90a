/* A minimal QMP client: capabilities handshake and synchronous commands. */
#pragma once

#include "common/error.h"

/* Reads the greeting and negotiates capabilities on a connected socket. */
int qmp_handshake(int fd, int timeout_ms, struct capsa_error *err);
/* Runs a command without arguments; events in between are skipped. */
int qmp_execute(int fd, const char *command, int timeout_ms, struct capsa_error *err);
