#include "common/unix_socket.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"

static int make_address(const char *path, struct sockaddr_un *addr, struct capsa_error *err)
{
	*addr = (struct sockaddr_un){ .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(addr->sun_path))
		return capsa_error_set(err, -ENAMETOOLONG, "socket path '%s' is longer than %zu bytes", path,
				       sizeof(addr->sun_path) - 1);
	strcpy(addr->sun_path, path);
	return 0;
}

/* A stream socket and the address of path, for bind or connect. */
static int socket_for(const char *path, int type, struct sockaddr_un *addr, struct capsa_error *err)
{
	int r = make_address(path, addr, err);
	if (r < 0)
		return r;
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	return fd < 0 ? capsa_error_errno(err, -errno, "socket") : fd;
}

int unix_listen_as(const char *path, int type, int backlog, struct capsa_error *err)
{
	struct sockaddr_un addr;
	_cleanup_close_ int fd = socket_for(path, type, &addr, err);
	int r;
	if (fd < 0)
		return fd;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return capsa_error_errno(err, -errno, "binding '%s'", path);
	if (listen(fd, backlog) < 0) {
		r = capsa_error_errno(err, -errno, "listening on '%s'", path);
		unlink(path);
		return r;
	}
	return steal_fd(&fd);
}

int unix_connect_as(const char *path, int type, struct capsa_error *err)
{
	struct sockaddr_un addr;
	_cleanup_close_ int fd = socket_for(path, type, &addr, err);
	if (fd < 0)
		return fd;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return capsa_error_errno(err, -errno, "connecting to '%s'", path);
	return steal_fd(&fd);
}

int unix_listen(const char *path, int backlog, struct capsa_error *err)
{
	return unix_listen_as(path, SOCK_STREAM, backlog, err);
}

int unix_connect(const char *path, struct capsa_error *err)
{
	return unix_connect_as(path, SOCK_STREAM, err);
}
