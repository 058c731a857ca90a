/*
 * Runs inside the lab's L1 guest: boots L2 under capsa-vmm (or QEMU with
 * KVM, for comparison), reaches the capsa agent in L2 over the virtio-serial
 * port or hybrid vsock, runs containers in it and checks what comes back,
 * then powers L2 off and checks the VMM exits 0. With --bench it reports
 * timings and memory instead (bench/vmm.sh).
 *
 * usage: lab-client --vmm capsa|qemu --binary PATH --kernel K --initrd I --dir LOGS
 *                   [--run-dir SOCKETS] [--cpus N] [--memory MIB] [--channel serial|vsock]
 *                   [--reboot k|t] [--bench]
 * --reboot: how L2 powers off under capsa-vmm: k, the i8042 reset line, or t, a triple fault
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/agent_api.h"
#include "client/oci_default.h"
#include "client/relay.h"
#include "common/child.h"
#include "common/cleanup.h"
#include "common/fdio.h"
#include "common/strv.h"
#include "common/unix_socket.h"

#define VSOCK_AGENT_PORT 1024
#define GUEST_CID 3
/* the same for both VMMs: quiet, and none of the probes that cost VM exits and time */
#define L2_CMDLINE "console=ttyS0 panic=-1 quiet capsa.log=debug pci=off 8250.nr_uarts=1 tsc=reliable " \
	"no_timer_check i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"

struct options {
	const char *vmm, *binary, *kernel, *initrd, *dir, *run_dir, *channel, *reboot;
	unsigned cpus, memory;
	bool bench;
};

static int failures;
static const char *failed_by_itself;
/* the exit status that tells run-lab.sh to boot the lab again */
#define EXIT_SPONTANEOUS_RESET 76
/* L2 reaches its agent in about 4 s here, 15 times that on a loaded host */
#define AGENT_DEADLINE_MS 60000

#define CHECK(cond, ...) do { \
		if (cond) { printf("ok: "); } else { printf("FAIL: "); failures++; } \
		printf(__VA_ARGS__); printf("\n"); fflush(stdout); \
	} while (0)

static long long t0_us;

static void agent_client_freep(struct agent_client **c)
{
	agent_client_free(*c);
}

