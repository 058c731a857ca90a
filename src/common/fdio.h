/* Small fd helpers that retry on EINTR and report negative errno. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

int write_all(int fd, const void *buf, size_t len);
/* write_all for sockets without SIGPIPE: a gone peer is -EPIPE, not a dead process. */
int send_all(int fd, const void *buf, size_t len);
/* Reads until len bytes or EOF; returns bytes read. */
ssize_t read_full(int fd, void *buf, size_t len);
/* Reads a whole (small) file into a NUL-terminated buffer, at most max bytes. */
int read_file(const char *path, size_t max, char **ret_data, size_t *ret_len);
int write_file(const char *path, const char *data, size_t len, int mode);
int fd_set_nonblock(int fd, bool on);
/* Milliseconds on CLOCK_MONOTONIC. */
long long now_ms(void);
/* mkdir -p: creates path and its missing parents. */
int mkdir_parents(const char *path, mode_t mode);
/* Removes a directory tree (no symlink following, stays on one filesystem). */
int remove_tree(const char *path);
