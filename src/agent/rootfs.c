#include "agent/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fdio.h"

static const struct {
	const char *name;
	bool clear;
	unsigned long flag;
} mount_flags[] = {
	{ "ro", false, MS_RDONLY },     { "rw", true, MS_RDONLY },         { "nosuid", false, MS_NOSUID },
	{ "suid", true, MS_NOSUID },    { "nodev", false, MS_NODEV },      { "dev", true, MS_NODEV },
	{ "noexec", false, MS_NOEXEC }, { "exec", true, MS_NOEXEC },       { "sync", false, MS_SYNCHRONOUS },
	{ "async", true, MS_SYNCHRONOUS }, { "dirsync", false, MS_DIRSYNC }, { "remount", false, MS_REMOUNT },
	{ "mand", false, MS_MANDLOCK }, { "nomand", true, MS_MANDLOCK },   { "noatime", false, MS_NOATIME },
	{ "atime", true, MS_NOATIME },  { "nodiratime", false, MS_NODIRATIME }, { "diratime", true, MS_NODIRATIME },
	{ "relatime", false, MS_RELATIME }, { "norelatime", true, MS_RELATIME },
	{ "strictatime", false, MS_STRICTATIME }, { "bind", false, MS_BIND },
	{ "rbind", false, MS_BIND | MS_REC },
};

static const struct {
	const char *name;
	unsigned long flag;
} propagation_flags[] = {
	{ "private", MS_PRIVATE }, { "rprivate", MS_PRIVATE | MS_REC }, { "shared", MS_SHARED },
	{ "rshared", MS_SHARED | MS_REC }, { "slave", MS_SLAVE }, { "rslave", MS_SLAVE | MS_REC },
	{ "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
};

/* runc's own options: not for the kernel. tmpcopyup is acted on by mount_one; SELinux labels mean nothing in the guest. */
static const char *const runtime_options[] = { "tmpcopyup", "z", "Z", "idmap", "ridmap", NULL };

static int find_mount_flag(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(mount_flags); i++)
		if (!strcmp(name, mount_flags[i].name))
			return (int)i;
	return -1;
}

static void parse_options(char **options, unsigned long *flags, unsigned long *propagation, char *data, size_t datalen)
{
	data[0] = '\0';
	for (char **o = options; o && *o; o++) {
		bool known = false;
		for (const char *const *r = runtime_options; *r; r++)
			known |= !strcmp(*o, *r);
		/* the recursive forms (rro, rnosuid...) count as their plain ones: a guest mount has no submounts */
		int flag = known ? -1 : find_mount_flag(*o);
		if (flag < 0 && !known && (*o)[0] == 'r')
			flag = find_mount_flag(*o + 1);
		if (flag >= 0) {
			if (mount_flags[flag].clear)
				*flags &= ~mount_flags[flag].flag;
			else
				*flags |= mount_flags[flag].flag;
			known = true;
		}
		for (size_t i = 0; i < ARRAY_SIZE(propagation_flags) && !known; i++)
			if (!strcmp(*o, propagation_flags[i].name)) {
				*propagation |= propagation_flags[i].flag;
				known = true;
			}
		/* anything else is filesystem data, passed through as runc does */
		if (!known && strlen(data) + strlen(*o) + 2 < datalen) {
			if (data[0])
				strcat(data, ",");
			strcat(data, *o);
		}
	}
}

