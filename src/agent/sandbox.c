#include "agent/sandbox.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/container.h"
#include "agent/log.h"
#include "common/fdio.h"

#define MAX_SHARED 8

static bool created;
static bool shutdown_requested;
static char shared_mounts[MAX_SHARED][256];
static size_t n_shared;

static int mount_shared(const Capsa__Agent__SharedFilesystem *fs, struct capsa_error *err)
{
	const char *mp = fs->mount_point;
	if (!mp || mp[0] != '/' || strstr(mp, "..") || strlen(mp) >= sizeof(shared_mounts[0]))
		return capsa_error_set(err, -EINVAL, "shared filesystem mount point '%.200s' must be an absolute path",
				       mp ? mp : "");
	if (!fs->tag || !fs->tag[0] || strlen(fs->tag) > 36)
		return capsa_error_set(err, -EINVAL, "shared filesystem tag '%.64s' must be 1 to 36 characters",
				       fs->tag ? fs->tag : "");
	if (n_shared == MAX_SHARED)
		return capsa_error_set(err, -EMFILE, "at most %d shared filesystems", MAX_SHARED);
	int r = mkdir_parents(mp, 0755);
	if (r < 0)
		return capsa_error_errno(err, r, "creating mount point '%s'", mp);
	if (!strcmp(fs->type, "virtiofs")) {
		r = mount(fs->tag, mp, "virtiofs", MS_NODEV, NULL);
	} else if (!strcmp(fs->type, "9p")) {
		r = mount(fs->tag, mp, "9p", MS_NODEV, "trans=virtio,version=9p2000.L,msize=262144,cache=mmap");
	} else {
		return capsa_error_set(err, -EINVAL, "shared filesystem type '%.32s': allowed are virtiofs, 9p", fs->type);
	}
	if (r < 0)
		return capsa_error_errno(err, -errno, "mounting %s tag '%s' on '%s'", fs->type, fs->tag, mp);
	strcpy(shared_mounts[n_shared++], mp);
	log_info("mounted %s '%s' on %s", fs->type, fs->tag, mp);
	return 0;
}

int sandbox_create(const Capsa__Agent__CreateSandboxRequest *req, struct capsa_error *err)
{
	if (created)
		return capsa_error_set(err, -EEXIST, "the sandbox is already created");
	if (req->hostname && req->hostname[0]) {
		if (strlen(req->hostname) > 64 || sethostname(req->hostname, strlen(req->hostname)) < 0)
			return capsa_error_set(err, -EINVAL, "invalid hostname '%.80s'", req->hostname);
	}
	if (req->n_dns > 0) {
		char conf[2048];
		size_t len = 0;
		for (size_t i = 0; i < req->n_dns && i < 8; i++) {
			int n = snprintf(conf + len, sizeof(conf) - len, "nameserver %.100s\n", req->dns[i]);
			if (n < 0 || (size_t)n >= sizeof(conf) - len)
				break;
			if (strpbrk(req->dns[i], "\n\r "))
				return capsa_error_set(err, -EINVAL, "invalid DNS server '%.100s'", req->dns[i]);
			len += (size_t)n;
		}
		mkdir("/etc", 0755);
		int r = write_file("/etc/resolv.conf", conf, len, 0644);
		if (r < 0)
			return capsa_error_errno(err, r, "writing /etc/resolv.conf");
	}
	for (size_t i = 0; i < req->n_shared_fs; i++) {
		int r = mount_shared(req->shared_fs[i], err);
		if (r < 0)
			return r;
	}
	created = true;
	return 0;
}

void sandbox_request_shutdown(void)
{
	shutdown_requested = true;
}

bool sandbox_shutdown_requested(void)
{
	return shutdown_requested;
}

_Noreturn void sandbox_power_off(void)
{
	log_info("powering off");
	containers_remove_all();
	sync();
	for (size_t i = n_shared; i > 0; i--)
		umount2(shared_mounts[i - 1], MNT_DETACH);
	/* a restart with reboot=t ends the VM: hypervisors run the guest with no-reboot */
	reboot(RB_AUTOBOOT);
	for (;;)
		pause();
}
