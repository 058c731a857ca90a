/* capsa-agent: the guest's PID 1. Sets up the guest, then serves the agent API until told to power off. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "agent/channel.h"
#include "agent/container.h"
#include "agent/init.h"
#include "agent/log.h"
#include "agent/loop.h"
#include "agent/sandbox.h"
#include "agent/server.h"
#include "common/cleanup.h"
#include "common/fdio.h"

static struct watch signals;
static bool terminate;

static void signal_event(struct watch *w, uint32_t events)
{
	(void)events;
	struct signalfd_siginfo si;
	while (read(w->fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			processes_reap();
		else
			terminate = true;
	}
}

static int open_channels(const struct agent_options *opt)
{
	struct capsa_error err = { 0 };
	int served = 0;
	if (opt->channel != CHANNEL_VSOCK) {
		int fd = -ENOENT;
		/* devtmpfs may lag the driver for a moment */
		for (int i = 0; i < 100 && fd == -ENOENT; i++) {
			fd = channel_open_port(AGENT_PORT_NAME, &err);
			if (fd == -ENOENT)
				usleep(10000);
		}
		if (fd >= 0 && server_add_port(fd) == 0) {
			log_info("serving on virtio-serial port %s", AGENT_PORT_NAME);
			served++;
		} else if (opt->channel == CHANNEL_SERIAL) {
			log_error("%s", err.msg);
		}
	}
	if (opt->channel != CHANNEL_SERIAL && channel_have_vsock()) {
		int fd = channel_listen_vsock(opt->vsock_port, &err);
		if (fd >= 0 && server_add_listener(fd) == 0) {
			log_info("serving on vsock port %u", opt->vsock_port);
			served++;
		} else {
			log_error("%s", err.msg);
		}
	}
	return served;
}

int main(void)
{
	struct capsa_error err = { 0 };
	struct agent_options opt;

	if (getpid() != 1) {
		fprintf(stderr, "capsa-agent: must run as the guest's init (PID 1)\n");
		return 1;
	}
	if (init_filesystems(&err) < 0)
		log_error("%s", err.msg);   /* keep going: the host can still ask what is wrong */
	_cleanup_free_ char *cmdline = NULL;
	read_file("/proc/cmdline", 65536, &cmdline, NULL);
	agent_options_parse(cmdline, &opt);
	log_debug("filesystems mounted, options read");
	setenv("PATH", "/bin:/sbin:/usr/bin:/usr/sbin", 1);
	signal(SIGPIPE, SIG_IGN);

	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if (loop_init() < 0) {
		log_error("epoll: %s", strerror(errno));
		sandbox_power_off();
	}
	signals = (struct watch){ .fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK), .fn = signal_event };
	if (signals.fd < 0 || loop_set(&signals, EPOLLIN) < 0) {
		log_error("signalfd: %s", strerror(errno));
		sandbox_power_off();
	}
	if (open_channels(&opt) == 0) {
		log_error("no channel to the host: powering off");
		sandbox_power_off();
	}
	log_info("ready");

	long long away_since = now_ms();
	while (!terminate && !sandbox_shutdown_requested() && !server_channel_lost()) {
		loop_run_once(opt.hangup_timeout_s ? 1000 : -1);
		if (server_connections() > 0)
			away_since = now_ms();
		else if (opt.hangup_timeout_s && now_ms() - away_since > (long long)opt.hangup_timeout_s * 1000) {
			log_warn("host gone for %u s: powering off", opt.hangup_timeout_s);
			break;
		}
	}
	/* let the last replies (DestroySandbox's) reach the host before the VM ends */
	long long deadline = now_ms() + 1000;
	while (server_output_pending() && now_ms() < deadline)
		loop_run_once(50);
	sandbox_power_off();
}
