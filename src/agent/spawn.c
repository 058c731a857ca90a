#include "agent/process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "agent/exec.h"
#include "agent/rootfs.h"
#include "common/cleanup.h"

#define SPAWN_TIMEOUT_MS 30000

/* Messages from the child on the sync socket: "R" ready (with a pty master attached when
 * the process has a terminal), "E<text>" failed. EOF after the start byte means exec worked. */

static int send_fd(int sock, const char *msg, int fd)
{
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = strlen(msg) };
	char control[CMSG_SPACE(sizeof(int))] = { 0 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (fd >= 0) {
		mh.msg_control = control;
		mh.msg_controllen = sizeof(control);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static _Noreturn void child_fail(int sock, const struct capsa_error *err, int status)
{
	char msg[sizeof(err->msg) + 1];
	snprintf(msg, sizeof(msg), "E%s", err->msg);
	send_fd(sock, msg, -1);
	_exit(status);
}

static int join_namespaces(pid_t init_pid, struct capsa_error *err)
{
	/* mnt last: after it /proc/<pid> may no longer be the guest's */
	static const char *const names[] = { "ipc", "uts", "net", "cgroup", "mnt" };
	int fds[ARRAY_SIZE(names)];
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", init_pid, names[i]);
		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0)
			return capsa_error_errno(err, -errno, "opening %s", path);
	}
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (setns(fds[i], 0) < 0)
			return capsa_error_errno(err, -errno, "joining the container's %s namespace", names[i]);
		close(fds[i]);
	}
	return 0;
}

/* A new network namespace starts with lo down; every container runtime brings it up. */
static int loopback_up(struct capsa_error *err)
{
	_cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = { 0 };
	strcpy(ifr.ifr_name, "lo");
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return capsa_error_errno(err, -errno, "reading the flags of lo");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		return capsa_error_errno(err, -errno, "bringing lo up");
	return 0;
}

static int open_terminal(int sock, const struct oci_process *op, struct capsa_error *err)
{
	_cleanup_close_ int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return capsa_error_errno(err, -errno, "opening /dev/ptmx");
	char name[64];
	if (grantpt(master) < 0 || unlockpt(master) < 0 || ptsname_r(master, name, sizeof(name)))
		return capsa_error_errno(err, -errno, "setting up the pty");
	int slave = open(name, O_RDWR | O_NOCTTY);
	if (slave < 0)
		return capsa_error_errno(err, -errno, "opening %s", name);
	if (op->console_rows && op->console_columns) {
		struct winsize ws = { .ws_row = op->console_rows, .ws_col = op->console_columns };
		ioctl(slave, TIOCSWINSZ, &ws);
	}
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return capsa_error_errno(err, -errno, "making %s the controlling terminal", name);
	for (int fd = 0; fd < 3; fd++)
		if (dup2(slave, fd) < 0)
			return capsa_error_errno(err, -errno, "dup2 of the pty");
	if (slave > 2)
		close(slave);
	return send_fd(sock, "R", master);
}

static _Noreturn void child_main(struct container *c, const struct oci_process *op, bool is_init, int sock,
				 int stdio[3], pid_t init_pid)
{
	struct capsa_error err = { 0 };
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (setsid() < 0) {
		capsa_error_errno(&err, -errno, "setsid");
		child_fail(sock, &err, 1);
	}
	if (!op->terminal)
		for (int fd = 0; fd < 3; fd++)
			if (dup2(stdio[fd], fd) < 0) {
				capsa_error_errno(&err, -errno, "dup2 of stdio");
				child_fail(sock, &err, 1);
			}
	if (is_init) {
		if (c->spec.hostname && (c->spec.clone_flags & CLONE_NEWUTS) &&
		    sethostname(c->spec.hostname, strlen(c->spec.hostname)) < 0) {
			capsa_error_errno(&err, -errno, "sethostname '%s'", c->spec.hostname);
			child_fail(sock, &err, 1);
		}
		if ((c->spec.clone_flags & CLONE_NEWNET) && loopback_up(&err) < 0)
			child_fail(sock, &err, 1);
		if (rootfs_setup(&c->spec, c->rootfs, &err) < 0 || apply_sysctls(c->spec.sysctl, &err) < 0 ||
		    rootfs_finish(&c->spec, &err) < 0)
			child_fail(sock, &err, 1);
	} else {
		if (join_namespaces(init_pid, &err) < 0)
			child_fail(sock, &err, 1);
		if (chdir("/") < 0) {
			capsa_error_errno(&err, -errno, "chdir /");
			child_fail(sock, &err, 1);
		}
	}
	/* checked as the process's own user would run it would be better; root's view is what runc checks too */
	if (is_init && process_check_executable(op, &err) < 0)
		child_fail(sock, &err, 1);
	int r = op->terminal ? open_terminal(sock, op, &err) : send_fd(sock, "R", -1);
	if (r < 0)
		child_fail(sock, &err, 1);
	char go;
	if (read(sock, &go, 1) != 1)
		_exit(1);   /* the agent gave up on us */
	process_exec(op, &err);
	child_fail(sock, &err, 127);
}

