#pragma once

#include "common/error.h"

/* A listening unix stream socket at path; fails if path exists. */
int unix_listen(const char *path, int backlog, struct capsa_error *err);
int unix_connect(const char *path, struct capsa_error *err);
