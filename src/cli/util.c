#include "cli/util.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fdio.h"
#include "runtime/control_msg.h"

static const struct {
	const char *name;
	int number;
} signals[] = {
	{ "HUP", SIGHUP },   { "INT", SIGINT },       { "QUIT", SIGQUIT }, { "ILL", SIGILL },   { "TRAP", SIGTRAP },
	{ "ABRT", SIGABRT }, { "IOT", SIGIOT },       { "BUS", SIGBUS },   { "FPE", SIGFPE },   { "KILL", SIGKILL },
	{ "USR1", SIGUSR1 }, { "SEGV", SIGSEGV },     { "USR2", SIGUSR2 }, { "PIPE", SIGPIPE }, { "ALRM", SIGALRM },
	{ "TERM", SIGTERM }, { "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD }, { "CONT", SIGCONT }, { "STOP", SIGSTOP },
	{ "TSTP", SIGTSTP }, { "TTIN", SIGTTIN },     { "TTOU", SIGTTOU }, { "URG", SIGURG },   { "XCPU", SIGXCPU },
	{ "XFSZ", SIGXFSZ }, { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH }, { "IO", SIGIO },
	{ "POLL", SIGPOLL }, { "PWR", SIGPWR },       { "SYS", SIGSYS },
};

int parse_signal(const char *text)
{
	char *end;
	long n = strtol(text, &end, 10);
	if (*text && !*end)
		return n > 0 && n <= 64 ? (int)n : -EINVAL;
	const char *name = !strncasecmp(text, "SIG", 3) ? text + 3 : text;
	for (size_t i = 0; i < ARRAY_SIZE(signals); i++)
		if (!strcasecmp(name, signals[i].name))
			return signals[i].number;
	if (!strncasecmp(name, "RTMIN+", 6)) {
		n = strtol(name + 6, &end, 10);
		if (!*end && n >= 0 && SIGRTMIN + n <= SIGRTMAX)
			return SIGRTMIN + (int)n;
	}
	return -EINVAL;
}

int write_pid_file(const char *path, pid_t pid, struct capsa_error *err)
{
	char tmp[4200], text[32];
	snprintf(tmp, sizeof(tmp), "%s.capsa-tmp", path);
	int n = snprintf(text, sizeof(text), "%d", pid);
	int r = write_file(tmp, text, (size_t)n, 0644);
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return capsa_error_errno(err, r, "writing pid file '%s'", path);
	}
	return 0;
}

int sibling_program(const char *name, char *buf, size_t len)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return -errno;
	self[n] = '\0';
	snprintf(buf, len, "%s/%s", dirname(self), name);
	return access(buf, X_OK) < 0 ? -errno : 0;
}

int load_live_state(const struct cli_globals *g, const char *id, struct container_state *ret, struct capsa_error *err)
{
	int r = state_read(g->root, id, ret, err);
	if (r < 0)
		return r;
	enum container_status s = state_current_status(ret);
	if (s == STATUS_STOPPED || s == STATUS_CREATING) {
		/* "container not running": the words containerd takes as "already finished" */
		r = capsa_error_set(err, -ESRCH, s == STATUS_STOPPED ? "container not running: '%s' has stopped"
								      : "container not running: '%s' is still being created", id);
		state_clear(ret);
		return r;
	}
	return 0;
}

int shim_request(const struct cli_globals *g, const char *id, const char *op, json_t *extra, json_t **ret,
		 struct capsa_error *err)
{
	json_t *req = extra ? json_incref(extra) : json_object();
	json_object_set_new(req, "op", json_string(op));
	int r = control_call(g->root, id, req, NULL, 0, ret, NULL, err);
	json_decref(req);
	return r;
}

int wait_pid_gone(pid_t pid, unsigned long long start_time, int timeout_ms)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return 0;   /* already gone */
	/* the pid may have been reused since the state was written */
	if (start_time && process_start_time(pid) != start_time) {
		close(fd);
		return 0;
	}
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int n;
	do
		n = poll(&pfd, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	close(fd);
	return n == 0 ? -ETIMEDOUT : 0;
}

void rfc3339_now(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%09ldZ", ts.tv_nsec);
}

bool expect_args(int argc, int optind_now, int want, const char *usage)
{
	if (argc - optind_now == want)
		return true;
	fprintf(stderr, "capsa: %s\nusage: %s\n", argc - optind_now < want ? "missing argument" : "too many arguments", usage);
	return false;
}

int cli_load_config(const struct cli_globals *g, struct capsa_config *ret, struct capsa_error *err)
{
	int r = config_load(g->config_path, ret, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ret->n_warnings; i++)
		fprintf(stderr, "capsa: warning: %s\n", ret->warnings[i]);
	return 0;
}
