/* capsa create and capsa run: a bundle becomes a container in its own VM, owned by a new capsa-shim. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/console.h"
#include "cli/util.h"
#include "common/cleanup.h"
#include "common/fdio.h"
#include "runtime/bundle.h"
#include "runtime/config.h"
#include "runtime/host_cgroup.h"

struct create_options {
	const char *bundle, *pid_file, *console_socket, *id;
	bool detach;
};

static int parse(int argc, char **argv, bool is_run, struct create_options *o)
{
	static const struct option longopts[] = {
		{ "bundle", required_argument, NULL, 'b' }, { "pid-file", required_argument, NULL, 'p' },
		{ "console-socket", required_argument, NULL, 's' }, { "no-pivot", no_argument, NULL, 'P' },
		{ "no-new-keyring", no_argument, NULL, 'K' }, { "detach", no_argument, NULL, 'd' },
		{ "preserve-fds", required_argument, NULL, 'F' }, { "keep", no_argument, NULL, 'k' },
		{ "no-subreaper", no_argument, NULL, 'R' }, { 0 },
	};
	*o = (struct create_options){ .bundle = "." };
	int c;
	while ((c = getopt_long(argc, argv, "b:d", longopts, NULL)) != -1) {
		switch (c) {
		case 'b': o->bundle = optarg; break;
		case 'p': o->pid_file = optarg; break;
		case 's': o->console_socket = optarg; break;
		case 'd': o->detach = true; break;
		case 'P': case 'K': case 'F': case 'k': case 'R': break;   /* accepted: they mean nothing in a VM */
		default: return -EINVAL;
		}
	}
	const char *usage = is_run ? "capsa run [-d] [--bundle DIR] [--pid-file FILE] [--console-socket PATH] ID"
				   : "capsa create [--bundle DIR] [--pid-file FILE] [--console-socket PATH] ID";
	if (!expect_args(argc, optind, 1, usage))
		return -EINVAL;
	o->id = argv[optind];
	return 0;
}

/* Waits for the shim's "ok" or "error: ..." line, or its death. */
static int wait_ready(int fd, pid_t shim, struct capsa_error *err)
{
	int pidfd = (int)syscall(SYS_pidfd_open, shim, 0);
	char buf[1200];
	size_t len = 0;
	for (;;) {
		struct pollfd pfd[2] = { { .fd = fd, .events = POLLIN }, { .fd = pidfd, .events = POLLIN } };
		int n = poll(pfd, pidfd >= 0 ? 2 : 1, 300000);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {
			close(pidfd);
			return capsa_error_set(err, -ETIMEDOUT, "capsa-shim did not get the container ready in 300 s");
		}
		ssize_t got = pfd[0].revents ? read(fd, buf + len, sizeof(buf) - 1 - len) : 0;
		if (got > 0) {
			len += (size_t)got;
			buf[len] = '\0';
			if (!strchr(buf, '\n') && len < sizeof(buf) - 1)
				continue;
		}
		close(pidfd);
		buf[len] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		if (!strcmp(buf, "ok"))
			return 0;
		if (!strncmp(buf, "error: ", 7))
			return capsa_error_set(err, -EIO, "%s", buf + 7);
		return capsa_error_set(err, -EIO, "capsa-shim exited while creating the container");
	}
}

