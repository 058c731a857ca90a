#include <stdbool.h>

#include "common/child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fdio.h"

static _Noreturn void child_exec(char *const argv[], int log_fd, const int *keep_fds, size_t n_keep, int report_fd)
{
	int e;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	setsid();
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* move everything we keep above the range it will land in, then into place */
	int base = 100 + (int)n_keep;
	int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null_fd < 0 || dup3(null_fd, base, O_CLOEXEC) < 0 || dup3(log_fd, base + 1, O_CLOEXEC) < 0 ||
	    dup3(report_fd, base + 2, O_CLOEXEC) < 0)
		goto fail;
	report_fd = base + 2;
	for (size_t i = 0; i < n_keep; i++)
		if (dup3(keep_fds[i], base + 3 + (int)i, O_CLOEXEC) < 0)
			goto fail;
	if (dup2(base, 0) < 0 || dup2(base + 1, 1) < 0 || dup2(base + 1, 2) < 0)
		goto fail;
	for (size_t i = 0; i < n_keep; i++)
		if (dup2(base + 3 + (int)i, 3 + (int)i) < 0)
			goto fail;
	/* everything else must not reach the helper */
	syscall(SYS_close_range, 3 + n_keep, base + 1, 0);
	syscall(SYS_close_range, base + 3, ~0U, 0);
	execv(argv[0], argv);
fail:
	e = errno;
	if (write(report_fd, &e, sizeof(e)) < 0) {
		/* nobody to tell */
	}
	_exit(127);
}

int child_spawn(char *const argv[], int log_fd, const int *keep_fds, size_t n_keep, struct child *ret,
		struct capsa_error *err)
{
	int report[2];
	if (pipe2(report, O_CLOEXEC) < 0)
		return capsa_error_errno(err, -errno, "pipe");
	pid_t pid = fork();
	if (pid < 0) {
		close(report[0]);
		close(report[1]);
		return capsa_error_errno(err, -errno, "fork for %s", argv[0]);
	}
	if (pid == 0) {
		close(report[0]);
		child_exec(argv, log_fd, keep_fds, n_keep, report[1]);
	}
	close(report[1]);
	int e = 0;
	ssize_t n = read_full(report[0], &e, sizeof(e));
	close(report[0]);
	if (n == sizeof(e)) {
		waitpid(pid, NULL, 0);
		return capsa_error_errno(err, -e, "executing '%s'", argv[0]);
	}
	*ret = (struct child){ .pid = pid, .pidfd = (int)syscall(SYS_pidfd_open, pid, 0) };
	if (ret->pidfd < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		*ret = (struct child){ 0 };
		return capsa_error_errno(err, -errno, "pidfd_open");
	}
	fcntl(ret->pidfd, F_SETFD, FD_CLOEXEC);
	return 0;
}

int child_wait(struct child *c, int timeout_ms)
{
	if (c->pid <= 0 || c->reaped)
		return 0;
	struct pollfd pfd = { .fd = c->pidfd, .events = POLLIN };
	long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	for (;;) {
		int left = deadline < 0 ? -1 : (int)(deadline - now_ms());
		if (deadline >= 0 && left < 0)
			left = 0;
		int n = poll(&pfd, 1, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -ETIMEDOUT;
		break;
	}
	if (waitpid(c->pid, &c->status, 0) == c->pid)
		c->reaped = true;
	return 0;
}

bool child_running(struct child *c)
{
	return c->pid > 0 && !c->reaped && child_wait(c, 0) == -ETIMEDOUT;
}

void child_stop(struct child *c, int timeout_ms)
{
	if (c->pid <= 0 || c->reaped)
		return;
	syscall(SYS_pidfd_send_signal, c->pidfd, SIGTERM, NULL, 0);
	if (child_wait(c, timeout_ms) == -ETIMEDOUT) {
		syscall(SYS_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0);
		child_wait(c, -1);
	}
}

void child_release(struct child *c)
{
	if (c->pid > 0 && !c->reaped)
		child_stop(c, 0);
	if (c->pid > 0)
		close(c->pidfd);
	*c = (struct child){ 0 };
}