/* Waits for the child's next message; returns its length, 0 on EOF. */
static ssize_t recv_message(int sock, char *buf, size_t len, int *ret_fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	int n;
	do
		n = poll(&pfd, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return -ETIMEDOUT;
	char control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = buf, .iov_len = len - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control) };
	ssize_t got = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	if (got < 0)
		return -errno;
	buf[got] = '\0';
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			int fd;
			memcpy(&fd, CMSG_DATA(cm), sizeof(int));
			if (ret_fd && *ret_fd < 0)
				*ret_fd = fd;
			else
				close(fd);
		}
	return got;
}

static void kill_and_reap(struct process *p)
{
	kill(p->pid, SIGKILL);
	waitpid(p->pid, NULL, 0);
	p->pid = 0;
}

int spawn_process(struct container *c, struct process *p, const struct oci_process *op, bool is_init,
		  struct capsa_error *err)
{
	int pipes[3][2] = { { -1, -1 }, { -1, -1 }, { -1, -1 } };
	int sv[2];
	int r;
	pid_t init_pid = is_init ? 0 : c->processes->pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return capsa_error_errno(err, -errno, "socketpair");
	for (int i = 0; !op->terminal && i < 3; i++)
		if (pipe2(pipes[i], O_CLOEXEC) < 0) {
			r = capsa_error_errno(err, -errno, "pipe");
			goto fail;
		}
	int child_stdio[3] = { pipes[0][0], pipes[1][1], pipes[2][1] };
	pid_t pid;
	if (is_init) {
		/* a new mount namespace always: the rootfs setup must not touch the guest's */
		pid = (pid_t)syscall(SYS_clone, (unsigned long)(c->spec.clone_flags | CLONE_NEWNS | SIGCHLD), NULL, NULL,
				     NULL, 0UL);
	} else {
		/* enter the container's pid namespace for our next child only, then return to ours */
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/pid", init_pid);
		_cleanup_close_ int target = open(path, O_RDONLY | O_CLOEXEC);
		_cleanup_close_ int own = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
		if (target < 0 || own < 0 || setns(target, CLONE_NEWPID) < 0) {
			r = capsa_error_errno(err, -errno, "entering the pid namespace of %s", path);
			goto fail;
		}
		pid = fork();
		if (pid != 0 && setns(own, CLONE_NEWPID) < 0)
			abort();   /* the agent would spawn everything in the wrong namespace */
	}
	if (pid < 0) {
		r = capsa_error_errno(err, -errno, "clone");
		goto fail;
	}
	if (pid == 0) {
		close(sv[0]);
		child_main(c, op, is_init, sv[1], child_stdio, init_pid);
	}
	p->pid = pid;
	close(sv[1]);
	sv[1] = -1;
	for (int i = 0; !op->terminal && i < 3; i++) {
		close(child_stdio[i]);
		pipes[i][i == 0 ? 0 : 1] = -1;
	}

	char msg[1200];
	int master = -1;
	ssize_t n = recv_message(sv[0], msg, sizeof(msg), &master, SPAWN_TIMEOUT_MS);
	if (n <= 0 || msg[0] != 'R') {
		if (master >= 0)
			close(master);
		if (n > 0)
			r = capsa_error_set(err, -EIO, "%s", msg + 1);
		else
			r = capsa_error_errno(err, n < 0 ? (int)n : -EPIPE, "container process setup");
		kill_and_reap(p);
		goto fail;
	}
	p->terminal = op->terminal;
	if (op->terminal) {
		if (master < 0) {
			r = capsa_error_set(err, -EIO, "the container process sent no pty");
			kill_and_reap(p);
			goto fail;
		}
		output_init(&p->out, p, master);
		output_init(&p->err, p, -1);
		p->in.fd = fcntl(master, F_DUPFD_CLOEXEC, 0);
	} else {
		output_init(&p->out, p, pipes[1][0]);
		output_init(&p->err, p, pipes[2][0]);
		p->in.fd = pipes[0][1];
	}
	fcntl(p->out.w.fd, F_SETFL, O_NONBLOCK);
	if (p->err.w.fd >= 0)
		fcntl(p->err.w.fd, F_SETFL, O_NONBLOCK);
	if (p->in.fd >= 0)
		fcntl(p->in.fd, F_SETFL, O_NONBLOCK);
	p->sync_fd = sv[0];
	return 0;
fail:
	for (int i = 0; i < 3; i++)
		for (int k = 0; k < 2; k++)
			if (pipes[i][k] >= 0)
				close(pipes[i][k]);
	close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	return r;
}

int spawn_release(struct process *p, struct capsa_error *err)
{
	char go = 'G', msg[1200];
	int r = 0;
	if (write(p->sync_fd, &go, 1) != 1) {
		r = capsa_error_errno(err, -errno, "releasing the container process");
	} else {
		ssize_t n = recv_message(p->sync_fd, msg, sizeof(msg), NULL, SPAWN_TIMEOUT_MS);
		if (n > 0)
			r = capsa_error_set(err, -ENOEXEC, "%s", msg[0] == 'E' ? msg + 1 : msg);
		else if (n < 0)
			r = capsa_error_errno(err, (int)n, "waiting for the container process to exec");
	}
	close(p->sync_fd);
	p->sync_fd = -1;
	return r;
}
