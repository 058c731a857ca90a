/*
 * capsa-client: boots the capsa guest under a hypervisor driver and runs one
 * container in it through the agent API, relaying its stdio and exiting with
 * its status. The test client until the capsa CLI exists.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/agent_api.h"
#include "client/oci_default.h"
#include "client/relay.h"
#include "client/session.h"
#include "common/cleanup.h"
#include "common/capability.h"
#include "common/fdio.h"
#include "runtime/config.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: capsa-client [OPTIONS] --rootfs DIR [--] COMMAND [ARG...]\n"
		"Boots the capsa guest and runs COMMAND in a container whose root is DIR.\n"
		"Settings come from capsa's configuration (see capsa env); options override them.\n\n"
		"  --rootfs DIR          container root filesystem (shared with the guest)\n"
		"  --config FILE         configuration file (default: as capsa looks it up)\n"
		"  --kernel PATH         guest kernel\n"
		"  --initrd PATH         guest initrd\n"
		"  --hypervisor PATH     QEMU binary\n"
		"  --machine TYPE        microvm or q35\n"
		"  --accel MODE          auto, kvm or tcg\n"
		"  --shared-fs KIND      virtio-fs or virtio-9p\n"
		"  --cpus N              vCPUs\n"
		"  --memory MIB          guest memory\n"
		"  --tty                 give the container a terminal\n"
		"  --guest-pid-ns        no pid namespace of its own: the container sees the agent as PID 1\n"
		"  --privileged          every capability (with --guest-pid-ns: to read the agent's /proc files)\n"
		"  --timing              print start-up timings to stderr\n"
		"  --debug               verbose guest; print the guest console at the end\n"
		"  --help\n");
}

struct options {
	const char *rootfs, *config, *kernel, *initrd, *hypervisor, *machine;
	int accel;        /* -1: from the configuration */
	int shared_fs;    /* -1: from the configuration */
	unsigned cpus, memory;   /* 0: from the configuration */
	bool tty, timing, debug, guest_pid_ns, privileged;
	char **args;
};

static int parse_uint(const char *opt, const char *s, unsigned *ret)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || !*s || *end || v > 1u << 20) {
		fprintf(stderr, "capsa-client: %s: '%s' is not a number\n", opt, s);
		return -EINVAL;
	}
	*ret = (unsigned)v;
	return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "rootfs", required_argument, NULL, 'r' }, { "kernel", required_argument, NULL, 'k' },
		{ "config", required_argument, NULL, 'C' },
		{ "initrd", required_argument, NULL, 'i' }, { "hypervisor", required_argument, NULL, 'H' },
		{ "machine", required_argument, NULL, 'M' }, { "accel", required_argument, NULL, 'a' },
		{ "shared-fs", required_argument, NULL, 'f' }, { "cpus", required_argument, NULL, 'c' },
		{ "memory", required_argument, NULL, 'm' }, { "tty", no_argument, NULL, 't' },
		{ "timing", no_argument, NULL, 'T' }, { "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' }, { "guest-pid-ns", no_argument, NULL, 'P' },
		{ "privileged", no_argument, NULL, 'R' }, { 0 },
	};
	*o = (struct options){ .accel = -1, .shared_fs = -1 };
	int c;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': o->rootfs = optarg; break;
		case 'C': o->config = optarg; break;
		case 'k': o->kernel = optarg; break;
		case 'i': o->initrd = optarg; break;
		case 'H': o->hypervisor = optarg; break;
		case 'M': o->machine = optarg; break;
		case 'a':
			if (!strcmp(optarg, "auto")) o->accel = ACCEL_AUTO;
			else if (!strcmp(optarg, "kvm")) o->accel = ACCEL_KVM;
			else if (!strcmp(optarg, "tcg")) o->accel = ACCEL_TCG;
			else {
				fprintf(stderr, "capsa-client: --accel: '%s' is not one of auto, kvm, tcg\n", optarg);
				return -EINVAL;
			}
			break;
		case 'f':
			if (!strcmp(optarg, "virtio-fs")) o->shared_fs = SHARED_FS_VIRTIO_FS;
			else if (!strcmp(optarg, "virtio-9p")) o->shared_fs = SHARED_FS_VIRTIO_9P;
			else {
				fprintf(stderr, "capsa-client: --shared-fs: '%s' is not one of virtio-fs, virtio-9p\n", optarg);
				return -EINVAL;
			}
			break;
		case 'c': if (parse_uint("--cpus", optarg, &o->cpus) < 0) return -EINVAL; break;
		case 'm': if (parse_uint("--memory", optarg, &o->memory) < 0) return -EINVAL; break;
		case 't': o->tty = true; break;
		case 'T': o->timing = true; break;
		case 'd': o->debug = true; break;
		case 'P': o->guest_pid_ns = true; break;
		case 'R': o->privileged = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -EINVAL;
		}
	}
	if (!o->rootfs || optind >= argc) {
		fprintf(stderr, "capsa-client: %s\n", !o->rootfs ? "--rootfs is required" : "no COMMAND given");
		usage(stderr);
		return -EINVAL;
	}
	o->args = argv + optind;
	return 0;
}

