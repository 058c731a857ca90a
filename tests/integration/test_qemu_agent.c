/*
 * Integration: the real guest (kernel + agent initrd) under QEMU through the
 * driver, driven with the agent API. Each case boots its own VM and checks,
 * when it ends, that no QEMU or virtiofsd process, socket or temp directory
 * is left. Run one case: test-qemu-agent CASE.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "client/agent_api.h"
#include "client/oci_default.h"
#include "client/relay.h"
#include "client/session.h"
#include "common/fdio.h"
#include "proto/ttrpc.h"

struct fixture {
	char dir[64], rootfs[128], run_dir[128];
	struct session s;
	pid_t pids[4];
	size_t n_pids;
	bool booted;
};

static const char *kernel, *initrd, *make_rootfs;

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/capsa-it.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->rootfs, sizeof(f->rootfs), "%s/rootfs", f->dir);
	snprintf(f->run_dir, sizeof(f->run_dir), "%s/run", f->dir);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "%s %s", make_rootfs, f->rootfs);
	if (system(cmd) != 0 || mkdir(f->run_dir, 0700) < 0)
		return -1;
	*state = f;
	return 0;
}

static bool has_children(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	bool found = false;
	while (d && (de = readdir(d))) {
		char path[300], *stat = NULL;
		if (atoi(de->d_name) <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		if (read_file(path, 4096, &stat, NULL) < 0)
			continue;
		char *close_paren = strrchr(stat, ')');
		int ppid = 0;
		if (close_paren && sscanf(close_paren + 2, "%*c %d", &ppid) == 1 && ppid == getpid()) {
			fprintf(stderr, "left behind: %s\n", stat);
			found = true;
		}
		free(stat);
	}
	if (d)
		closedir(d);
	return found;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	session_destroy(&f->s);
	for (size_t i = 0; i < f->n_pids; i++)
		if (kill(f->pids[i], 0) == 0) {
			fprintf(stderr, "process %d of the VM is still there\n", f->pids[i]);
			return -1;
		}
	if (has_children())
		return -1;
	/* the driver removes its sockets; what remains are logs */
	DIR *d = opendir(f->run_dir);
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (strstr(de->d_name, ".sock")) {
			fprintf(stderr, "socket %s/%s left behind\n", f->run_dir, de->d_name);
			closedir(d);
			return -1;
		}
	if (d)
		closedir(d);
	remove_tree(f->dir);
	struct stat st;
	if (stat(f->dir, &st) == 0)
		return -1;
	free(f);
	return 0;
}

static void print_console(struct fixture *f)
{
	char path[256], *log = NULL;
	snprintf(path, sizeof(path), "%s/console.log", f->run_dir);
	if (read_file(path, 1 << 20, &log, NULL) == 0)
		fprintf(stderr, "---- guest console ----\n%s\n----\n", log);
	free(log);
}

static void boot_full(struct fixture *f, enum shared_fs_kind fs, const char *machine, const char *params)
{
	struct hypervisor_config cfg = {
		.kernel = kernel, .initrd = initrd, .machine_type = machine, .vcpus = 1, .memory_mib = 256,
		.shared_fs = fs, .shared_dir = f->rootfs, .run_dir = f->run_dir, .accelerator = ACCEL_AUTO,
		.kernel_params = params,
	};
	struct capsa_error err = { 0 };
	int r = session_start(&qemu_ops, &cfg, "capsa-test", &f->s, &err);
	if (r < 0) {
		print_console(f);
		fail_msg("boot: %s", err.msg);
	}
	f->n_pids = f->s.vm->ops->pids(f->s.vm, f->pids, 4);
	assert_true(f->n_pids >= 1);
	f->booted = true;
}

static void boot_with(struct fixture *f, enum shared_fs_kind fs, const char *machine)
{
	boot_full(f, fs, machine, NULL);
}

static void boot(struct fixture *f)
{
	boot_with(f, SHARED_FS_VIRTIO_FS, "microvm");
}

/* DestroySandbox must make the guest power itself off, ending QEMU and virtiofsd. */
static void shut_down(struct fixture *f)
{
	struct capsa_error err = { 0 };
	if (session_stop(&f->s, 20000, &err) < 0) {
		print_console(f);
		fail_msg("shutdown: %s", err.msg);
	}
	for (size_t i = 0; i < f->n_pids; i++)
		assert_int_equal(kill(f->pids[i], 0), -1);
}