static long long now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* The console: copied to a log, and the moment the agent (L2's /init) first speaks is noted. */
struct console_watch {
	int fd, log_fd;
	long long init_us;
};

static void *watch_console(void *opaque)
{
	struct console_watch *w = opaque;
	char buf[4096], tail[32] = "";
	ssize_t n;
	while ((n = read(w->fd, buf, sizeof(buf) - 1)) > 0) {
		(void)write_all(w->log_fd, buf, (size_t)n);
		buf[n] = '\0';
		if (!w->init_us) {
			char joined[sizeof(tail) + sizeof(buf)];
			snprintf(joined, sizeof(joined), "%s%s", tail, buf);
			if (strstr(joined, "capsa-agent"))
				w->init_us = now_us();
			size_t len = strlen(joined);
			snprintf(tail, sizeof(tail), "%s", joined + (len > 16 ? len - 16 : 0));
		}
	}
	return NULL;
}

static int spawn_vmm(const struct options *o, const char *sock, int console_fd, int log_fd, struct child *ret,
		     struct capsa_error *err)
{
	_cleanup_(strv_free) struct strv a = { 0 };
	char cpus[16], mem[32], cid[16];
	snprintf(cpus, sizeof(cpus), "%u", o->cpus);
	snprintf(cid, sizeof(cid), "%u", GUEST_CID);
	bool vsock = !strcmp(o->channel, "vsock");
	if (!strcmp(o->vmm, "capsa")) {
		snprintf(mem, sizeof(mem), "%u", o->memory);
		strv_pushf(&a, "%s", o->binary);
		strv_pushf(&a, "--kernel=%s", o->kernel);
		strv_pushf(&a, "--initrd=%s", o->initrd);
		strv_pushf(&a, "--cmdline=%s reboot=%s capsa.channel=%s", L2_CMDLINE, o->reboot, vsock ? "vsock" : "serial");
		strv_pushf(&a, "--cpus=%s", cpus);
		strv_pushf(&a, "--memory=%s", mem);
		strv_pushf(&a, "--console=/proc/self/fd/3");
		if (vsock) {
			strv_pushf(&a, "--vsock-socket=%s", sock);
			strv_pushf(&a, "--cid=%s", cid);
		} else {
			strv_pushf(&a, "--agent-socket=%s", sock);
		}
	} else {
		/* the QEMU driver's microvm set-up, with KVM, for the comparison */
		strv_pushf(&a, "%s", o->binary);
		strv_pushf(&a, "-nodefaults");
		strv_pushf(&a, "-no-user-config");
		strv_pushf(&a, "-display");
		strv_pushf(&a, "none");
		strv_pushf(&a, "-machine");
		strv_pushf(&a, "microvm,accel=kvm,acpi=off,rtc=off");
		strv_pushf(&a, "-cpu");
		strv_pushf(&a, "host");
		strv_pushf(&a, "-smp");
		strv_pushf(&a, "%s", cpus);
		strv_pushf(&a, "-m");
		strv_pushf(&a, "%uM", o->memory);
		strv_pushf(&a, "-kernel");
		strv_pushf(&a, "%s", o->kernel);
		strv_pushf(&a, "-initrd");
		strv_pushf(&a, "%s", o->initrd);
		strv_pushf(&a, "-append");
		strv_pushf(&a, "%s reboot=t capsa.channel=serial", L2_CMDLINE);
		strv_pushf(&a, "-no-reboot");
		strv_pushf(&a, "-serial");
		strv_pushf(&a, "file:/proc/self/fd/3");
		strv_pushf(&a, "-chardev");
		strv_pushf(&a, "socket,id=agent,path=%s,server=on,wait=off", sock);
		strv_pushf(&a, "-device");
		strv_pushf(&a, "virtio-serial-device,id=vser");
		strv_pushf(&a, "-device");
		strv_pushf(&a, "virtserialport,bus=vser.0,chardev=agent,name=agent.channel.0");
	}
	int keep[] = { console_fd };
	return child_spawn(a.v, log_fd, keep, 1, ret, err);
}

/* Connects to the agent, retrying while the VMM creates its socket or the guest agent is not up. */
static int connect_agent(const char *sock, bool vsock, struct child *vmm, struct agent_client **ret,
			 struct capsa_error *err)
{
	long long deadline = now_ms() + AGENT_DEADLINE_MS;
	for (;;) {
		if (!child_running(vmm))
			return capsa_error_set(err, -ECHILD, "the VMM exited before the agent answered");
		int fd = unix_connect(sock, NULL);
		if (fd >= 0 && vsock) {
			/* the guest answers REQUEST at once, listening or not: a silent VMM is a failure */
			struct timeval tv = { .tv_sec = 10 };
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			char line[64] = "";
			snprintf(line, sizeof(line), "CONNECT %d\n", VSOCK_AGENT_PORT);
			size_t got = 0;
			if (write_all(fd, line, strlen(line)) == 0) {
				/* the answer is one line: "OK <host port>\n"; a refused connection is closed */
				while (got < sizeof(line) - 1) {
					ssize_t n = read(fd, line + got, 1);
					if (n <= 0)
						break;
					got += (size_t)n;
					if (line[got - 1] == '\n')
						break;
				}
			}
			line[got] = '\0';
			if (strncmp(line, "OK ", 3)) {
				close(fd);
				fd = -1;
			}
		}
		if (fd >= 0) {
			struct timeval none = { 0 };
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
			return agent_client_new(fd, ret, err);
		}
		if (now_ms() > deadline)
			return capsa_error_set(err, -ETIMEDOUT, "no agent on '%s' after %d s", sock, AGENT_DEADLINE_MS / 1000);
		usleep(vsock ? 20000 : 5000);
	}
}

/* Runs args in a new container; returns its exit status and its output in out. */
static int run_container(struct agent_client *c, const char *id, char *const *args, char *out, size_t out_len,
			 struct capsa_error *err)
{
	json_t *spec = oci_default_spec(args, false);
	_cleanup_free_ char *json = json_dumps(spec, JSON_COMPACT);
	json_decref(spec);
	_cleanup_close_ int mem = memfd_create("output", MFD_CLOEXEC);
	if (!json || mem < 0)
		return capsa_error_set(err, -ENOMEM, "out of memory");
	int r = agent_create_container(c, id, json, strlen(json), "/rootfs", err);
	if (r >= 0)
		r = agent_start_container(c, id, err);
	struct agent_exit ex = { 0 };
	struct relay_io io = { .in = -1, .out = mem, .err = mem };
	if (r >= 0)
		r = agent_relay(c, id, "", &io, &ex, err);
	if (r < 0)
		return r;
	ssize_t n = pread(mem, out, out_len - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	return agent_exit_status(&ex);
}

static long long smaps_rss_kib(pid_t pid, unsigned guest_mib, long long *ret_guest_kib)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	char line[512];
	long long total = 0, guest = 0, size = 0;
	bool in_guest = false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi;
		long long v;
		if (sscanf(line, "%llx-%llx ", &lo, &hi) == 2 && strchr(line, ' ')) {
			size = (long long)((hi - lo) >> 10);
			/* guest RAM: capsa-vmm's memfd, or QEMU's anonymous mapping of the guest's size */
			in_guest = strstr(line, "memfd:capsa-guest") || size >= (long long)guest_mib * 1024;
		} else if (sscanf(line, "Rss: %lld kB", &v) == 1) {
			total += v;
			if (in_guest)
				guest += v;
		}
	}
	*ret_guest_kib = guest;
	return total;
}

