/*
 * capsa exec: runs another process in a live container. The process lives
 * in the guest; here a small proxy process stands for it: it hands its
 * stdio (or a pty's slave) to the shim, forwards window-size changes and
 * signals, and exits with the process's status, as the pid-file's process
 * must for conmon and containerd.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cli/util.h"
#include "common/cleanup.h"
#include "common/fdio.h"
#include "runtime/bundle.h"
#include "runtime/control_msg.h"
#include "runtime/pty.h"

struct exec_options {
	const char *process_file, *console_socket, *pid_file, *cwd, *user, *id;
	bool tty, detach;
	char **env;
	size_t n_env;
	char **args;
};

static int parse(int argc, char **argv, struct exec_options *o)
{
	static const struct option longopts[] = {
		{ "process", required_argument, NULL, 'p' }, { "console-socket", required_argument, NULL, 's' },
		{ "pid-file", required_argument, NULL, 'P' }, { "cwd", required_argument, NULL, 'C' },
		{ "user", required_argument, NULL, 'u' }, { "env", required_argument, NULL, 'e' },
		{ "tty", no_argument, NULL, 't' }, { "detach", no_argument, NULL, 'd' },
		{ "preserve-fds", required_argument, NULL, 'F' }, { "process-label", required_argument, NULL, 'L' },
		{ "apparmor", required_argument, NULL, 'A' }, { "no-new-privs", no_argument, NULL, 'N' },
		{ "cap", required_argument, NULL, 'c' }, { "cgroup", required_argument, NULL, 'g' }, { 0 },
	};
	static char *env_storage[256];
	*o = (struct exec_options){ .env = env_storage };
	int c;
	while ((c = getopt_long(argc, argv, "+p:e:u:tdc:", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': o->process_file = optarg; break;
		case 's': o->console_socket = optarg; break;
		case 'P': o->pid_file = optarg; break;
		case 'C': o->cwd = optarg; break;
		case 'u': o->user = optarg; break;
		case 'e':
			if (o->n_env < 255)
				o->env[o->n_env++] = optarg;
			break;
		case 't': o->tty = true; break;
		case 'd': o->detach = true; break;
		case 'F': case 'L': case 'A': case 'N': case 'c': case 'g': break;
		default: return -EINVAL;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: capsa exec [--process FILE | ID COMMAND...] [--tty] [--console-socket S] [--detach] "
				"[--pid-file F] [-e K=V] [--cwd D] [--user UID[:GID]] ID\n");
		return -EINVAL;
	}
	o->id = argv[optind];
	o->args = argv + optind + 1;
	if (!o->process_file && !o->args[0]) {
		fprintf(stderr, "capsa exec: give --process FILE or a command\n");
		return -EINVAL;
	}
	return 0;
}

/* The process object: --process as given, or one built from the container's own process and the flags. */
static int build_process(const struct exec_options *o, const struct container_state *st, json_t **ret,
			 struct capsa_error *err)
{
	json_t *p;
	if (o->process_file) {
		json_error_t jerr;
		p = json_load_file(o->process_file, JSON_REJECT_DUPLICATES, &jerr);
		if (!p || !json_is_object(p)) {
			json_decref(p);
			return capsa_error_set(err, -EINVAL, "--process '%s': %s (line %d)", o->process_file,
					       p ? "not a JSON object" : jerr.text, jerr.line);
		}
	} else {
		struct bundle b;
		int r = bundle_load(st->bundle, &b, err);
		if (r < 0)
			return r;
		p = json_deep_copy(json_object_get(b.spec, "process"));
		bundle_clear(&b);
		json_t *args = json_array();
		for (char **a = o->args; *a; a++)
			json_array_append_new(args, json_string(*a));
		json_object_set_new(p, "args", args);
	}
	if (o->tty)
		json_object_set_new(p, "terminal", json_true());
	else if (!o->process_file)
		json_object_set_new(p, "terminal", json_false());
	if (o->cwd)
		json_object_set_new(p, "cwd", json_string(o->cwd));
	json_t *env = json_object_get(p, "env");
	if (!json_is_array(env)) {
		env = json_array();
		json_object_set_new(p, "env", env);
	}
	for (size_t i = 0; i < o->n_env; i++)
		json_array_append_new(env, json_string(o->env[i]));
	if (o->user) {
		unsigned uid = 0, gid = 0;
		int n = sscanf(o->user, "%u:%u", &uid, &gid);
		if (n < 1) {
			json_decref(p);
			return capsa_error_set(err, -EINVAL, "--user '%s': expected UID[:GID] as numbers", o->user);
		}
		json_object_set_new(p, "user", json_pack("{s:i, s:i}", "uid", uid, "gid", n == 2 ? gid : uid));
	}
	*ret = p;
	return 0;
}