int rootfs_secure_join(const char *root, const char *path, char *out, size_t outlen)
{
	char rest[PATH_MAX], resolved[PATH_MAX] = "";
	int links = 0;

	if (strlen(path) >= sizeof(rest))
		return -ENAMETOOLONG;
	strcpy(rest, path);
	char *p = rest;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		char *end = strchrnul(p, '/');
		size_t n = (size_t)(end - p);
		if (n == 1 && p[0] == '.') {
			p = end;
			continue;
		}
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			char *slash = strrchr(resolved, '/');
			if (slash)
				*slash = '\0';
			p = end;
			continue;
		}
		size_t rl = strlen(resolved);
		if (rl + 1 + n >= sizeof(resolved))
			return -ENAMETOOLONG;
		resolved[rl] = '/';
		memcpy(resolved + rl + 1, p, n);
		resolved[rl + 1 + n] = '\0';
		p = end;

		char full[PATH_MAX * 2];
		snprintf(full, sizeof(full), "%s%s", root, resolved);
		char target[PATH_MAX];
		ssize_t tl = readlink(full, target, sizeof(target) - 1);
		if (tl < 0)
			continue;   /* not a link, or not there yet: taken as it is */
		if (++links > 40)
			return -ELOOP;
		target[tl] = '\0';
		resolved[rl] = '\0';   /* drop the link itself */
		if (target[0] == '/')
			resolved[0] = '\0';
		char next[PATH_MAX];
		if ((size_t)snprintf(next, sizeof(next), "%s/%s", target, p) >= sizeof(next))
			return -ENAMETOOLONG;
		strcpy(rest, next);
		p = rest;
	}
	if ((size_t)snprintf(out, outlen, "%s%s", root, resolved[0] ? resolved : "/") >= outlen)
		return -ENAMETOOLONG;
	return 0;
}

/* Creates the mount point: a directory, or a file when binding a non-directory. */
static int make_mount_point(const char *dest, bool as_file)
{
	if (!as_file)
		return mkdir_parents(dest, 0755);
	char parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%s", dest);
	char *slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		int r = mkdir_parents(parent, 0755);
		if (r < 0)
			return r;
	}
	int fd = open(dest, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 && errno != EEXIST && errno != EISDIR)
		return -errno;
	if (fd >= 0)
		close(fd);
	return 0;
}

static bool has_option(char **options, const char *name)
{
	for (char **o = options; o && *o; o++)
		if (!strcmp(*o, name))
			return true;
	return false;
}

