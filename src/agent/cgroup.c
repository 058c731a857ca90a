#include "agent/cgroup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fdio.h"

#define CGROUP_ROOT "/sys/fs/cgroup"
#define CGROUP_PARENT CGROUP_ROOT "/capsa"

static void group_path(const char *id, const char *file, char *buf, size_t len)
{
	snprintf(buf, len, CGROUP_PARENT "/%s%s%s", id, file ? "/" : "", file ? file : "");
}

static int write_value(const char *id, const char *file, const char *value, struct capsa_error *err)
{
	char path[512];
	group_path(id, file, path, sizeof(path));
	int r = write_file(path, value, strlen(value), 0644);
	if (r < 0)
		return capsa_error_errno(err, r, "writing '%s' to %s", value, path);
	return 0;
}

/* Controllers must be enabled on every ancestor for a group to use them. */
static void enable_controllers(void)
{
	static bool done;
	if (done)
		return;
	mkdir(CGROUP_PARENT, 0755);
	static const char *const controllers[] = { "+cpu", "+memory", "+pids", "+cpuset" };
	for (size_t i = 0; i < ARRAY_SIZE(controllers); i++) {
		/* one at a time: a controller the kernel lacks must not block the others */
		write_file(CGROUP_ROOT "/cgroup.subtree_control", controllers[i], strlen(controllers[i]), 0644);
		write_file(CGROUP_PARENT "/cgroup.subtree_control", controllers[i], strlen(controllers[i]), 0644);
	}
	done = true;
}

int cgroup_create(const char *id, const struct oci_resources *res, struct capsa_error *err)
{
	char path[512], value[64];
	int r;
	enable_controllers();
	group_path(id, NULL, path, sizeof(path));
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return capsa_error_errno(err, -errno, "creating cgroup %s", path);
	if (res->memory_limit > 0) {
		snprintf(value, sizeof(value), "%lld", res->memory_limit);
		if ((r = write_value(id, "memory.max", value, err)) < 0)
			return r;
	}
	if (res->cpu_quota > 0) {
		snprintf(value, sizeof(value), "%lld %llu", res->cpu_quota, res->cpu_period ? res->cpu_period : 100000);
		if ((r = write_value(id, "cpu.max", value, err)) < 0)
			return r;
	}
	if (res->cpu_shares >= 2) {
		/* the cgroup v1 shares range [2, 262144] mapped onto v2 weights [1, 10000], as runc does */
		unsigned long long shares = res->cpu_shares > 262144 ? 262144 : res->cpu_shares;
		snprintf(value, sizeof(value), "%llu", 1 + ((shares - 2) * 9999) / 262142);
		if ((r = write_value(id, "cpu.weight", value, err)) < 0)
			return r;
	}
	if (res->pids_limit > 0) {
		snprintf(value, sizeof(value), "%lld", res->pids_limit);
		if ((r = write_value(id, "pids.max", value, err)) < 0)
			return r;
	}
	if (res->cpuset_cpus && res->cpuset_cpus[0] && (r = write_value(id, "cpuset.cpus", res->cpuset_cpus, err)) < 0)
		return r;
	return 0;
}

int cgroup_add(const char *id, pid_t pid, struct capsa_error *err)
{
	char value[32];
	snprintf(value, sizeof(value), "%d", pid);
	return write_value(id, "cgroup.procs", value, err);
}

int cgroup_freeze(const char *id, bool frozen, struct capsa_error *err)
{
	return write_value(id, "cgroup.freeze", frozen ? "1" : "0", err);
}

int cgroup_pids(const char *id, uint32_t **ret, size_t *ret_n, struct capsa_error *err)
{
	char path[512];
	_cleanup_free_ char *text = NULL;
	group_path(id, "cgroup.procs", path, sizeof(path));
	int r = read_file(path, 1 << 20, &text, NULL);
	if (r < 0)
		return capsa_error_errno(err, r, "reading %s", path);
	size_t n = 0, cap = 16;
	uint32_t *pids = malloc(cap * sizeof(*pids));
	if (!pids)
		return -ENOMEM;
	for (char *p = text, *end; *p; p = end) {
		unsigned long v = strtoul(p, &end, 10);
		if (end == p) {
			end = p + 1;
			continue;
		}
		if (n == cap) {
			uint32_t *grown = realloc(pids, (cap *= 2) * sizeof(*pids));
			if (!grown) {
				free(pids);
				return -ENOMEM;
			}
			pids = grown;
		}
		pids[n++] = (uint32_t)v;
	}
	*ret = pids;
	*ret_n = n;
	return 0;
}

void cgroup_remove(const char *id)
{
	char path[512];
	group_path(id, NULL, path, sizeof(path));
	rmdir(path);
}
