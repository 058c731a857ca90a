#include "runtime/host_cgroup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fdio.h"

#define MAX_HIERARCHIES 32

int host_cgroup_normalise(const char *cgroups_path, char *buf, size_t len)
{
	if (!cgroups_path || !cgroups_path[0] || strstr(cgroups_path, ".."))
		return -EINVAL;
	const char *c1 = strchr(cgroups_path, ':');
	if (cgroups_path[0] == '/' || !c1) {
		snprintf(buf, len, "%s%s", cgroups_path[0] == '/' ? "" : "/", cgroups_path);
		return 0;
	}
	const char *c2 = strchr(c1 + 1, ':');
	if (!c2)
		return -EINVAL;
	snprintf(buf, len, "/%.*s/%.*s-%s.scope", (int)(c1 - cgroups_path), cgroups_path, (int)(c2 - c1 - 1), c1 + 1, c2 + 1);
	return 0;
}

/* Mount points of cgroup and cgroup2 filesystems, from mountinfo. */
static size_t hierarchies(char mounts[][256], size_t max)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	size_t n = 0;
	while (f && n < max && fgets(line, sizeof(line), f)) {
		char mnt[256], fstype[64];
		char *sep = strstr(line, " - ");
		if (!sep || sscanf(line, "%*s %*s %*s %*s %255s", mnt) != 1 || sscanf(sep + 3, "%63s", fstype) != 1)
			continue;
		if (!strcmp(fstype, "cgroup") || !strcmp(fstype, "cgroup2"))
			snprintf(mounts[n++], 256, "%s", mnt);
	}
	return n;
}

/* A v1 cpuset group is unusable until it has CPUs and memory nodes: copy them down from the parent. */
static void fill_cpuset(const char *dir)
{
	char parent[4096], path[4200];
	snprintf(parent, sizeof(parent), "%s", dir);
	char *slash = strrchr(parent, '/');
	if (!slash)
		return;
	*slash = '\0';
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		_cleanup_free_ char *value = NULL, *own = NULL;
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (read_file(path, 4096, &own, NULL) < 0 || (own[0] && own[0] != '\n'))
			continue;
		snprintf(path, sizeof(path), "%s/%s", parent, files[i]);
		if (read_file(path, 4096, &value, NULL) < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		write_file(path, value, strlen(value), 0644);
	}
}

int host_cgroup_join(const char *path, pid_t pid, struct capsa_error *err)
{
	char mounts[MAX_HIERARCHIES][256];
	size_t n = hierarchies(mounts, MAX_HIERARCHIES);
	char value[32];
	int joined = 0;
	snprintf(value, sizeof(value), "%d", pid);
	for (size_t i = 0; i < n; i++) {
		char dir[4096], procs[4200];
		snprintf(dir, sizeof(dir), "%s%s", mounts[i], path);
		if (mkdir_parents(dir, 0755) < 0)
			continue;
		/* each level of a new cpuset path needs its CPUs, top down */
		if (strstr(mounts[i], "cpuset")) {
			char partial[4096];
			size_t base = strlen(mounts[i]);
			for (size_t k = base + 1; k <= strlen(dir); k++)
				if (dir[k] == '/' || dir[k] == '\0') {
					snprintf(partial, sizeof(partial), "%.*s", (int)k, dir);
					fill_cpuset(partial);
				}
		}
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
		if (write_file(procs, value, strlen(value), 0644) == 0)
			joined++;
	}
	if (n > 0 && joined == 0)
		return capsa_error_set(err, -EIO, "could not join cgroup '%s' in any hierarchy", path);
	return 0;
}

void host_cgroup_remove(const char *path)
{
	char mounts[MAX_HIERARCHIES][256];
	size_t n = hierarchies(mounts, MAX_HIERARCHIES);
	for (size_t i = 0; i < n; i++) {
		char dir[4096];
		snprintf(dir, sizeof(dir), "%s%s", mounts[i], path);
		rmdir(dir);
	}
}
