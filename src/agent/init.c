#include "agent/init.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/log.h"
#include "common/cleanup.h"
#include "common/fdio.h"

void agent_options_parse(const char *cmdline, struct agent_options *ret)
{
	*ret = (struct agent_options){ .channel = CHANNEL_AUTO, .vsock_port = 1024 };
	char *copy = strdup(cmdline ? cmdline : "");
	if (!copy)
		return;
	char *save = NULL;
	for (char *tok = strtok_r(copy, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
		char *eq = strchr(tok, '=');
		if (strncmp(tok, "capsa.", 6) || !eq)
			continue;
		*eq = '\0';
		const char *key = tok + 6, *val = eq + 1;
		if (!strcmp(key, "log")) {
			if (!strcmp(val, "debug"))
				log_max_level = LOG_DEBUG;
			else if (!strcmp(val, "info"))
				log_max_level = LOG_INFO;
			else if (!strcmp(val, "warn"))
				log_max_level = LOG_WARN;
			else if (!strcmp(val, "error"))
				log_max_level = LOG_ERROR;
		} else if (!strcmp(key, "channel")) {
			ret->channel = !strcmp(val, "serial") ? CHANNEL_SERIAL : !strcmp(val, "vsock") ? CHANNEL_VSOCK : CHANNEL_AUTO;
		} else if (!strcmp(key, "vsock_port")) {
			unsigned long v = strtoul(val, NULL, 10);
			if (v > 0 && v < 0xffffffffUL)
				ret->vsock_port = (unsigned)v;
		} else if (!strcmp(key, "hangup_timeout")) {
			ret->hangup_timeout_s = (unsigned)strtoul(val, NULL, 10);
		}
	}
	free(copy);
}

static int mount_one(const char *source, const char *target, const char *type, unsigned long flags,
		     const char *data, struct capsa_error *err)
{
	if (mkdir(target, 0755) < 0 && errno != EEXIST)
		return capsa_error_errno(err, -errno, "mkdir %s", target);
	if (mount(source, target, type, flags, data) < 0 && errno != EBUSY)
		return capsa_error_errno(err, -errno, "mounting %s on %s", type, target);
	return 0;
}

/*
 * The initramfs root cannot be pivoted away from, which containers need.
 * Bind it onto a directory of itself and move that over /: the new root is
 * an ordinary mount, so pivot_root works in every container's namespace.
 */
static int make_root_a_mount(struct capsa_error *err)
{
	if (mkdir("/.root", 0700) < 0 && errno != EEXIST)
		return capsa_error_errno(err, -errno, "mkdir /.root");
	if (mount("/", "/.root", NULL, MS_BIND, NULL) < 0)
		return capsa_error_errno(err, -errno, "binding / to /.root");
	if (chdir("/.root") < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 || chdir("/") < 0)
		return capsa_error_errno(err, -errno, "moving the root mount");
	return 0;
}

int init_filesystems(struct capsa_error *err)
{
	int r;
	if ((r = make_root_a_mount(err)) < 0)
		return r;
	if ((r = mount_one("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err)) < 0 ||
	    (r = mount_one("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err)) < 0 ||
	    (r = mount_one("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755", err)) < 0 ||
	    (r = mount_one("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620", err)) < 0 ||
	    (r = mount_one("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", err)) < 0 ||
	    (r = mount_one("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", err)) < 0 ||
	    (r = mount_one("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", err)) < 0 ||
	    (r = mount_one("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err)) < 0)
		return r;
	/* a container's network namespace must hold only lo: no fallback tunnel devices (sit0...) */
	write_file("/proc/sys/net/core/fb_tunnels_only_for_init_net", "2", 1, 0644);
	/* glibc's posix_openpt opens /dev/ptmx: route it to our devpts instance */
	unlink("/dev/ptmx");
	if (symlink("pts/ptmx", "/dev/ptmx") < 0 && errno != EEXIST)
		return capsa_error_errno(err, -errno, "linking /dev/ptmx");
	return 0;
}