/* CPU time (ms) the VMM's main thread, the event loop, has used. */
static long long main_thread_cpu_ms(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)pid);
	_cleanup_free_ char *stat = NULL;
	if (read_file(path, 4096, &stat, NULL) < 0)
		return -1;
	char *p = strrchr(stat, ')');
	unsigned long long utime, stime;
	/* after the command name: state, then fields 4..13, then utime (14) and stime (15) */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
		return -1;
	return (long long)(utime + stime) * 1000 / sysconf(_SC_CLK_TCK);
}

/*
 * Why L2 failed by itself, in one of the ways QEMU TCG's nested SVM makes it
 * fail now and then (docs/vmm.md), for which the harness boots the lab again;
 * NULL when it did not. A dead agent (PID 1 killed with no kernel fault
 * before it) is capsa's own failure and never counts.
 */
static const char *l2_failed_by_itself(const struct options *o, bool agent_answered, const char *log_path,
				       const char *console_path)
{
	_cleanup_free_ char *log = NULL, *console = NULL;
	if (strcmp(o->vmm, "capsa") || read_file(log_path, 1 << 20, &log, NULL) < 0 ||
	    read_file(console_path, 4 << 20, &console, NULL) < 0)
		return NULL;
	bool kernel_fault = strstr(console, "Oops") || strstr(console, "BUG:") ||
			    strstr(console, "general protection fault") || strstr(console, "double fault");
	if (kernel_fault)
		return "its kernel faulted (an oops in kernel code)";
	if (strstr(console, "Kernel panic"))
		return NULL;   /* the agent died, or the kernel gave up on something of ours */
	if (!agent_answered)
		return strstr(log, "stopped on request") && !strstr(console, "capsa-agent")
			? "its boot stalled before the agent started" : NULL;
	return strstr(log, "triple fault") && !strstr(console, "capsa-agent info: powering off")
		? "a triple fault that nobody asked for" : NULL;
}

