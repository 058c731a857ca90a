/*
 * The shim runs in a private mount namespace. Its shared directory (what
 * virtiofsd serves to the guest) is a tmpfs there holding a bind of the
 * bundle's rootfs and of every bind-mount source the spec names, so the
 * host sees none of these mounts and they vanish with the shim.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fdio.h"
#include "runtime/pty.h"
#include "shim/shim.h"

static bool is_bind(json_t *m)
{
	const char *type = json_string_value(json_object_get(m, "type"));
	if (type && !strcmp(type, "bind"))
		return true;
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(m, "options"), i, o) {
		const char *s = json_string_value(o);
		if (s && (!strcmp(s, "bind") || !strcmp(s, "rbind")))
			return true;
	}
	return false;
}

/* Shares one bind source as shared/mN and points the guest's mount at it. */
static int share_bind(struct shim *s, json_t *m, size_t n, const char *shared, struct capsa_error *err)
{
	const char *source = json_string_value(json_object_get(m, "source"));
	const char *dest = json_string_value(json_object_get(m, "destination"));
	struct stat st;
	if (!source || stat(source, &st) < 0)
		return capsa_error_errno(err, -errno, "bind mount source '%s' for '%s'", source ? source : "(none)",
					 dest ? dest : "?");
	char target[4200], guest[256];
	snprintf(target, sizeof(target), "%s/m%zu", shared, n);
	if (S_ISDIR(st.st_mode)) {
		if (mkdir(target, 0755) < 0)
			return capsa_error_errno(err, -errno, "mkdir '%s'", target);
	} else {
		int fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			return capsa_error_errno(err, -errno, "creating '%s'", target);
		close(fd);
	}
	if (mount(source, target, NULL, MS_BIND | MS_REC, NULL) < 0)
		return capsa_error_errno(err, -errno, "binding '%s' for the guest", source);
	snprintf(guest, sizeof(guest), GUEST_SHARED_DIR "/m%zu", n);
	json_object_set_new(m, "source", json_string(guest));
	(void)s;
	return 0;
}

int sandbox_prepare(struct shim *s, json_t *guest_spec, struct capsa_error *err)
{
	char shared[4200], rootfs[4300];
	snprintf(shared, sizeof(shared), "%s/shared", s->state_dir);
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", shared);
	if (unshare(CLONE_NEWNS) < 0)
		return capsa_error_errno(err, -errno, "creating the shim's mount namespace");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return capsa_error_errno(err, -errno, "making the shim's mounts private");
	if (mkdir(shared, 0700) < 0 && errno != EEXIST)
		return capsa_error_errno(err, -errno, "mkdir '%s'", shared);
	if (mount("capsa-shared", shared, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m") < 0)
		return capsa_error_errno(err, -errno, "mounting the shared directory '%s'", shared);
	if (mkdir(rootfs, 0755) < 0 || mount(s->bundle.rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return capsa_error_errno(err, -errno, "binding rootfs '%s' for the guest", s->bundle.rootfs);

	json_t *mounts = json_object_get(guest_spec, "mounts");
	size_t i;
	json_t *m;
	json_array_foreach(mounts, i, m) {
		const char *dest = json_string_value(json_object_get(m, "destination"));
		if (!is_bind(m))
			continue;
		if (dest && !strcmp(dest, "/dev/shm")) {
			/* shared memory must be the guest's own: a host tmpfs over virtio-fs is not shm */
			json_object_set_new(m, "type", json_string("tmpfs"));
			json_object_set_new(m, "source", json_string("shm"));
			json_object_set_new(m, "options", json_pack("[s, s, s, s, s]", "nosuid", "noexec", "nodev", "mode=1777",
								    "size=65536k"));
			continue;
		}
		int r = share_bind(s, m, i, shared, err);
		if (r < 0)
			return r;
	}
	/* host-only parts of the spec mean nothing in the guest */
	json_t *linux_obj = json_object_get(guest_spec, "linux");
	json_object_del(linux_obj, "seccomp");
	json_object_del(guest_spec, "hooks");
	return 0;
}

int sandbox_console(struct shim *s, struct capsa_error *err)
{
	if (!s->console_socket)
		return capsa_error_set(err, -EINVAL, "process.terminal is true but no --console-socket was given");
	_cleanup_close_ int master = -1;
	int slave;
	char name[64];
	int r = pty_open_raw(&master, &slave, name, sizeof(name), err);
	if (r < 0)
		return r;
	/* as its controlling terminal, the shim hears SIGWINCH when the client resizes the master */
	ioctl(slave, TIOCSCTTY, 0);
	r = console_socket_send(s->console_socket, master, name, err);
	if (r < 0) {
		close(slave);
		return r;
	}
	s->pty_slave = slave;
	return 0;
}
