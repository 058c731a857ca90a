/*
 * The QEMU driver. QEMU runs -nodefaults -no-user-config with the guest
 * console in a file, QMP and the agent's virtio-serial port on unix sockets
 * in the VM's run directory, and the shared directory over virtio-fs
 * (virtiofsd, guest memory in a shared memfd) or virtio-9p.
 *
 * The sockets are ours: we listen and QEMU connects as a client at start-up,
 * so there is no polling for a socket to appear and no race with the guest.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/child.h"
#include "common/cleanup.h"
#include "common/fdio.h"
#include "common/strv.h"
#include "common/unix_socket.h"
#include "hypervisor/hypervisor.h"
#include "hypervisor/kvm_probe.h"
#include "hypervisor/qmp.h"

#define START_TIMEOUT_MS 30000
#define QMP_TIMEOUT_MS 5000
#define DEFAULT_QEMU "/usr/bin/qemu-system-x86_64"
#define DEFAULT_VIRTIOFSD "/usr/lib/qemu/virtiofsd"
#define TCG_TB_SIZE_MIB 64
#define BASE_KERNEL_PARAMS "console=ttyS0 reboot=t panic=-1 tsc=reliable no_timer_check"

struct qemu_vm {
	struct vm base;
	char *path, *kernel, *initrd, *kernel_params, *machine, *shared_dir, *shared_tag, *virtiofsd, *fs_cache, *run_dir;
	unsigned vcpus, memory_mib;
	enum shared_fs_kind shared_fs;
	enum accelerator accel;
	bool debug;
	bool use_kvm;
	bool pci;   /* q35: devices on PCI; microvm: on virtio-mmio */
	struct child qemu, virtiofsd_child;
	int agent_listener, qmp_listener, vfs_listener;
	int agent_fd, qmp_fd;
	bool qmp_negotiated;
	char agent_sock[256], qmp_sock[256], vfs_sock[256], console_log[256], qemu_log[256], vfs_log[256];
};