static void print_console(const char *run_dir)
{
	char path[512];
	_cleanup_free_ char *log = NULL;
	snprintf(path, sizeof(path), "%s/console.log", run_dir);
	if (read_file(path, 1 << 20, &log, NULL) == 0)
		fprintf(stderr, "---- guest console ----\n%s---- end of guest console ----\n", log);
}

static int run(const struct options *o, const char *run_dir, struct capsa_error *err)
{
	struct stat st;
	if (stat(o->rootfs, &st) < 0 || !S_ISDIR(st.st_mode))
		return capsa_error_set(err, -ENOENT, "--rootfs '%s' is not a directory", o->rootfs);
	struct capsa_config config;
	int r = config_load(o->config, &config, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < config.n_warnings; i++)
		fprintf(stderr, "capsa-client: warning: %s\n", config.warnings[i]);
	struct hypervisor_config cfg;
	if ((r = config_hypervisor_settings(&config, &cfg, err)) < 0) {
		config_free(&config);
		return r;
	}
	if (o->hypervisor) cfg.path = o->hypervisor;
	if (o->kernel) cfg.kernel = o->kernel;
	if (o->initrd) cfg.initrd = o->initrd;
	if (o->machine) cfg.machine_type = o->machine;
	if (o->accel >= 0) cfg.accelerator = (enum accelerator)o->accel;
	if (o->shared_fs >= 0) cfg.shared_fs = (enum shared_fs_kind)o->shared_fs;
	if (o->cpus) cfg.vcpus = o->cpus;
	if (o->memory) cfg.memory_mib = o->memory;
	if (o->debug) cfg.debug = true;
	cfg.shared_dir = o->rootfs;
	cfg.run_dir = run_dir;
	struct session s;
	r = session_start(&qemu_ops, &cfg, "capsa", &s, err);
	config_free(&config);   /* the driver keeps copies of what it needs */
	if (r < 0)
		return r;

	json_t *spec = oci_default_spec(o->args, o->tty);
	/* the shared directory is the rootfs itself: writable, as a user would expect of capsa-client */
	json_object_set_new(json_object_get(spec, "root"), "readonly", json_false());
	if (o->privileged) {
		json_t *caps = json_array();
		for (int cap = 0; cap < CAPABILITY_COUNT; cap++)
			json_array_append_new(caps, json_string(capability_name(cap)));
		json_t *process = json_object_get(spec, "process");
		json_object_set_new(process, "capabilities", json_pack("{s:O, s:O, s:O}", "bounding", caps, "effective", caps,
									 "permitted", caps));
		json_decref(caps);
		json_object_del(json_object_get(spec, "linux"), "maskedPaths");
	}
	if (o->guest_pid_ns) {
		json_t *namespaces = json_object_get(json_object_get(spec, "linux"), "namespaces");
		size_t i;
		json_t *ns;
		json_array_foreach(namespaces, i, ns)
			if (!strcmp(json_string_value(json_object_get(ns, "type")), "pid")) {
				json_array_remove(namespaces, i);
				break;
			}
	}
	_cleanup_free_ char *spec_json = json_dumps(spec, JSON_COMPACT);
	json_decref(spec);
	struct agent_exit exit_status = { 0 };
	struct relay_io io = { .in = STDIN_FILENO, .out = STDOUT_FILENO, .err = STDERR_FILENO, .terminal = o->tty };
	if (!spec_json) {
		r = capsa_error_set(err, -ENOMEM, "out of memory");
	} else if ((r = agent_create_container(s.agent, "c0", spec_json, strlen(spec_json), GUEST_SHARED_DIR, err)) >= 0 &&
		   (r = agent_start_container(s.agent, "c0", err)) >= 0) {
		long long started = now_ms();
		r = agent_relay(s.agent, "c0", "", &io, &exit_status, err);
		if (o->timing)
			fprintf(stderr, "capsa-client: hypervisor start to agent ready %lld ms, to container started %lld ms, "
				"container ran %lld ms\n", s.ready_ms - s.started_ms, started - s.started_ms,
				now_ms() - started);
	}
	struct capsa_error stop_err = { 0 };
	if (session_stop(&s, 10000, &stop_err) < 0 && r >= 0)
		fprintf(stderr, "capsa-client: warning: %s\n", stop_err.msg);
	session_destroy(&s);
	return r < 0 ? r : agent_exit_status(&exit_status);
}

int main(int argc, char **argv)
{
	struct options o;
	if (parse_options(argc, argv, &o) < 0)
		return 2;
	/* a reader of our output that goes away must not kill us before the VM is cleaned up */
	signal(SIGPIPE, SIG_IGN);
	char run_dir[] = "/tmp/capsa-client.XXXXXX";
	if (!mkdtemp(run_dir)) {
		perror("capsa-client: mkdtemp");
		return 1;
	}
	struct capsa_error err = { 0 };
	int r = run(&o, run_dir, &err);
	if (r < 0 || o.debug)
		print_console(run_dir);
	remove_tree(run_dir);
	if (r < 0) {
		fprintf(stderr, "capsa-client: %s\n", err.code ? err.msg : strerror(-r));
		return 125;
	}
	return r;
}