/* The proxy's life once the process runs: relay resizes and signals, wait for the exit. */
static int proxy_wait(int conn, int tty_slave)
{
	sigset_t mask;
	sigemptyset(&mask);
	int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&mask, forwarded[i]);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	for (;;) {
		struct pollfd pfd[2] = { { .fd = conn, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			return 255;
		if (pfd[1].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				json_t *msg;
				struct winsize ws;
				if (si.ssi_signo == SIGWINCH && tty_slave >= 0 && ioctl(tty_slave, TIOCGWINSZ, &ws) == 0)
					msg = json_pack("{s:s, s:i, s:i}", "op", "resize", "rows", ws.ws_row, "columns", ws.ws_col);
				else
					msg = json_pack("{s:s, s:i}", "op", "kill", "signal", (int)si.ssi_signo);
				control_send(conn, msg, NULL, 0, NULL);
				json_decref(msg);
			}
		}
		if (pfd[0].revents) {
			json_t *msg = NULL;
			if (control_recv(conn, &msg, NULL, NULL, 0, NULL) <= 0)
				return 255;   /* the shim went away: the process went with the VM */
			json_t *ex = json_object_get(msg, "exit");
			if (ex) {
				bool exited = json_is_true(json_object_get(ex, "exited"));
				int code = (int)json_integer_value(json_object_get(ex, exited ? "code" : "signal"));
				json_decref(msg);
				if (exited)
					return code;
				signal(code, SIG_DFL);
				sigprocmask(SIG_UNBLOCK, &mask, NULL);
				raise(code);
				return 128 + code;
			}
			json_decref(msg);
		}
	}
}

int cli_exec(const struct cli_globals *g, int argc, char **argv, struct capsa_error *err)
{
	struct exec_options o;
	if (parse(argc, argv, &o) < 0)
		return 2;
	struct container_state st;
	int r = load_live_state(g, o.id, &st, err);
	if (r < 0)
		return r;
	json_t *process = NULL;
	r = build_process(&o, &st, &process, err);
	state_clear(&st);
	if (r < 0)
		return r;
	bool terminal = json_is_true(json_object_get(process, "terminal"));
	_cleanup_close_ int slave = -1;
	if (terminal) {
		if (!o.console_socket) {
			json_decref(process);
			return capsa_error_set(err, -EINVAL, "a terminal needs --console-socket");
		}
		_cleanup_close_ int master = -1;
		char name[64];
		if ((r = pty_open_raw(&master, &slave, name, sizeof(name), err)) < 0 ||
		    (r = console_socket_send(o.console_socket, master, name, err)) < 0) {
			json_decref(process);
			return r;
		}
	}
	char exec_id[32];
	snprintf(exec_id, sizeof(exec_id), "exec-%d-%lx", getpid(), (unsigned long)now_ms());

	int ready[2];
	if (pipe2(ready, O_CLOEXEC) < 0) {
		json_decref(process);
		return capsa_error_errno(err, -errno, "pipe");
	}
	pid_t pid = o.detach ? fork() : 0;
	if (pid < 0) {
		json_decref(process);
		return capsa_error_errno(err, -errno, "fork");
	}
	if (pid == 0) {
		/* the proxy (this process itself without --detach) */
		close(ready[0]);
		if (o.detach)
			setsid();
		if (slave >= 0 && o.detach)
			ioctl(slave, TIOCSCTTY, 0);   /* so it hears SIGWINCH */
		int fds[3] = { slave >= 0 ? slave : 0, slave >= 0 ? slave : 1, slave >= 0 ? slave : 2 };
		json_t *req = json_pack("{s:s, s:s, s:O}", "op", "exec", "exec_id", exec_id, "process", process);
		int conn = -1;
		struct capsa_error perr = { 0 };
		int pr = control_call(g->root, o.id, req, fds, 3, NULL, &conn, &perr);
		json_decref(req);
		if (!o.detach) {
			close(ready[1]);
			if (pr < 0) {
				json_decref(process);
				*err = perr;
				return pr;
			}
			if (o.pid_file && (pr = write_pid_file(o.pid_file, getpid(), err)) < 0) {
				json_decref(process);
				return pr;
			}
		} else {
			char msg[1200];
			snprintf(msg, sizeof(msg), pr < 0 ? "error: %s\n" : "ok\n", perr.msg);
			if (write(ready[1], msg, strlen(msg)) < 0 || pr < 0)
				_exit(1);
			close(ready[1]);
		}
		if (o.detach) {
			/* nothing of the caller's stays open but what the relay needs */
			int null = open("/dev/null", O_RDWR | O_CLOEXEC);
			if (slave >= 0)
				for (int fd = 0; fd < 3; fd++)
					dup2(null, fd);
			close(null);
		}
		int status = proxy_wait(conn, slave);
		if (!o.detach) {
			json_decref(process);
			return status;
		}
		_exit(status);
	}
	close(ready[1]);
	json_decref(process);
	char buf[1200];
	ssize_t n = read_full(ready[0], buf, sizeof(buf) - 1);
	close(ready[0]);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (strcmp(buf, "ok")) {
		waitpid(pid, NULL, 0);
		return capsa_error_set(err, -EIO, "%s", !strncmp(buf, "error: ", 7) ? buf + 7 : "the exec proxy failed");
	}
	if (o.pid_file && (r = write_pid_file(o.pid_file, pid, err)) < 0) {
		kill(pid, SIGKILL);
		return r;
	}
	return 0;
}