static int run(const struct options *o, struct capsa_error *err)
{
	bool vsock = !strcmp(o->channel, "vsock");
	char sock[256], log_path[256], console_path[256];
	snprintf(sock, sizeof(sock), "%s/%s-%s.sock", o->run_dir ? o->run_dir : o->dir, o->vmm, o->channel);
	snprintf(log_path, sizeof(log_path), "%s/%s-%s.log", o->dir, o->vmm, o->channel);
	snprintf(console_path, sizeof(console_path), "%s/%s-%s.console", o->dir, o->vmm, o->channel);
	unlink(sock);
	_cleanup_close_ int log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	_cleanup_close_ int console_log = open(console_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int pipe_fds[2];
	if (log_fd < 0 || console_log < 0 || pipe2(pipe_fds, O_CLOEXEC) < 0)
		return capsa_error_errno(err, -errno, "creating logs in '%s'", o->dir);
	struct console_watch watch = { .fd = pipe_fds[0], .log_fd = console_log };
	pthread_t watcher;
	pthread_create(&watcher, NULL, watch_console, &watch);

	struct child vmm = { 0 };
	t0_us = now_us();
	int r = spawn_vmm(o, sock, pipe_fds[1], log_fd, &vmm, err);
	close(pipe_fds[1]);
	if (r >= 0)
		fprintf(stderr, "lab-client: %s started, pid %d\n", o->vmm, (int)vmm.pid);
	_cleanup_(agent_client_freep) struct agent_client *agent = NULL;   /* before the VMM is waited for */
	if (r >= 0)
		r = connect_agent(sock, vsock, &vmm, &agent, err);
	if (r >= 0) {
		fprintf(stderr, "lab-client: connected to the agent channel after %.0f ms\n", (now_us() - t0_us) / 1000.0);
		r = agent_check(agent, AGENT_DEADLINE_MS, err);
	}
	bool agent_answered = r >= 0;
	long long ready_us = now_us();
	if (r >= 0) {
		if (o->bench) {
			long long guest_kib = 0, rss = smaps_rss_kib(vmm.pid, o->memory, &guest_kib);
			printf("bench: vmm=%s to_init_ms=%.1f to_check_ms=%.1f rss_kib=%lld guest_rss_kib=%lld overhead_kib=%lld\n",
			       o->vmm, (watch.init_us - t0_us) / 1000.0, (ready_us - t0_us) / 1000.0, rss, guest_kib,
			       rss - guest_kib);
		} else {
			CHECK(true, "%s over %s: agent answered Check %.0f ms after start (L2 /init at %.0f ms)", o->vmm,
			      o->channel, (ready_us - t0_us) / 1000.0, (watch.init_us - t0_us) / 1000.0);
			if (!strcmp(o->vmm, "capsa")) {
				/* an idle guest: the event loop must sleep, not poll */
				long long before = main_thread_cpu_ms(vmm.pid);
				usleep(2000000);
				long long used = main_thread_cpu_ms(vmm.pid) - before;
				CHECK(before >= 0 && used <= 100, "event loop idle: %lld ms of CPU in 2 s", used);
			}
			char out[512];
			char *echo[] = { "echo", "hello", NULL };
			r = run_container(agent, "echo", echo, out, sizeof(out), err);
			CHECK(r == 0 && !strcmp(out, "hello"), "echo hello: status %d, output '%s'", r, out);
			char *uname[] = { "uname", "-r", NULL };
			r = run_container(agent, "uname", uname, out, sizeof(out), err);
			CHECK(r == 0 && strlen(out) > 0 && strchr(out, '.'), "uname -r: status %d, output '%s'", r, out);
			char *fail[] = { "sh", "-c", "exit 7", NULL };
			r = run_container(agent, "exit7", fail, out, sizeof(out), err);
			CHECK(r == 7, "sh -c 'exit 7': status %d", r);
			char *nproc[] = { "nproc", NULL };
			r = run_container(agent, "nproc", nproc, out, sizeof(out), err);
			char want[16];
			snprintf(want, sizeof(want), "%u", o->cpus);
			CHECK(r == 0 && !strcmp(out, want), "nproc: status %d, output '%s' (want %s)", r, out, want);
			r = 0;
		}
		/* DestroySandbox powers L2 off after answering */
		int d = agent_destroy_sandbox(agent, err);
		if (!o->bench)
			CHECK(d >= 0, "DestroySandbox: %s", d < 0 ? err->msg : "answered");
	}
	if (r < 0) {
		printf("FAIL: %s\n", err->msg);
		failures++;
	}
	if (!agent_answered) {
		child_stop(&vmm, 5000);   /* it will not power off by itself; its log says where the vCPUs were */
	} else if (child_wait(&vmm, 30000) == -ETIMEDOUT) {
		CHECK(false, "%s still running 30 s after power-off: stopping it", o->vmm);
		child_stop(&vmm, 5000);
	} else if (!o->bench || failures) {
		CHECK(WIFEXITED(vmm.status) && WEXITSTATUS(vmm.status) == 0, "%s exited with status %d after power-off",
		      o->vmm, WIFEXITED(vmm.status) ? WEXITSTATUS(vmm.status) : 128 + WTERMSIG(vmm.status));
	}
	child_release(&vmm);
	if (!strcmp(o->vmm, "capsa") && !o->bench && agent_answered) {
		/* how the VM ended, from capsa-vmm's last line */
		_cleanup_free_ char *log = NULL;
		read_file(log_path, 1 << 20, &log, NULL);
		const char *want = !strcmp(o->reboot, "t") ? "triple fault" : "i8042";
		CHECK(log && strstr(log, want), "L2 powered off through %s (reboot=%s)", want, o->reboot);
	}
	pthread_join(watcher, NULL);
	close(pipe_fds[0]);
	failed_by_itself = l2_failed_by_itself(o, agent_answered, log_path, console_path);
	CHECK(access(sock, F_OK) != 0 || !strcmp(o->vmm, "qemu"), "%s removed its socket", o->vmm);
	if (!strcmp(o->vmm, "qemu"))
		unlink(sock);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "vmm", required_argument, NULL, 'v' }, { "binary", required_argument, NULL, 'b' },
		{ "kernel", required_argument, NULL, 'k' }, { "initrd", required_argument, NULL, 'i' },
		{ "dir", required_argument, NULL, 'd' }, { "channel", required_argument, NULL, 'c' },
		{ "cpus", required_argument, NULL, 'n' }, { "memory", required_argument, NULL, 'm' },
		{ "bench", no_argument, NULL, 'B' }, { "run-dir", required_argument, NULL, 'r' },
		{ "reboot", required_argument, NULL, 'R' }, { 0 },
	};
	struct options o = { .vmm = "capsa", .channel = "serial", .cpus = 1, .memory = 256, .reboot = "k" };
	int c;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'v': o.vmm = optarg; break;
		case 'b': o.binary = optarg; break;
		case 'k': o.kernel = optarg; break;
		case 'i': o.initrd = optarg; break;
		case 'd': o.dir = optarg; break;
		case 'c': o.channel = optarg; break;
		case 'n': o.cpus = (unsigned)atoi(optarg); break;
		case 'm': o.memory = (unsigned)atoi(optarg); break;
		case 'B': o.bench = true; break;
		case 'r': o.run_dir = optarg; break;
		case 'R': o.reboot = optarg; break;
		default: return 2;
		}
	}
	if (!o.binary || !o.kernel || !o.initrd || !o.dir) {
		fprintf(stderr, "lab-client: --binary, --kernel, --initrd and --dir are required\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	struct capsa_error err = { 0 };
	run(&o, &err);
	if (failures && failed_by_itself) {
		printf("RESET: L2 failed by itself: %s\n", failed_by_itself);
		return EXIT_SPONTANEOUS_RESET;
	}
	return failures ? 1 : 0;
}