/* Copies a directory tree (files, directories, symlinks) from one open directory into another. */
static int copy_tree(int from, int to)
{
	int dup_from = fcntl(from, F_DUPFD_CLOEXEC, 0);
	if (dup_from < 0)
		return -errno;
	_cleanup_closedir_ DIR *d = fdopendir(dup_from);
	if (!d) {
		close(dup_from);
		return -errno;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(from, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		if (S_ISDIR(st.st_mode)) {
			if (mkdirat(to, de->d_name, st.st_mode & 07777) < 0 && errno != EEXIST)
				return -errno;
			_cleanup_close_ int sub_from = openat(from, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			_cleanup_close_ int sub_to = openat(to, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			int r = sub_from < 0 || sub_to < 0 ? -errno : copy_tree(sub_from, sub_to);
			if (r < 0)
				return r;
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlinkat(from, de->d_name, target, sizeof(target) - 1);
			if (n < 0)
				return -errno;
			target[n] = '\0';
			if (symlinkat(target, to, de->d_name) < 0)
				return -errno;
		} else if (S_ISREG(st.st_mode)) {
			_cleanup_close_ int in = openat(from, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			_cleanup_close_ int out = openat(to, de->d_name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777);
			if (in < 0 || out < 0)
				return -errno;
			char buf[65536];
			ssize_t n;
			while ((n = read(in, buf, sizeof(buf))) > 0)
				if (write_all(out, buf, (size_t)n) < 0)
					return -EIO;
			if (n < 0)
				return -errno;
		}
		fchownat(to, de->d_name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
	}
	return 0;
}

static int mount_one(const struct oci_mount *m, const char *rootfs, struct capsa_error *err)
{
	char dest[PATH_MAX], data[4096];
	unsigned long flags = 0, propagation = 0;
	const char *type = m->type ? m->type : "none";
	int r = rootfs_secure_join(rootfs, m->destination, dest, sizeof(dest));
	if (r < 0)
		return capsa_error_errno(err, r, "mount destination '%s'", m->destination);
	parse_options(m->options, &flags, &propagation, data, sizeof(data));
	if (!strcmp(type, "bind"))
		flags |= MS_BIND;
	bool is_bind = flags & MS_BIND;
	struct stat st;
	if (is_bind) {
		if (!m->source || stat(m->source, &st) < 0)
			return capsa_error_errno(err, -errno, "bind mount source '%s' for '%s'",
						 m->source ? m->source : "(none)", m->destination);
	}
	r = make_mount_point(dest, is_bind && !S_ISDIR(st.st_mode));
	if (r < 0)
		return capsa_error_errno(err, r, "creating mount point '%s'", m->destination);
	if (!strcmp(type, "cgroup") || !strcmp(type, "cgroup2")) {
		/* the guest is cgroup v2 only: the container sees the guest's hierarchy */
		type = "cgroup2";
		data[0] = '\0';
	}
	const char *source = m->source ? m->source : type;
	/* tmpcopyup (runc's): the tmpfs starts with what the image had at that path */
	_cleanup_close_ int below = -1;
	if (!strcmp(type, "tmpfs") && has_option(m->options, "tmpcopyup"))
		below = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* a bind mount ignores flags on creation; they are applied by the remount below */
	unsigned long create_flags = is_bind ? flags & (MS_BIND | MS_REC) : flags & ~MS_REMOUNT;
	if (mount(source, dest, is_bind ? NULL : type, create_flags, data[0] && !is_bind ? data : NULL) < 0)
		return capsa_error_errno(err, -errno, "mounting %s '%s' on '%s'", type, source, m->destination);
	/* bind mounts take their flags only on a remount */
	if (is_bind && (flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC))) {
		unsigned long rflags = MS_BIND | MS_REMOUNT | (flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC));
		if (mount(NULL, dest, NULL, rflags, NULL) < 0)
			return capsa_error_errno(err, -errno, "remounting '%s' with its options", m->destination);
	}
	if (below >= 0) {
		_cleanup_close_ int above = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		int r = above < 0 ? -errno : copy_tree(below, above);
		if (r < 0)
			return capsa_error_errno(err, r, "copying the image's '%s' into its tmpfs", m->destination);
	}
	if (propagation && mount(NULL, dest, NULL, propagation, NULL) < 0)
		return capsa_error_errno(err, -errno, "setting propagation of '%s'", m->destination);
	return 0;
}

static int make_devices(const struct oci_spec *spec, const char *rootfs, struct capsa_error *err)
{
	static const struct {
		const char *path;
		unsigned major, minor;
	} defaults[] = {
		{ "/dev/null", 1, 3 }, { "/dev/zero", 1, 5 }, { "/dev/full", 1, 7 },
		{ "/dev/random", 1, 8 }, { "/dev/urandom", 1, 9 }, { "/dev/tty", 5, 0 },
	};
	char path[PATH_MAX];
	mode_t old = umask(0);

	for (size_t i = 0; i < ARRAY_SIZE(defaults); i++) {
		snprintf(path, sizeof(path), "%s%s", rootfs, defaults[i].path);
		if (mknod(path, S_IFCHR | 0666, makedev(defaults[i].major, defaults[i].minor)) < 0 && errno != EEXIST) {
			umask(old);
			return capsa_error_errno(err, -errno, "creating device %s", defaults[i].path);
		}
	}
	for (size_t i = 0; i < spec->n_devices; i++) {
		const struct oci_device *d = &spec->devices[i];
		mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
		int r = rootfs_secure_join(rootfs, d->path, path, sizeof(path));
		if (r >= 0)
			r = make_mount_point(path, true) < 0 ? -errno : 0;
		unlink(path);
		if (r < 0 || mknod(path, type | d->mode, makedev(d->major, d->minor)) < 0 || chown(path, d->uid, d->gid) < 0) {
			umask(old);
			return capsa_error_errno(err, r < 0 ? r : -errno, "creating device '%s'", d->path);
		}
	}
	umask(old);
	static const struct {
		const char *target, *link;
	} links[] = {
		{ "/proc/self/fd", "/dev/fd" },     { "/proc/self/fd/0", "/dev/stdin" },
		{ "/proc/self/fd/1", "/dev/stdout" }, { "/proc/self/fd/2", "/dev/stderr" },
		{ "pts/ptmx", "/dev/ptmx" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
		snprintf(path, sizeof(path), "%s%s", rootfs, links[i].link);
		if (symlink(links[i].target, path) < 0 && errno != EEXIST)
			return capsa_error_errno(err, -errno, "creating %s", links[i].link);
	}
	return 0;
}

static bool dev_is_mounted(const struct oci_spec *spec)
{
	for (size_t i = 0; i < spec->n_mounts; i++)
		if (!strcmp(spec->mounts[i].destination, "/dev"))
			return true;
	return false;
}

static int pivot_into(const char *rootfs, struct capsa_error *err)
{
	_cleanup_close_ int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int newroot = open(rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (oldroot < 0 || newroot < 0)
		return capsa_error_errno(err, -errno, "opening root '%s'", rootfs);
	if (fchdir(newroot) < 0)
		return capsa_error_errno(err, -errno, "entering root '%s'", rootfs);
	/* pivot_root(".", ".") stacks the old root under the new one; detach it right away */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return capsa_error_errno(err, -errno, "pivot_root into '%s'", rootfs);
	if (fchdir(oldroot) < 0)
		return capsa_error_errno(err, -errno, "entering old root");
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return capsa_error_errno(err, -errno, "making old root a slave");
	if (umount2(".", MNT_DETACH) < 0)
		return capsa_error_errno(err, -errno, "detaching old root");
	if (chdir("/") < 0)
		return capsa_error_errno(err, -errno, "chdir /");
	return 0;
}

int rootfs_setup(const struct oci_spec *spec, const char *rootfs, struct capsa_error *err)
{
	unsigned long propagation = MS_SLAVE | MS_REC;
	for (size_t i = 0; spec->rootfs_propagation && i < ARRAY_SIZE(propagation_flags); i++)
		if (!strcmp(spec->rootfs_propagation, propagation_flags[i].name))
			propagation = propagation_flags[i].flag;
	if (mount(NULL, "/", NULL, propagation, NULL) < 0)
		return capsa_error_errno(err, -errno, "setting root propagation");
	/* a bind mount of the rootfs onto itself makes it a mount point pivot_root accepts */
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return capsa_error_errno(err, -errno, "binding container root '%s'", rootfs);
	for (size_t i = 0; i < spec->n_mounts; i++) {
		int r = mount_one(&spec->mounts[i], rootfs, err);
		if (r < 0)
			return r;
	}
	if (dev_is_mounted(spec)) {
		int r = make_devices(spec, rootfs, err);
		if (r < 0)
			return r;
	}
	return pivot_into(rootfs, err);
}

int rootfs_finish(const struct oci_spec *spec, struct capsa_error *err)
{
	for (char **p = spec->masked_paths; p && *p; p++) {
		struct stat st;
		if (stat(*p, &st) < 0)
			continue;
		int r = S_ISDIR(st.st_mode) ? mount("tmpfs", *p, "tmpfs", MS_RDONLY, "size=0")
					    : mount("/dev/null", *p, NULL, MS_BIND, NULL);
		if (r < 0)
			return capsa_error_errno(err, -errno, "masking '%s'", *p);
	}
	for (char **p = spec->readonly_paths; p && *p; p++) {
		if (access(*p, F_OK) < 0)
			continue;
		if (mount(*p, *p, NULL, MS_BIND | MS_REC, NULL) < 0 ||
		    mount(NULL, *p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
			return capsa_error_errno(err, -errno, "making '%s' read-only", *p);
	}
	if (spec->root_readonly && mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
		return capsa_error_errno(err, -errno, "making the root read-only");
	return 0;
}
