/* capsa-shim: started by `capsa create`, one per container sandbox (see shim.h). */
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
#include <sys/stat.h>
#include <unistd.h>

#include "client/agent_api.h"
#include "common/cleanup.h"
#include "common/fdio.h"
#include "runtime/host_cgroup.h"
#include "shim/shim.h"

#define MAX_POLL 64

struct options {
	const char *root, *id, *bundle, *config, *console_socket;
	int ready_fd;
};

static int parse(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "root", required_argument, NULL, 'r' }, { "id", required_argument, NULL, 'i' },
		{ "bundle", required_argument, NULL, 'b' }, { "config", required_argument, NULL, 'c' },
		{ "console-socket", required_argument, NULL, 's' }, { "ready-fd", required_argument, NULL, 'f' },
		{ 0 },
	};
	*o = (struct options){ .ready_fd = -1 };
	int c;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': o->root = optarg; break;
		case 'i': o->id = optarg; break;
		case 'b': o->bundle = optarg; break;
		case 'c': o->config = optarg; break;
		case 's': o->console_socket = optarg; break;
		case 'f': o->ready_fd = atoi(optarg); break;
		default: return -EINVAL;
		}
	}
	return o->root && o->id && o->bundle && o->ready_fd > 2 ? 0 : -EINVAL;
}

static int setup(struct shim *s, const struct options *o, struct capsa_error *err)
{
	int r;
	snprintf(s->state_dir, sizeof(s->state_dir), "%s/%s", o->root, o->id);
	if ((r = state_read(o->root, o->id, &s->st, err)) < 0 || (r = bundle_load(o->bundle, &s->bundle, err)) < 0 ||
	    (r = config_load(o->config, &s->config, err)) < 0)
		return r;

	/* the engine accounts the sandbox's host processes in the container's cgroup */
	const char *cgroups_path = json_string_value(json_object_get(json_object_get(s->bundle.spec, "linux"), "cgroupsPath"));
	char cg[1024];
	if (cgroups_path && host_cgroup_normalise(cgroups_path, cg, sizeof(cg)) == 0) {
		if ((r = host_cgroup_join(cg, getpid(), err)) < 0)
			return r;
		s->st.cgroup_path = strdup(cg);
	}

	json_t *guest_spec = json_deep_copy(s->bundle.spec);
	if (!guest_spec)
		return capsa_error_set(err, -ENOMEM, "out of memory");
	s->terminal = json_is_true(json_object_get(json_object_get(guest_spec, "process"), "terminal"));
	if ((r = sandbox_prepare(s, guest_spec, err)) < 0 || (s->terminal && (r = sandbox_console(s, err)) < 0) ||
	    (r = control_listen(s, err)) < 0) {
		json_decref(guest_spec);
		return r;
	}

	struct hypervisor_config hc;
	if ((r = config_hypervisor_settings(&s->config, &hc, err)) < 0) {
		json_decref(guest_spec);
		return r;
	}
	bundle_vm_size(guest_spec, hc.vcpus, (unsigned)s->config.hv.default_maxvcpus, hc.memory_mib, &hc.vcpus, &hc.memory_mib);
	char shared[4200], run_dir[4200];
	snprintf(shared, sizeof(shared), "%s/shared", s->state_dir);
	snprintf(run_dir, sizeof(run_dir), "%s/vm", s->state_dir);
	mkdir(run_dir, 0700);
	hc.shared_dir = shared;
	hc.run_dir = run_dir;
	if (hc.shared_fs == SHARED_FS_NONE)
		hc.shared_fs = SHARED_FS_VIRTIO_FS;   /* block rootfs is a later issue: share it for now */
	const char *hostname = json_string_value(json_object_get(guest_spec, "hostname"));
	if ((r = session_start(&qemu_ops, &hc, hostname ? hostname : o->id, &s->session, err)) < 0) {
		json_decref(guest_spec);
		return r;
	}
	_cleanup_free_ char *spec_text = json_dumps(guest_spec, JSON_COMPACT);
	json_decref(guest_spec);
	if (!spec_text)
		return capsa_error_set(err, -ENOMEM, "out of memory");
	if ((r = agent_create_container(s->session.agent, o->id, spec_text, strlen(spec_text), GUEST_ROOTFS, err)) < 0)
		return r;
	struct relay_io io = s->terminal ? (struct relay_io){ .in = s->pty_slave, .out = s->pty_slave, .err = -1, .terminal = true }
					 : (struct relay_io){ .in = STDIN_FILENO, .out = STDOUT_FILENO, .err = STDERR_FILENO };
	if ((r = relay_new(s->session.agent, o->id, "", &io, &s->init_relay, err)) < 0)
		return r;
	free(s->st.rootfs);
	s->st.rootfs = strdup(s->bundle.rootfs);
	s->st.pid = getpid();
	s->st.pid_start = process_start_time(getpid());
	s->st.status = STATUS_CREATED;
	return state_write(o->root, &s->st, err);
}

