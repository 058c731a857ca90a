/* capsa run with a terminal and no --console-socket: capsa takes the pty itself and joins it to its own stdio. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "cli/console.h"
#include "common/cleanup.h"
#include "common/fdio.h"
#include "common/unix_socket.h"

int console_listen(struct console *c, struct capsa_error *err)
{
	*c = (struct console){ .listener = -1, .master = -1 };
	snprintf(c->dir, sizeof(c->dir), "/tmp/capsa-console.XXXXXX");
	if (!mkdtemp(c->dir))
		return capsa_error_errno(err, -errno, "mkdtemp");
	snprintf(c->path, sizeof(c->path), "%s/console.sock", c->dir);
	c->listener = unix_listen(c->path, 1, err);
	return c->listener < 0 ? c->listener : 0;
}

int console_take_master(struct console *c, struct capsa_error *err)
{
	_cleanup_close_ int conn = accept4(c->listener, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0)
		return capsa_error_errno(err, -errno, "accepting the console");
	char name[128], control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = name, .iov_len = sizeof(name) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control) };
	if (recvmsg(conn, &mh, MSG_CMSG_CLOEXEC) < 0)
		return capsa_error_errno(err, -errno, "receiving the console");
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return capsa_error_set(err, -EPROTO, "the console socket carried no pty");
	memcpy(&c->master, CMSG_DATA(cm), sizeof(int));
	return 0;
}

static void copy_size(int from, int to)
{
	struct winsize ws;
	if (ioctl(from, TIOCGWINSZ, &ws) == 0)
		ioctl(to, TIOCSWINSZ, &ws);
}

/* Copies stdin to the pty and the pty to stdout until the pty closes and the shim is gone. */
int console_relay(struct console *c, pid_t shim)
{
	struct termios saved;
	bool raw = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
	if (raw) {
		struct termios t = saved;
		cfmakeraw(&t);
		tcsetattr(STDIN_FILENO, TCSANOW, &t);
		copy_size(STDIN_FILENO, c->master);
	}
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGWINCH);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	_cleanup_close_ int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, shim, 0);
	bool in_open = true;
	char buf[16384];
	for (;;) {
		struct pollfd pfd[4] = { { .fd = c->master, .events = POLLIN }, { .fd = in_open ? STDIN_FILENO : -1, .events = POLLIN },
					 { .fd = sfd, .events = POLLIN }, { .fd = pidfd, .events = POLLIN } };
		if (poll(pfd, 4, -1) < 0 && errno != EINTR)
			break;
		if (pfd[2].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) > 0)
				copy_size(STDIN_FILENO, c->master);
		}
		if (pfd[1].revents) {
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n <= 0)
				in_open = false;
			else
				write_all(c->master, buf, (size_t)n);
		}
		if (pfd[0].revents) {
			ssize_t n = read(c->master, buf, sizeof(buf));
			if (n > 0)
				write_all(STDOUT_FILENO, buf, (size_t)n);
			else if (pfd[3].revents || n < 0)
				break;   /* EIO: the other side is closed for good */
		} else if (pfd[3].revents) {
			break;
		}
	}
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	return 0;
}

void console_close(struct console *c)
{
	if (c->listener >= 0)
		close(c->listener);
	if (c->master >= 0)
		close(c->master);
	if (c->dir[0])
		remove_tree(c->dir);
	*c = (struct console){ .listener = -1, .master = -1 };
}