/* Returns the shim's pid. Leaves nothing behind on failure. */
static int create_container(const struct cli_globals *g, const struct create_options *o, struct capsa_error *err)
{
	struct bundle b;
	struct capsa_config config;
	if (!valid_container_id(o->id))
		return capsa_error_set(err, -EINVAL, "invalid container id '%s': use letters, digits, '_', '.', '-', '+'", o->id);
	int r = bundle_load(o->bundle, &b, err);
	if (r < 0)
		return r;
	/* refuse a bad configuration before anything exists */
	if ((r = cli_load_config(g, &config, err)) < 0) {
		bundle_clear(&b);
		return r;
	}
	config_free(&config);
	bool terminal = json_is_true(json_object_get(json_object_get(b.spec, "process"), "terminal"));
	if (terminal && !o->console_socket) {
		bundle_clear(&b);
		return capsa_error_set(err, -EINVAL, "process.terminal is true: --console-socket is required");
	}
	char shim_path[4096];
	if ((r = sibling_program("capsa-shim", shim_path, sizeof(shim_path))) < 0) {
		bundle_clear(&b);
		return capsa_error_errno(err, r, "capsa-shim '%s'", shim_path);
	}
	if ((r = state_create_dir(g->root, o->id, err)) < 0) {
		bundle_clear(&b);
		return r;
	}
	_cleanup_close_ int lock = state_lock(g->root, o->id, err);
	char created[64];
	rfc3339_now(created, sizeof(created));
	json_t *ann = json_object_get(b.spec, "annotations");
	struct container_state st = {
		.id = (char *)o->id, .bundle = b.dir, .rootfs = b.rootfs, .created = created, .status = STATUS_CREATING,
		.exit_status = -1, .annotations = json_is_object(ann) ? ann : NULL,
	};
	if (lock < 0 || (r = state_write(g->root, &st, err)) < 0) {
		r = lock < 0 ? lock : r;
		goto fail;
	}
	int ready[2];
	if (pipe2(ready, O_CLOEXEC) < 0) {
		r = capsa_error_errno(err, -errno, "pipe");
		goto fail;
	}
	pid_t pid = fork();
	if (pid < 0) {
		r = capsa_error_errno(err, -errno, "fork");
		close(ready[0]);
		close(ready[1]);
		goto fail;
	}
	if (pid == 0) {
		/* detached from the caller's session, still its descendant; only stdio and the ready pipe go along */
		setsid();
		if (dup2(ready[1], 3) < 0)
			_exit(127);
		syscall(SYS_close_range, 4, ~0U, 0);
		char *argv[16];
		int n = 0;
		argv[n++] = shim_path;
		argv[n++] = "--root";
		argv[n++] = (char *)g->root;
		argv[n++] = "--id";
		argv[n++] = (char *)o->id;
		argv[n++] = "--bundle";
		argv[n++] = b.dir;
		argv[n++] = "--ready-fd";
		argv[n++] = "3";
		if (g->config_path) {
			argv[n++] = "--config";
			argv[n++] = (char *)g->config_path;
		}
		if (o->console_socket) {
			argv[n++] = "--console-socket";
			argv[n++] = (char *)o->console_socket;
		}
		argv[n] = NULL;
		execv(shim_path, argv);
		_exit(127);
	}
	close(ready[1]);
	r = wait_ready(ready[0], pid, err);
	close(ready[0]);
	if (r < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		goto fail;
	}
	if (o->pid_file && (r = write_pid_file(o->pid_file, pid, err)) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		goto fail;
	}
	bundle_clear(&b);
	return pid;
fail:;
	/* whatever the shim got to before failing dies with it; the state goes too */
	struct container_state written;
	if (state_read(g->root, o->id, &written, NULL) == 0) {
		if (written.cgroup_path)
			host_cgroup_remove(written.cgroup_path);
		state_clear(&written);
	}
	state_remove(g->root, o->id);
	bundle_clear(&b);
	return r;
}

int cli_create(const struct cli_globals *g, int argc, char **argv, struct capsa_error *err)
{
	struct create_options o;
	if (parse(argc, argv, false, &o) < 0)
		return 2;
	int r = create_container(g, &o, err);
	return r < 0 ? r : 0;
}

int cli_run(const struct cli_globals *g, int argc, char **argv, struct capsa_error *err)
{
	struct create_options o;
	if (parse(argc, argv, true, &o) < 0)
		return 2;
	/* attached with a terminal and no console socket: be the console ourselves, as runc run is */
	struct console console = { .listener = -1, .master = -1 };
	bool own_console = false;
	if (!o.detach && !o.console_socket) {
		struct bundle b;
		if (bundle_load(o.bundle, &b, NULL) == 0) {
			own_console = json_is_true(json_object_get(json_object_get(b.spec, "process"), "terminal"));
			bundle_clear(&b);
		}
		if (own_console) {
			int r = console_listen(&console, err);
			if (r < 0) {
				console_close(&console);
				return r;
			}
			o.console_socket = console.path;
		}
	}
	int pid = create_container(g, &o, err);
	if (pid < 0) {
		console_close(&console);
		return pid;
	}
	int r = own_console ? console_take_master(&console, err) : 0;
	if (r == 0)
		r = shim_request(g, o.id, "start", NULL, NULL, err);
	if (r < 0 || o.detach) {
		if (r < 0) {
			shim_request(g, o.id, "destroy", NULL, NULL, NULL);
			waitpid(pid, NULL, 0);
			state_remove(g->root, o.id);
		}
		console_close(&console);
		return r < 0 ? r : 0;
	}
	if (own_console)
		console_relay(&console, pid);
	console_close(&console);
	/* attached: the shim relays our stdio; its exit is the container's */
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	struct container_state st;
	if (state_read(g->root, o.id, &st, NULL) == 0) {
		if (st.cgroup_path)
			host_cgroup_remove(st.cgroup_path);
		state_clear(&st);
	}
	state_remove(g->root, o.id);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