static char *spec_for(char *const *args, bool terminal, int uid)
{
	json_t *spec = oci_default_spec(args, terminal);
	json_object_set_new(json_object_get(spec, "root"), "readonly", json_false());
	if (uid >= 0) {
		json_t *user = json_object_get(json_object_get(spec, "process"), "user");
		json_object_set_new(user, "uid", json_integer(uid));
		json_object_set_new(user, "gid", json_integer(uid));
	}
	char *s = json_dumps(spec, JSON_COMPACT);
	json_decref(spec);
	return s;
}

struct result {
	char *out, *err;
	size_t out_len, err_len;
	struct agent_exit exit;
};

static char *read_back(int fd, size_t *len)
{
	off_t size = lseek(fd, 0, SEEK_END);
	char *buf = malloc((size_t)size + 1);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, (size_t)size, 0), size);
	buf[size] = '\0';
	*len = (size_t)size;
	close(fd);
	return buf;
}

/* Relays a process's stdio through temp files and collects its output and exit. */
static void relay_collect(struct fixture *f, const char *id, const char *exec_id, const void *in, size_t in_len,
			  bool terminal, struct result *res)
{
	int in_fd = -1;
	if (in) {
		in_fd = open(f->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		assert_true(in_fd >= 0);
		assert_int_equal(write_all(in_fd, in, in_len), 0);
		assert_int_equal(lseek(in_fd, 0, SEEK_SET), 0);
	}
	int out_fd = open(f->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	int err_fd = open(f->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	assert_true(out_fd >= 0 && err_fd >= 0);
	struct relay_io io = { .in = in_fd, .out = out_fd, .err = err_fd, .terminal = terminal };
	struct capsa_error err = { 0 };
	if (agent_relay(f->s.agent, id, exec_id, &io, &res->exit, &err) < 0)
		fail_msg("relay: %s", err.msg);
	if (in_fd >= 0)
		close(in_fd);
	res->out = read_back(out_fd, &res->out_len);
	res->err = read_back(err_fd, &res->err_len);
}

static void run_container(struct fixture *f, char *const *args, const void *in, size_t in_len, bool terminal,
			  int uid, struct result *res)
{
	char *spec = spec_for(args, terminal, uid);
	struct capsa_error err = { 0 };
	if (agent_create_container(f->s.agent, "c0", spec, strlen(spec), GUEST_SHARED_DIR, &err) < 0 ||
	    agent_start_container(f->s.agent, "c0", &err) < 0)
		fail_msg("container: %s", err.msg);
	free(spec);
	relay_collect(f, "c0", "", in, in_len, terminal, res);
}

static void result_free(struct result *r)
{
	free(r->out);
	free(r->err);
}

static void check_and_version(void **state)
{
	struct fixture *f = *state;
	boot(f);
	struct capsa_error err = { 0 };
	assert_int_equal(agent_check(f->s.agent, 5000, &err), 0);
	char version[64], release[128];
	assert_int_equal(agent_version(f->s.agent, version, sizeof(version), release, sizeof(release), &err), 0);
	assert_string_equal(version, CAPSA_VERSION);
	assert_true(strncmp(release, "6.1.", 4) == 0);
	fprintf(stderr, "agent ready %lld ms after QEMU started\n", f->s.ready_ms - f->s.started_ms);
	shut_down(f);
}

static void echo_hello(void **state)
{
	struct fixture *f = *state;
	boot(f);
	char *args[] = { "echo", "hello", NULL };
	struct result r = { 0 };
	run_container(f, args, NULL, 0, false, -1, &r);
	assert_string_equal(r.out, "hello\n");
	assert_int_equal(r.err_len, 0);
	assert_true(r.exit.exited);
	assert_int_equal(r.exit.code, 0);
	result_free(&r);
	shut_down(f);
}

static void uname_shows_the_guest_kernel(void **state)
{
	struct fixture *f = *state;
	boot(f);
	char *args[] = { "uname", "-r", NULL };
	struct result r = { 0 };
	run_container(f, args, NULL, 0, false, -1, &r);
	struct utsname host;
	uname(&host);
	char version[64], release[128];
	struct capsa_error err = { 0 };
	assert_int_equal(agent_version(f->s.agent, version, sizeof(version), release, sizeof(release), &err), 0);
	r.out[strcspn(r.out, "\n")] = '\0';
	assert_string_equal(r.out, release);
	assert_string_not_equal(r.out, host.release);
	result_free(&r);
	shut_down(f);
}

static void exit_code_comes_back(void **state)
{
	struct fixture *f = *state;
	boot(f);
	char *args[] = { "sh", "-c", "echo out; echo err >&2; exit 7", NULL };
	struct result r = { 0 };
	run_container(f, args, NULL, 0, false, -1, &r);
	assert_string_equal(r.out, "out\n");
	assert_string_equal(r.err, "err\n");
	assert_true(r.exit.exited);
	assert_int_equal(r.exit.code, 7);
	result_free(&r);
	shut_down(f);
}

static void sigkill_is_reported(void **state)
{
	struct fixture *f = *state;
	boot(f);
	char *spec = spec_for((char *[]){ "sleep", "1000", NULL }, false, -1);
	struct capsa_error err = { 0 };
	assert_int_equal(agent_create_container(f->s.agent, "c0", spec, strlen(spec), GUEST_SHARED_DIR, &err), 0);
	free(spec);
	assert_int_equal(agent_start_container(f->s.agent, "c0", &err), 0);
	uint32_t wait_stream;
	assert_int_equal(agent_send_wait(f->s.agent, "c0", "", &wait_stream, &err), 0);
	assert_int_equal(agent_signal_process(f->s.agent, "c0", "", SIGKILL, false, &err), 0);
	struct agent_exit ex;
	assert_int_equal(agent_receive_wait(f->s.agent, wait_stream, &ex, &err), 0);
	assert_false(ex.exited);
	assert_int_equal(ex.signal, 9);
	assert_int_equal(agent_exit_status(&ex), 137);
	assert_int_equal(agent_remove_container(f->s.agent, "c0", &err), 0);
	shut_down(f);
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

static void stdin_through_cat_1mib(void **state)
{
	struct fixture *f = *state;
	boot(f);
	size_t len = 1 << 20;
	uint8_t *data = malloc(len);
	uint64_t x = 88172645463325252ULL;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		data[i] = (uint8_t)x;
	}
	struct result r = { 0 };
	run_container(f, (char *[]){ "cat", NULL }, data, len, false, -1, &r);
	assert_int_equal(r.out_len, len);
	assert_true(fnv1a((uint8_t *)r.out, r.out_len) == fnv1a(data, len));
	assert_int_equal(r.exit.code, 0);
	free(data);
	result_free(&r);
	shut_down(f);
}

static void exec_into_running_container(void **state)
{
	struct fixture *f = *state;
	boot(f);
	char *spec = spec_for((char *[]){ "sh", "-c", "echo marker > /tmp/from-init; exec sleep 1000", NULL }, false, -1);
	struct capsa_error err = { 0 };
	assert_int_equal(agent_create_container(f->s.agent, "c0", spec, strlen(spec), GUEST_SHARED_DIR, &err), 0);
	free(spec);
	assert_int_equal(agent_start_container(f->s.agent, "c0", &err), 0);
	/* the exec'd process sees the container's filesystem and pid namespace */
	const char *process = "{\"args\":[\"sh\",\"-c\",\"while [ ! -f /tmp/from-init ]; do sleep 0.1; done; "
			      "cat /tmp/from-init; echo pid1=$(cat /proc/1/comm); exit 5\"],"
			      "\"env\":[\"PATH=/bin\"],\"cwd\":\"/\"}";
	assert_int_equal(agent_exec_process(f->s.agent, "c0", "e1", process, strlen(process), &err), 0);
	struct result r = { 0 };
	relay_collect(f, "c0", "e1", NULL, 0, false, &r);
	assert_string_equal(r.out, "marker\npid1=sleep\n");
	assert_int_equal(r.exit.code, 5);
	result_free(&r);
	/* a second exec with the same id is refused while the first is known */
	assert_int_equal(agent_exec_process(f->s.agent, "c0", "e1", process, strlen(process), &err), -EEXIST);
	assert_int_equal(agent_signal_process(f->s.agent, "c0", "", SIGKILL, false, &err), 0);
	struct agent_exit ex;
	assert_int_equal(agent_wait_process(f->s.agent, "c0", "", &ex, &err), 0);
	assert_int_equal(ex.signal, SIGKILL);
	shut_down(f);
}

static void terminal_gives_a_pty(void **state)
{
	struct fixture *f = *state;
	boot(f);
	struct result r = { 0 };
	run_container(f, (char *[]){ "tty", NULL }, NULL, 0, true, -1, &r);
	assert_string_equal(r.out, "/dev/pts/0\r\n");
	assert_int_equal(r.exit.code, 0);
	result_free(&r);
	shut_down(f);
}

static void tty_resize_and_input(void **state)
{
	struct fixture *f = *state;
	boot(f);
	char *spec = spec_for((char *[]){ "sh", "-c", "read answer; echo \"got $answer\"; stty size", NULL }, true, -1);
	struct capsa_error err = { 0 };
	assert_int_equal(agent_create_container(f->s.agent, "c0", spec, strlen(spec), GUEST_SHARED_DIR, &err), 0);
	free(spec);
	assert_int_equal(agent_start_container(f->s.agent, "c0", &err), 0);
	assert_int_equal(agent_tty_resize(f->s.agent, "c0", "", 40, 100, &err), 0);
	struct result r = { 0 };
	relay_collect(f, "c0", "", "yes\n", 4, true, &r);
	/* the terminal echoes the input, then the shell answers */
	assert_non_null(strstr(r.out, "got yes\r\n40 100\r\n"));
	assert_int_equal(r.exit.code, 0);
	result_free(&r);
	/* a process without a terminal cannot be resized */
	spec = spec_for((char *[]){ "true", NULL }, false, -1);
	assert_int_equal(agent_create_container(f->s.agent, "c1", spec, strlen(spec), GUEST_SHARED_DIR, &err), 0);
	free(spec);
	assert_int_equal(agent_tty_resize(f->s.agent, "c1", "", 40, 100, &err), -EBUSY);
	assert_non_null(strstr(err.msg, "no terminal"));
	shut_down(f);
}

static void agent_powers_off_when_the_host_stays_away(void **state)
{
	struct fixture *f = *state;
	boot_full(f, SHARED_FS_VIRTIO_FS, "microvm", "capsa.hangup_timeout=1");
	/* hang up: the guest's port sees the host go, and after the timeout the VM ends itself */
	agent_client_free(f->s.agent);
	f->s.agent = NULL;
	struct capsa_error err = { 0 };
	if (f->s.vm->ops->wait(f->s.vm, 30000, &err) < 0) {
		print_console(f);
		fail_msg("%s", err.msg);
	}
	char how[256];
	assert_true(f->s.vm->ops->ended(f->s.vm, how, sizeof(how)));
	assert_non_null(strstr(how, "exited with status 0"));
}

static void runs_as_the_spec_user(void **state)
{
	struct fixture *f = *state;
	boot(f);
	struct result r = { 0 };
	run_container(f, (char *[]){ "sh", "-c", "id -u; id -g; hostname; cat /proc/self/status | grep CapEff", NULL },
		      NULL, 0, false, 65534, &r);
	assert_string_equal(r.out, "65534\n65534\ncapsa\nCapEff:\t0000000000000000\n");
	result_free(&r);
	shut_down(f);
}

static void hostile_frames_over_the_serial_channel(void **state)
{
	struct fixture *f = *state;
	boot(f);
	struct capsa_error err = { 0 };
	struct buffer b = { 0 };
	/* garbage envelope, unknown method, oversized frame: each answered, then Check still works */
	struct ttrpc_header bad = { .length = 3, .stream_id = 100, .type = TTRPC_TYPE_REQUEST };
	uint8_t raw[TTRPC_HEADER_SIZE];
	ttrpc_header_encode(&bad, raw);
	buffer_append(&b, raw, sizeof(raw));
	buffer_append(&b, "\xff\xff\xff", 3);
	assert_int_equal(ttrpc_append_request(&b, 102, "capsa.agent.AgentService", "Explode", NULL, 0), 0);
	struct ttrpc_header big = { .length = TTRPC_MAX_MESSAGE + 1, .stream_id = 104, .type = TTRPC_TYPE_REQUEST };
	ttrpc_header_encode(&big, raw);
	buffer_append(&b, raw, sizeof(raw));
	uint8_t *junk = calloc(1, big.length);
	buffer_append(&b, junk, big.length);
	free(junk);
	assert_int_equal(agent_client_send_raw(f->s.agent, buffer_head(&b), buffer_len(&b), &err), 0);
	buffer_free(&b);
	assert_int_equal(agent_client_receive(f->s.agent, 100, NULL, NULL, 30000, &err), -EINVAL);
	assert_int_equal(agent_client_receive(f->s.agent, 102, NULL, NULL, 30000, &err), -ENOSYS);
	assert_int_equal(agent_client_receive(f->s.agent, 104, NULL, NULL, 30000, &err), -EMSGSIZE);
	assert_int_equal(agent_check(f->s.agent, 30000, &err), 0);
	/* and a malformed OCI spec is refused with the reason */
	assert_int_equal(agent_create_container(f->s.agent, "c0", "{\"process\":{}}", 14, GUEST_SHARED_DIR, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "process.args"));
	shut_down(f);
}

static void virtio_9p_shared_fs(void **state)
{
	struct fixture *f = *state;
	boot_with(f, SHARED_FS_VIRTIO_9P, "microvm");
	struct result r = { 0 };
	run_container(f, (char *[]){ "sh", "-c", "echo written-in-guest > /tmp/proof; cat /proc/mounts | grep -c ' / 9p'", NULL },
		      NULL, 0, false, -1, &r);
	assert_string_equal(r.out, "1\n");
	result_free(&r);
	char path[256], *proof = NULL;
	snprintf(path, sizeof(path), "%s/tmp/proof", f->rootfs);
	assert_int_equal(read_file(path, 100, &proof, NULL), 0);
	assert_string_equal(proof, "written-in-guest\n");
	free(proof);
	shut_down(f);
}

static void q35_machine(void **state)
{
	struct fixture *f = *state;
	boot_with(f, SHARED_FS_VIRTIO_FS, "q35");
	struct result r = { 0 };
	run_container(f, (char *[]){ "echo", "q35", NULL }, NULL, 0, false, -1, &r);
	assert_string_equal(r.out, "q35\n");
	result_free(&r);
	shut_down(f);
}

static void bad_configuration_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	struct capsa_error err = { 0 };
	struct hypervisor_config cfg = {
		.kernel = "/nonexistent/vmlinux", .initrd = initrd, .vcpus = 1, .memory_mib = 256,
		.shared_fs = SHARED_FS_VIRTIO_FS, .shared_dir = f->rootfs, .run_dir = f->run_dir,
	};
	assert_int_equal(session_start(&qemu_ops, &cfg, "x", &f->s, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "guest kernel '/nonexistent/vmlinux'"));
	cfg.kernel = kernel;
	cfg.machine_type = "pc-i440fx-9.9";
	assert_int_equal(session_start(&qemu_ops, &cfg, "x", &f->s, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "pc-i440fx-9.9"));
	cfg.machine_type = NULL;
	cfg.memory_mib = 1;
	assert_int_equal(session_start(&qemu_ops, &cfg, "x", &f->s, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "1 MiB"));
	/* QEMU itself refusing (a kernel that is not one): the error says so and nothing is left */
	cfg.memory_mib = 256;
	cfg.kernel = initrd;
	assert_true(session_start(&qemu_ops, &cfg, "x", &f->s, &err) < 0);
	if (!strstr(err.msg, "QEMU"))
		fail_msg("unexpected error: %s", err.msg);
	DIR *d = opendir(f->run_dir);
	struct dirent *de;
	while ((de = readdir(d)))
		assert_null(strstr(de->d_name, ".sock"));
	closedir(d);
}

int main(int argc, char **argv)
{
	kernel = getenv("CAPSA_KERNEL");
	initrd = getenv("CAPSA_INITRD");
	make_rootfs = getenv("CAPSA_MAKE_ROOTFS");
	if (!kernel || !initrd || !make_rootfs || access(kernel, R_OK) || access(initrd, R_OK)) {
		printf("SKIP: the guest kernel and initrd are not built (CAPSA_KERNEL=%s, CAPSA_INITRD=%s): run make\n",
		       kernel ? kernel : "", initrd ? initrd : "");
		return 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(check_and_version, setup, teardown),
		cmocka_unit_test_setup_teardown(echo_hello, setup, teardown),
		cmocka_unit_test_setup_teardown(uname_shows_the_guest_kernel, setup, teardown),
		cmocka_unit_test_setup_teardown(exit_code_comes_back, setup, teardown),
		cmocka_unit_test_setup_teardown(sigkill_is_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(stdin_through_cat_1mib, setup, teardown),
		cmocka_unit_test_setup_teardown(exec_into_running_container, setup, teardown),
		cmocka_unit_test_setup_teardown(terminal_gives_a_pty, setup, teardown),
		cmocka_unit_test_setup_teardown(runs_as_the_spec_user, setup, teardown),
		cmocka_unit_test_setup_teardown(tty_resize_and_input, setup, teardown),
		cmocka_unit_test_setup_teardown(agent_powers_off_when_the_host_stays_away, setup, teardown),
		cmocka_unit_test_setup_teardown(hostile_frames_over_the_serial_channel, setup, teardown),
		cmocka_unit_test_setup_teardown(virtio_9p_shared_fs, setup, teardown),
		cmocka_unit_test_setup_teardown(q35_machine, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_configuration_leaves_nothing, setup, teardown),
	};
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