static void forward_resize(struct shim *s)
{
	struct winsize ws;
	if (s->pty_slave >= 0 && ioctl(s->pty_slave, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
		agent_tty_resize(s->session.agent, s->id, "", ws.ws_row, ws.ws_col, NULL);
}

static void handle_signals(struct shim *s)
{
	struct signalfd_siginfo si;
	while (read(s->signals, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGWINCH)
			forward_resize(s);
		else if (!s->vm_gone)   /* like runc run: what the shim is sent goes to the container */
			agent_signal_process(s->session.agent, s->id, "", (int)si.ssi_signo, false, NULL);
	}
}

/* Runs until the container's init process has exited and its output is drained. */
static void run(struct shim *s)
{
	struct pollfd pfd[MAX_POLL];
	struct exec_proc *owners[MAX_POLL];
	forward_resize(s);
	while (!relay_finished(s->init_relay)) {
		size_t n = 0;
		pfd[n++] = (struct pollfd){ .fd = agent_client_fd(s->session.agent), .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = s->control, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = s->signals, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = relay_input_fd(s->init_relay), .events = POLLIN };
		for (struct exec_proc *e = s->execs; e && n + 2 <= MAX_POLL; e = e->next) {
			owners[n] = e;
			pfd[n++] = (struct pollfd){ .fd = relay_input_fd(e->relay), .events = POLLIN };
			owners[n] = e;
			pfd[n++] = (struct pollfd){ .fd = e->conn, .events = POLLIN };
		}
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		struct capsa_error err = { 0 };
		if (pfd[2].revents)
			handle_signals(s);
		if (pfd[0].revents && agent_client_pump(s->session.agent, 0, &err) < 0) {
			s->vm_gone = true;   /* the hypervisor died under us */
			break;
		}
		/* control requests make synchronous agent calls, which may take in answers meant for the
		 * relays: step the relays after them, or those answers would wait for the next wake-up */
		for (size_t i = 4; i < n; i += 2)
			if (pfd[i + 1].revents && owners[i]->conn >= 0)
				exec_conn_readable(s, owners[i]);
		if (pfd[1].revents)
			control_accept(s);
		if (relay_step(s->init_relay, pfd[3].revents != 0, &err) < 0) {
			s->vm_gone = true;
			break;
		}
		for (size_t i = 4; i < n; i += 2)
			relay_step(owners[i]->relay, pfd[i].revents != 0, &err);
		execs_reap(s, false);
	}
}

static _Noreturn void finish(struct shim *s)
{
	struct agent_exit status = { .signal = SIGKILL };
	if (!s->vm_gone && relay_finished(s->init_relay))
		status = relay_exit_status(s->init_relay);
	execs_reap(s, true);
	relay_free(s->init_relay);
	s->init_relay = NULL;
	s->st.status = STATUS_STOPPED;
	s->st.exit_status = status.exited ? (status.code & 0xff) << 8 : status.signal;
	shim_write_state(s);
	struct capsa_error err = { 0 };
	if (!s->vm_gone && session_stop(&s->session, 10000, &err) < 0)
		fprintf(stderr, "capsa-shim: stopping the VM: %s\n", err.msg);
	session_destroy(&s->session);
	char path[4300];
	snprintf(path, sizeof(path), "%s/shim.sock", s->state_dir);
	unlink(path);
	if (status.exited)
		_exit(status.code);
	/* die by the same signal, so whoever waits on us sees what the container saw */
	signal(status.signal, SIG_DFL);
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	raise(status.signal);
	_exit(128 + status.signal);
}

int main(int argc, char **argv)
{
	struct options o;
	if (parse(argc, argv, &o) < 0) {
		fprintf(stderr, "usage: capsa-shim --root DIR --id ID --bundle DIR --ready-fd N [--config FILE] "
				"[--console-socket PATH]\n(started by capsa create, not by hand)\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	sigset_t mask;
	sigemptyset(&mask);
	int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaddset(&mask, forwarded[i]);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	struct shim s = { .root = o.root, .id = o.id, .console_socket = o.console_socket, .pty_slave = -1,
			  .control = -1, .signals = -1 };
	s.signals = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	struct capsa_error err = { 0 };
	int r = s.signals < 0 ? capsa_error_errno(&err, -errno, "signalfd") : setup(&s, &o, &err);
	char msg[1200];
	snprintf(msg, sizeof(msg), r < 0 ? "error: %s\n" : "ok\n", err.code ? err.msg : strerror(-r));
	if (write(o.ready_fd, msg, strlen(msg)) < 0 || r < 0) {
		session_destroy(&s.session);
		return 1;
	}
	close(o.ready_fd);
	if (s.terminal) {
		/* the caller's stdio is not ours to hold with a terminal: the pty carries everything */
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		for (int fd = 0; fd < 3 && null >= 0; fd++)
			dup2(null, fd);
		if (null > 2)
			close(null);
	}
	run(&s);
	finish(&s);
}
