#include "runtime/pty.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/unix_socket.h"

int pty_open_raw(int *ret_master, int *ret_slave, char *name, size_t name_len, struct capsa_error *err)
{
	_cleanup_close_ int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 || ptsname_r(master, name, name_len))
		return capsa_error_errno(err, -errno, "creating a pty");
	int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		return capsa_error_errno(err, -errno, "opening %s", name);
	struct termios t;
	if (tcgetattr(slave, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(slave, TCSANOW, &t);
	}
	*ret_master = steal_fd(&master);
	*ret_slave = slave;
	return 0;
}

int console_socket_send(const char *socket_path, int master, const char *name, struct capsa_error *err)
{
	_cleanup_close_ int fd = unix_connect(socket_path, err);
	if (fd < 0)
		return capsa_error_prefix(err, "console socket");
	struct iovec iov = { .iov_base = (void *)name, .iov_len = strlen(name) };
	char control[CMSG_SPACE(sizeof(int))] = { 0 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &master, sizeof(int));
	if (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0)
		return capsa_error_errno(err, -errno, "sending the pty to console socket '%s'", socket_path);
	return 0;
}
