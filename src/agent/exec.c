#include "agent/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fdio.h"

static int last_capability(void)
{
	_cleanup_free_ char *text = NULL;
	if (read_file("/proc/sys/kernel/cap_last_cap", 64, &text, NULL) < 0)
		return CAP_LAST_CAP;
	return atoi(text);
}

/* While still root: dropping from the bounding set needs CAP_SETPCAP. */
static int drop_bounding_set(const struct oci_process *p, struct capsa_error *err)
{
	int last = last_capability();
	for (int cap = 0; cap <= last; cap++)
		if (!(p->cap_bounding & (UINT64_C(1) << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return capsa_error_errno(err, -errno, "dropping capability %d from the bounding set", cap);
	return 0;
}

static int apply_capabilities(const struct oci_process *p, struct capsa_error *err)
{
	int last = last_capability();
	struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2] = {
		{ (uint32_t)p->cap_effective, (uint32_t)p->cap_permitted, (uint32_t)p->cap_inheritable },
		{ (uint32_t)(p->cap_effective >> 32), (uint32_t)(p->cap_permitted >> 32),
		  (uint32_t)(p->cap_inheritable >> 32) },
	};
	if (syscall(SYS_capset, &header, data) < 0)
		return capsa_error_errno(err, -errno, "setting capabilities");
	/* as runc: an ambient capability the inheritable set lacks cannot be raised, and is left out */
	for (int cap = 0; cap <= last; cap++)
		if (p->cap_ambient & (UINT64_C(1) << cap))
			prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
	return 0;
}

static const char *env_get(char **env, const char *name)
{
	size_t n = strlen(name);
	for (char **e = env; e && *e; e++)
		if (!strncmp(*e, name, n) && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

/*
 * Resolves the program as runc does (a path as given, a bare name through the
 * container's own PATH), into out, with the error words clients match:
 * "executable file not found in $PATH", "no such file or directory",
 * "permission denied".
 */
static int find_program(const struct oci_process *p, char *out, size_t len, struct capsa_error *err)
{
	const char *file = p->args[0];
	struct stat st;
	if (strchr(file, '/')) {
		if (stat(file, &st) < 0)
			return capsa_error_set(err, -ENOENT, "exec: \"%s\": stat %s: no such file or directory", file, file);
		if (S_ISDIR(st.st_mode) || access(file, X_OK) < 0)
			return capsa_error_set(err, -EACCES, "exec: \"%s\": permission denied", file);
		snprintf(out, len, "%s", file);
		return 0;
	}
	const char *path = env_get(p->env, "PATH");
	if (!path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	bool denied = false;
	for (const char *dir = path;;) {
		const char *end = strchrnul(dir, ':');
		int n = snprintf(out, len, "%.*s/%s", (int)(end - dir), dir, file);
		if (n > 0 && (size_t)n < len && stat(out, &st) == 0 && !S_ISDIR(st.st_mode)) {
			if (access(out, X_OK) == 0)
				return 0;
			denied = true;
		}
		if (!*end)
			break;
		dir = end + 1;
	}
	if (denied)
		return capsa_error_set(err, -EACCES, "exec: \"%s\": permission denied", file);
	return capsa_error_set(err, -ENOENT, "exec: \"%s\": executable file not found in $PATH", file);
}

/* Checked at create time, as runc does: a program that cannot run is reported before the container starts. */
int process_check_executable(const struct oci_process *p, struct capsa_error *err)
{
	char full[PATH_MAX];
	return find_program(p, full, sizeof(full), err);
}

static int exec_search(const struct oci_process *p, struct capsa_error *err)
{
	char full[PATH_MAX];
	int r = find_program(p, full, sizeof(full), err);
	if (r < 0)
		return r;
	execve(full, p->args, p->env);
	return capsa_error_errno(err, -errno, "exec: \"%s\"", full);
}

int process_exec(const struct oci_process *p, struct capsa_error *err)
{
	for (size_t i = 0; i < p->n_rlimits; i++)
		if (setrlimit(p->rlimits[i].resource, &p->rlimits[i].limit) < 0)
			return capsa_error_errno(err, -errno, "setrlimit %d", p->rlimits[i].resource);
	if (p->umask >= 0)
		umask((mode_t)p->umask);
	/* keep the permitted set across setuid so the spec's capabilities can be applied after it */
	if (p->has_capabilities) {
		int r = drop_bounding_set(p, err);
		if (r < 0)
			return r;
	}
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return capsa_error_errno(err, -errno, "PR_SET_KEEPCAPS");
	if (setgroups(p->n_groups, p->groups) < 0)
		return capsa_error_errno(err, -errno, "setgroups");
	if (setresgid(p->gid, p->gid, p->gid) < 0)
		return capsa_error_errno(err, -errno, "setgid %u", p->gid);
	if (setresuid(p->uid, p->uid, p->uid) < 0)
		return capsa_error_errno(err, -errno, "setuid %u", p->uid);
	if (chdir(p->cwd) < 0)
		return capsa_error_errno(err, -errno, "chdir to cwd '%s'", p->cwd);
	if (p->has_capabilities) {
		int r = apply_capabilities(p, err);
		if (r < 0)
			return r;
	}
	if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return capsa_error_errno(err, -errno, "PR_SET_NO_NEW_PRIVS");
	return exec_search(p, err);
}

int apply_sysctls(char **sysctl, struct capsa_error *err)
{
	for (char **s = sysctl; s && *s; s++) {
		char path[PATH_MAX];
		const char *eq = strchr(*s, '=');
		if (!eq || eq == *s || strstr(*s, ".."))
			return capsa_error_set(err, -EINVAL, "sysctl '%s' is not key=value", *s);
		int n = snprintf(path, sizeof(path), "/proc/sys/%.*s", (int)(eq - *s), *s);
		if (n < 0 || (size_t)n >= sizeof(path))
			return capsa_error_set(err, -ENAMETOOLONG, "sysctl '%s': name too long", *s);
		for (char *c = path + strlen("/proc/sys/"); *c; c++)
			if (*c == '.')
				*c = '/';
		int r = write_file(path, eq + 1, strlen(eq + 1), 0644);
		if (r < 0)
			return capsa_error_errno(err, r, "sysctl '%s'", *s);
	}
	return 0;
}