static struct qemu_vm *to_qemu(struct vm *vm)
{
	return (struct qemu_vm *)vm;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int check_file(const char *what, const char *path, bool executable, struct capsa_error *err)
{
	struct stat st;
	if (!path || !path[0])
		return capsa_error_set(err, -EINVAL, "no %s configured", what);
	if (stat(path, &st) < 0)
		return capsa_error_errno(err, -errno, "%s '%s'", what, path);
	if (!S_ISREG(st.st_mode))
		return capsa_error_set(err, -EINVAL, "%s '%s' is not a regular file", what, path);
	if (executable && access(path, X_OK) < 0)
		return capsa_error_errno(err, -errno, "%s '%s' is not executable", what, path);
	return 0;
}

static void qemu_destroy(struct vm *vm);

static int qemu_create(const struct hypervisor_config *cfg, struct vm **ret, struct capsa_error *err)
{
	int r;
	const char *path = cfg->path ? cfg->path : DEFAULT_QEMU;
	const char *virtiofsd = cfg->virtio_fs_daemon ? cfg->virtio_fs_daemon : DEFAULT_VIRTIOFSD;
	const char *machine = cfg->machine_type ? cfg->machine_type : "microvm";
	if ((r = check_file("hypervisor binary", path, true, err)) < 0 ||
	    (r = check_file("guest kernel", cfg->kernel, false, err)) < 0 ||
	    (cfg->initrd && (r = check_file("guest initrd", cfg->initrd, false, err)) < 0))
		return r;
	if (strcmp(machine, "microvm") && strcmp(machine, "q35"))
		return capsa_error_set(err, -EINVAL, "machine type '%s' is not supported by the QEMU driver (allowed: microvm, q35)",
				       machine);
	if (cfg->vcpus < 1 || cfg->vcpus > 255)
		return capsa_error_set(err, -EINVAL, "%u vCPUs: allowed are 1 to 255", cfg->vcpus);
	if (cfg->memory_mib < 64 || cfg->memory_mib > 1024 * 1024)
		return capsa_error_set(err, -EINVAL, "%u MiB of guest memory: allowed are 64 to 1048576", cfg->memory_mib);
	if (!cfg->run_dir)
		return capsa_error_set(err, -EINVAL, "no run directory for the VM");
	if (cfg->shared_fs != SHARED_FS_NONE) {
		struct stat st;
		if (!cfg->shared_dir || stat(cfg->shared_dir, &st) < 0 || !S_ISDIR(st.st_mode))
			return capsa_error_set(err, -ENOENT, "shared directory '%s' is not a directory",
					       cfg->shared_dir ? cfg->shared_dir : "");
		if (!cfg->shared_tag || !cfg->shared_tag[0] || strchr(cfg->shared_tag, ','))
			return capsa_error_set(err, -EINVAL, "shared filesystem tag '%s' is empty or has a comma",
					       cfg->shared_tag ? cfg->shared_tag : "");
		if (strchr(cfg->shared_dir, ','))
			return capsa_error_set(err, -EINVAL, "shared directory '%s' has a comma, which QEMU options cannot carry",
					       cfg->shared_dir);
	}
	if (cfg->shared_fs == SHARED_FS_VIRTIO_FS && (r = check_file("virtio-fs daemon", virtiofsd, true, err)) < 0)
		return r;

	struct kvm_probe probe;
	bool use_kvm = false;
	if (cfg->accelerator != ACCEL_TCG) {
		kvm_probe_run(&probe);
		use_kvm = kvm_probe_usable(&probe);
		if (cfg->accelerator == ACCEL_KVM && !use_kvm)
			return capsa_error_set(err, -ENODEV, "accelerator = \"kvm\", but %s", probe.detail);
	}

	struct qemu_vm *q = calloc(1, sizeof(*q));
	if (!q)
		return capsa_error_set(err, -ENOMEM, "out of memory");
	q->base.ops = &qemu_ops;
	q->agent_listener = q->qmp_listener = q->vfs_listener = q->agent_fd = q->qmp_fd = -1;
	q->path = strdup(path);
	q->kernel = realpath(cfg->kernel, NULL);
	q->initrd = cfg->initrd ? realpath(cfg->initrd, NULL) : NULL;
	q->kernel_params = strdup(cfg->kernel_params ? cfg->kernel_params : "");
	q->machine = strdup(machine);
	/* helpers run with other working directories: hand them absolute paths */
	q->shared_dir = cfg->shared_dir ? realpath(cfg->shared_dir, NULL) : NULL;
	q->shared_tag = cfg->shared_tag ? strdup(cfg->shared_tag) : NULL;
	q->virtiofsd = strdup(virtiofsd);
	q->fs_cache = strdup(cfg->virtio_fs_cache ? cfg->virtio_fs_cache : "none");
	q->run_dir = strdup(cfg->run_dir);
	q->vcpus = cfg->vcpus;
	q->memory_mib = cfg->memory_mib;
	q->shared_fs = cfg->shared_fs;
	q->accel = cfg->accelerator;
	q->debug = cfg->debug;
	q->use_kvm = use_kvm;
	q->pci = !strcmp(machine, "q35");
	if (!q->path || !q->kernel || (cfg->initrd && !q->initrd) || !q->kernel_params || !q->machine ||
	    (cfg->shared_dir && !q->shared_dir) || (cfg->shared_tag && !q->shared_tag) || !q->virtiofsd ||
	    !q->fs_cache || !q->run_dir) {
		qemu_destroy(&q->base);
		return capsa_error_set(err, -ENOMEM, "out of memory");
	}
	snprintf(q->agent_sock, sizeof(q->agent_sock), "%s/agent.sock", q->run_dir);
	snprintf(q->qmp_sock, sizeof(q->qmp_sock), "%s/qmp.sock", q->run_dir);
	snprintf(q->vfs_sock, sizeof(q->vfs_sock), "%s/vhost-fs.sock", q->run_dir);
	snprintf(q->console_log, sizeof(q->console_log), "%s/console.log", q->run_dir);
	snprintf(q->qemu_log, sizeof(q->qemu_log), "%s/qemu.log", q->run_dir);
	snprintf(q->vfs_log, sizeof(q->vfs_log), "%s/virtiofsd.log", q->run_dir);
	if (strlen(q->vfs_sock) >= 108) {
		qemu_destroy(&q->base);
		return capsa_error_set(err, -ENAMETOOLONG, "run directory '%s' is too long for unix socket paths",
				       cfg->run_dir);
	}
	*ret = &q->base;
	return 0;
}

static void build_argv(struct qemu_vm *q, struct strv *a)
{
	const char *dev_suffix = q->pci ? "pci" : "device";
	strv_pushf(a, "%s", q->path);
	strv_pushf(a, "-name");
	strv_pushf(a, "capsa");
	strv_pushf(a, "-nodefaults");
	strv_pushf(a, "-no-user-config");
	strv_pushf(a, "-display");
	strv_pushf(a, "none");
	strv_pushf(a, "-machine");
	if (q->pci)
		strv_pushf(a, "q35,memory-backend=mem");
	else
		/* acpi=off: QEMU then lists the virtio-mmio devices on the kernel command line itself */
		strv_pushf(a, "microvm,acpi=off,rtc=off,memory-backend=mem");
	strv_pushf(a, "-accel");
	/* TCG's translation cache defaults to 1 GiB; a guest this small runs well in far less */
	if (q->use_kvm)
		strv_pushf(a, "kvm");
	else
		strv_pushf(a, "tcg,tb-size=%u", TCG_TB_SIZE_MIB);
	strv_pushf(a, "-cpu");
	strv_pushf(a, "%s", q->use_kvm ? "host" : "max");
	strv_pushf(a, "-smp");
	strv_pushf(a, "%u", q->vcpus);
	strv_pushf(a, "-m");
	strv_pushf(a, "%uM", q->memory_mib);
	/* shared memory is what lets virtiofsd map guest RAM */
	strv_pushf(a, "-object");
	strv_pushf(a, "memory-backend-memfd,id=mem,size=%uM,share=on", q->memory_mib);
	strv_pushf(a, "-kernel");
	strv_pushf(a, "%s", q->kernel);
	if (q->initrd) {
		strv_pushf(a, "-initrd");
		strv_pushf(a, "%s", q->initrd);
	}
	strv_pushf(a, "-append");
	strv_pushf(a, "%s %s %s", BASE_KERNEL_PARAMS, q->debug ? "capsa.log=debug" : "quiet", q->kernel_params);
	strv_pushf(a, "-no-reboot");
	if (!q->pci) {
		/* Debian's virtiofsd refuses legacy virtio devices */
		strv_pushf(a, "-global");
		strv_pushf(a, "virtio-mmio.force-legacy=false");
	}
	strv_pushf(a, "-chardev");
	strv_pushf(a, "file,id=console,path=%s", q->console_log);
	strv_pushf(a, "-serial");
	strv_pushf(a, "chardev:console");
	strv_pushf(a, "-chardev");
	strv_pushf(a, "socket,id=qmp,path=%s", q->qmp_sock);
	strv_pushf(a, "-mon");
	strv_pushf(a, "chardev=qmp,mode=control");
	strv_pushf(a, "-device");
	strv_pushf(a, "virtio-serial-%s,id=vser", dev_suffix);
	strv_pushf(a, "-chardev");
	strv_pushf(a, "socket,id=agent,path=%s", q->agent_sock);
	strv_pushf(a, "-device");
	strv_pushf(a, "virtserialport,bus=vser.0,chardev=agent,name=agent.channel.0");
	strv_pushf(a, "-device");
	strv_pushf(a, "virtio-rng-%s", dev_suffix);
	if (q->shared_fs == SHARED_FS_VIRTIO_FS) {
		strv_pushf(a, "-chardev");
		strv_pushf(a, "socket,id=vfs,path=%s", q->vfs_sock);
		strv_pushf(a, "-device");
		strv_pushf(a, "vhost-user-fs-%s,chardev=vfs,tag=%s,queue-size=1024", dev_suffix, q->shared_tag);
	} else if (q->shared_fs == SHARED_FS_VIRTIO_9P) {
		strv_pushf(a, "-fsdev");
		strv_pushf(a, "local,id=fs9p,path=%s,security_model=passthrough", q->shared_dir);
		strv_pushf(a, "-device");
		strv_pushf(a, "virtio-9p-%s,fsdev=fs9p,mount_tag=%s", dev_suffix, q->shared_tag);
	}
}

/* The last non-empty line of a log, for an error message. */
static void log_tail(const char *path, char *buf, size_t len)
{
	_cleanup_free_ char *data = NULL;
	buf[0] = '\0';
	if (read_file(path, 1 << 20, &data, NULL) < 0)
		return;
	char *end = data + strlen(data);
	while (end > data && (end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	char *line = strrchr(data, '\n');
	snprintf(buf, len, "%s", line ? line + 1 : data);
}

static int start_virtiofsd(struct qemu_vm *q, struct capsa_error *err)
{
	q->vfs_listener = unix_listen(q->vfs_sock, 1, err);
	if (q->vfs_listener < 0)
		return q->vfs_listener;
	_cleanup_close_ int log_fd = open(q->vfs_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (log_fd < 0)
		return capsa_error_errno(err, -errno, "creating '%s'", q->vfs_log);
	struct strv a = { 0 };
	strv_pushf(&a, "%s", q->virtiofsd);
	strv_pushf(&a, "--fd=3");
	strv_pushf(&a, "-o");
	strv_pushf(&a, "source=%s", q->shared_dir);
	strv_pushf(&a, "-o");
	strv_pushf(&a, "cache=%s", q->fs_cache);
	/* chroot keeps it one process that we can end by PID */
	strv_pushf(&a, "-o");
	strv_pushf(&a, "sandbox=chroot");
	int r = a.error;
	if (r == 0)
		r = child_spawn(a.v, log_fd, &q->vfs_listener, 1, &q->virtiofsd_child, err);
	strv_free(&a);
	close_fd(&q->vfs_listener);
	return r < 0 && err && !err->code ? capsa_error_set(err, r, "starting virtiofsd") : r;
}

/* Accepts QEMU's connection to one of our sockets, failing early if QEMU dies. */
static int accept_from_qemu(struct qemu_vm *q, int listener, const char *what, struct capsa_error *err)
{
	struct pollfd pfd[2] = { { .fd = listener, .events = POLLIN }, { .fd = q->qemu.pidfd, .events = POLLIN } };
	long long deadline = now_ms() + START_TIMEOUT_MS;
	for (;;) {
		int left = (int)(deadline - now_ms());
		int n = left > 0 ? poll(pfd, 2, left) : 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			return capsa_error_set(err, -ETIMEDOUT, "QEMU did not connect to its %s socket in %d s", what,
					       START_TIMEOUT_MS / 1000);
		if (pfd[0].revents) {
			int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0)
				return capsa_error_errno(err, -errno, "accepting QEMU's %s connection", what);
			return fd;
		}
		if (pfd[1].revents) {
			char tail[512];
			child_wait(&q->qemu, -1);
			log_tail(q->qemu_log, tail, sizeof(tail));
			return capsa_error_set(err, -ECHILD, "QEMU exited at start-up: %s", tail[0] ? tail : "(no message)");
		}
	}
}

static void unlink_sockets(struct qemu_vm *q)
{
	unlink(q->agent_sock);
	unlink(q->qmp_sock);
	unlink(q->vfs_sock);
}

static int qemu_start(struct vm *vm, struct capsa_error *err)
{
	struct qemu_vm *q = to_qemu(vm);
	_cleanup_close_ int log_fd = -1;
	int r;
	if (q->qemu.pid)
		return capsa_error_set(err, -EALREADY, "the VM is already started");
	if ((q->agent_listener = unix_listen(q->agent_sock, 1, err)) < 0 ||
	    (q->qmp_listener = unix_listen(q->qmp_sock, 1, err)) < 0) {
		r = err ? err->code : -EIO;
		goto fail;
	}
	if (q->shared_fs == SHARED_FS_VIRTIO_FS && (r = start_virtiofsd(q, err)) < 0)
		goto fail;
	log_fd = open(q->qemu_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (log_fd < 0) {
		r = capsa_error_errno(err, -errno, "creating '%s'", q->qemu_log);
		goto fail;
	}
	struct strv a = { 0 };
	build_argv(q, &a);
	r = a.error ? capsa_error_set(err, a.error, "out of memory") : child_spawn(a.v, log_fd, NULL, 0, &q->qemu, err);
	strv_free(&a);
	if (r < 0)
		goto fail;
	/* QEMU connects its chardevs in the order given: QMP first, then the agent port */
	if ((q->qmp_fd = accept_from_qemu(q, q->qmp_listener, "QMP", err)) < 0 ||
	    (q->agent_fd = accept_from_qemu(q, q->agent_listener, "agent", err)) < 0) {
		r = err ? err->code : -EIO;
		goto fail;
	}
	close_fd(&q->agent_listener);
	close_fd(&q->qmp_listener);
	return 0;
fail:
	child_stop(&q->qemu, 1000);
	child_stop(&q->virtiofsd_child, 1000);
	close_fd(&q->agent_listener);
	close_fd(&q->qmp_listener);
	close_fd(&q->vfs_listener);
	close_fd(&q->agent_fd);
	close_fd(&q->qmp_fd);
	unlink_sockets(q);
	return r;
}

/* QMP is negotiated on first use: start-up does not pay for it. */
static int qmp_run(struct qemu_vm *q, const char *command, struct capsa_error *err)
{
	if (q->qmp_fd < 0)
		return capsa_error_set(err, -ENOTCONN, "the VM is not running");
	if (!q->qmp_negotiated) {
		int r = qmp_handshake(q->qmp_fd, QMP_TIMEOUT_MS, err);
		if (r < 0)
			return r;
		q->qmp_negotiated = true;
	}
	return qmp_execute(q->qmp_fd, command, QMP_TIMEOUT_MS, err);
}

static int qemu_pause(struct vm *vm, struct capsa_error *err)
{
	return qmp_run(to_qemu(vm), "stop", err);
}

static int qemu_resume(struct vm *vm, struct capsa_error *err)
{
	return qmp_run(to_qemu(vm), "cont", err);
}

static int qemu_stop(struct vm *vm, int timeout_ms, struct capsa_error *err)
{
	struct qemu_vm *q = to_qemu(vm);
	(void)err;
	/* SIGTERM makes QEMU shut down as cleanly as QMP quit would */
	child_stop(&q->qemu, timeout_ms);
	child_stop(&q->virtiofsd_child, timeout_ms);
	close_fd(&q->agent_fd);
	close_fd(&q->qmp_fd);
	unlink_sockets(q);
	return 0;
}

static int qemu_wait(struct vm *vm, int timeout_ms, struct capsa_error *err)
{
	struct qemu_vm *q = to_qemu(vm);
	if (child_wait(&q->qemu, timeout_ms) == -ETIMEDOUT)
		return capsa_error_set(err, -ETIMEDOUT, "QEMU still runs after %d ms", timeout_ms);
	/* virtiofsd ends when QEMU drops the vhost-user connection */
	if (child_wait(&q->virtiofsd_child, 2000) == -ETIMEDOUT)
		child_stop(&q->virtiofsd_child, 1000);
	return 0;
}

static bool qemu_ended(struct vm *vm, char *buf, size_t len)
{
	struct qemu_vm *q = to_qemu(vm);
	if (q->qemu.pid <= 0 || child_running(&q->qemu))
		return false;
	char tail[512];
	log_tail(q->qemu_log, tail, sizeof(tail));
	int st = q->qemu.status;
	snprintf(buf, len, "QEMU %s %d%s%s", WIFSIGNALED(st) ? "was killed by signal" : "exited with status",
		 WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st), tail[0] ? ": " : "", tail);
	return true;
}

static int qemu_add_device(struct vm *vm, const struct vm_device *dev, struct capsa_error *err)
{
	(void)vm;
	return capsa_error_set(err, -EOPNOTSUPP, "hot-plugging %s '%s' is not supported yet by the QEMU driver",
			       dev->kind == VM_DEVICE_BLOCK ? "block device" : "network device", dev->id);
}

static int qemu_agent_connect(struct vm *vm, int *ret_fd, struct capsa_error *err)
{
	struct qemu_vm *q = to_qemu(vm);
	if (q->agent_fd < 0)
		return capsa_error_set(err, -ENOTCONN, "the agent channel is not connected (VM not started, or already taken)");
	*ret_fd = q->agent_fd;
	q->agent_fd = -1;
	return 0;
}

static int qemu_agent_address(struct vm *vm, char *buf, size_t len)
{
	return snprintf(buf, len, "unix:%s (virtio-serial port agent.channel.0)", to_qemu(vm)->agent_sock);
}

static size_t qemu_pids(struct vm *vm, pid_t *ret, size_t max)
{
	struct qemu_vm *q = to_qemu(vm);
	size_t n = 0;
	if (n < max && q->qemu.pid > 0 && !q->qemu.reaped)
		ret[n++] = q->qemu.pid;
	if (n < max && q->virtiofsd_child.pid > 0 && !q->virtiofsd_child.reaped)
		ret[n++] = q->virtiofsd_child.pid;
	return n;
}

static unsigned qemu_capabilities(const struct vm *vm)
{
	(void)vm;
	return HV_CAP_PAUSE | HV_CAP_VIRTIO_FS | HV_CAP_VIRTIO_9P;
}

static int qemu_version(const struct hypervisor_config *cfg, char *buf, size_t len, struct capsa_error *err)
{
	const char *path = cfg->path ? cfg->path : DEFAULT_QEMU;
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return capsa_error_errno(err, -errno, "pipe");
	char *argv[] = { (char *)path, (char *)"--version", NULL };
	struct child c;
	int r = child_spawn(argv, pipefd[1], NULL, 0, &c, err);
	close(pipefd[1]);
	if (r < 0) {
		close(pipefd[0]);
		return r;
	}
	char out[512];
	ssize_t n = read_full(pipefd[0], out, sizeof(out) - 1);
	close(pipefd[0]);
	child_wait(&c, 5000);
	child_release(&c);
	out[n > 0 ? n : 0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	/* "QEMU emulator version 7.2.22 (Debian ...)" */
	const char *v = strstr(out, "version ");
	if (!v)
		return capsa_error_set(err, -EPROTO, "'%s --version' printed no version", path);
	snprintf(buf, len, "%s", v + strlen("version "));
	return 0;
}

static void qemu_destroy(struct vm *vm)
{
	struct qemu_vm *q = to_qemu(vm);
	if (!q)
		return;
	qemu_stop(vm, 2000, NULL);
	child_release(&q->qemu);
	child_release(&q->virtiofsd_child);
	close_fd(&q->agent_listener);
	close_fd(&q->qmp_listener);
	close_fd(&q->vfs_listener);
	free(q->path);
	free(q->kernel);
	free(q->initrd);
	free(q->kernel_params);
	free(q->machine);
	free(q->shared_dir);
	free(q->shared_tag);
	free(q->virtiofsd);
	free(q->fs_cache);
	free(q->run_dir);
	free(q);
}

const struct hypervisor_ops qemu_ops = {
	.name = "qemu",
	.create = qemu_create,
	.start = qemu_start,
	.stop = qemu_stop,
	.pause = qemu_pause,
	.resume = qemu_resume,
	.add_device = qemu_add_device,
	.agent_connect = qemu_agent_connect,
	.agent_address = qemu_agent_address,
	.pids = qemu_pids,
	.capabilities = qemu_capabilities,
	.version = qemu_version,
	.wait = qemu_wait,
	.ended = qemu_ended,
	.destroy = qemu_destroy,
};
