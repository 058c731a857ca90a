#include "agent/oci.h"

#include <errno.h>
#include <jansson.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "common/capability.h"
#include "common/cleanup.h"

int oci_capability_from_name(const char *name)
{
	return capability_from_name(name);
}

static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
	{ "RLIMIT_AS", RLIMIT_AS },         { "RLIMIT_CORE", RLIMIT_CORE },
	{ "RLIMIT_CPU", RLIMIT_CPU },       { "RLIMIT_DATA", RLIMIT_DATA },
	{ "RLIMIT_FSIZE", RLIMIT_FSIZE },   { "RLIMIT_LOCKS", RLIMIT_LOCKS },
	{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK }, { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
	{ "RLIMIT_NICE", RLIMIT_NICE },     { "RLIMIT_NOFILE", RLIMIT_NOFILE },
	{ "RLIMIT_NPROC", RLIMIT_NPROC },   { "RLIMIT_RSS", RLIMIT_RSS },
	{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO }, { "RLIMIT_RTTIME", RLIMIT_RTTIME },
	{ "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING }, { "RLIMIT_STACK", RLIMIT_STACK },
};

static const struct {
	const char *name;
	int flag;
} namespace_names[] = {
	{ "pid", CLONE_NEWPID }, { "network", CLONE_NEWNET }, { "mount", CLONE_NEWNS },
	{ "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS },     { "cgroup", CLONE_NEWCGROUP },
};

static void free_strv(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

/* A JSON array of strings into a NULL-terminated vector; absent gives an empty one. */
static int get_strv(json_t *parent, const char *key, const char *where, char ***ret, struct capsa_error *err)
{
	json_t *arr = json_object_get(parent, key);
	size_t n = arr ? json_array_size(arr) : 0;
	if (arr && !json_is_array(arr))
		return capsa_error_set(err, -EINVAL, "%s.%s: must be an array of strings", where, key);
	char **v = calloc(n + 1, sizeof(char *));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(arr, i));
		if (!s) {
			free_strv(v);
			return capsa_error_set(err, -EINVAL, "%s.%s[%zu]: must be a string", where, key, i);
		}
		v[i] = strdup(s);
		if (!v[i]) {
			free_strv(v);
			return -ENOMEM;
		}
	}
	*ret = v;
	return 0;
}

static int get_string(json_t *parent, const char *key, const char *where, bool required, char **ret,
		      struct capsa_error *err)
{
	json_t *v = json_object_get(parent, key);
	if (!v) {
		if (required)
			return capsa_error_set(err, -EINVAL, "%s.%s: missing", where, key);
		*ret = NULL;
		return 0;
	}
	if (!json_is_string(v))
		return capsa_error_set(err, -EINVAL, "%s.%s: must be a string", where, key);
	*ret = strdup(json_string_value(v));
	return *ret ? 0 : -ENOMEM;
}

static int get_u32(json_t *parent, const char *key, const char *where, uint32_t *ret, struct capsa_error *err)
{
	json_t *v = json_object_get(parent, key);
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX)
		return capsa_error_set(err, -EINVAL, "%s.%s: must be an integer from 0 to 4294967295", where, key);
	*ret = (uint32_t)json_integer_value(v);
	return 0;
}

static int get_cap_set(json_t *caps, const char *key, uint64_t *ret, struct capsa_error *err)
{
	json_t *arr = json_object_get(caps, key);
	*ret = 0;
	if (!arr)
		return 0;
	if (!json_is_array(arr))
		return capsa_error_set(err, -EINVAL, "process.capabilities.%s: must be an array", key);
	size_t i;
	json_t *item;
	json_array_foreach(arr, i, item) {
		const char *name = json_string_value(item);
		int cap = name ? oci_capability_from_name(name) : -1;
		if (cap < 0)
			return capsa_error_set(err, -EINVAL, "process.capabilities.%s[%zu]: unknown capability %s%s%s",
					       key, i, name ? "'" : "", name ? name : "(not a string)", name ? "'" : "");
		*ret |= UINT64_C(1) << cap;
	}
	return 0;
}

static int parse_process(json_t *p, struct oci_process *ret, struct capsa_error *err)
{
	int r;
	*ret = (struct oci_process){ .umask = -1 };
	if (!json_is_object(p))
		return capsa_error_set(err, -EINVAL, "process: missing or not an object");
	if ((r = get_strv(p, "args", "process", &ret->args, err)) < 0)
		return r;
	if (!ret->args[0])
		return capsa_error_set(err, -EINVAL, "process.args: must name a program");
	if ((r = get_strv(p, "env", "process", &ret->env, err)) < 0)
		return r;
	if ((r = get_string(p, "cwd", "process", false, &ret->cwd, err)) < 0)
		return r;
	if (!ret->cwd && !(ret->cwd = strdup("/")))
		return -ENOMEM;
	if (ret->cwd[0] != '/')
		return capsa_error_set(err, -EINVAL, "process.cwd: '%s' is not an absolute path", ret->cwd);
	ret->terminal = json_is_true(json_object_get(p, "terminal"));
	ret->no_new_privileges = json_is_true(json_object_get(p, "noNewPrivileges"));

	json_t *size = json_object_get(p, "consoleSize");
	if (size) {
		uint32_t h = 0, w = 0;
		if ((r = get_u32(size, "height", "process.consoleSize", &h, err)) < 0 ||
		    (r = get_u32(size, "width", "process.consoleSize", &w, err)) < 0)
			return r;
		ret->console_rows = (unsigned short)(h > 65535 ? 65535 : h);
		ret->console_columns = (unsigned short)(w > 65535 ? 65535 : w);
	}

	json_t *user = json_object_get(p, "user");
	if (user) {
		uint32_t uid = 0, gid = 0, mask = 0;
		if ((r = get_u32(user, "uid", "process.user", &uid, err)) < 0 ||
		    (r = get_u32(user, "gid", "process.user", &gid, err)) < 0)
			return r;
		ret->uid = uid;
		ret->gid = gid;
		if (json_object_get(user, "umask")) {
			if ((r = get_u32(user, "umask", "process.user", &mask, err)) < 0)
				return r;
			ret->umask = (int)(mask & 0777);
		}
		json_t *groups = json_object_get(user, "additionalGids");
		if (groups) {
			if (!json_is_array(groups) || json_array_size(groups) > 65536)
				return capsa_error_set(err, -EINVAL, "process.user.additionalGids: must be an array of at most 65536 gids");
			ret->n_groups = json_array_size(groups);
			ret->groups = calloc(ret->n_groups + 1, sizeof(gid_t));
			if (!ret->groups)
				return -ENOMEM;
			for (size_t i = 0; i < ret->n_groups; i++) {
				json_t *g = json_array_get(groups, i);
				if (!json_is_integer(g) || json_integer_value(g) < 0 || json_integer_value(g) > UINT32_MAX)
					return capsa_error_set(err, -EINVAL, "process.user.additionalGids[%zu]: not a gid", i);
				ret->groups[i] = (gid_t)json_integer_value(g);
			}
		}
	}

	json_t *caps = json_object_get(p, "capabilities");
	if (caps) {
		ret->has_capabilities = true;
		if ((r = get_cap_set(caps, "bounding", &ret->cap_bounding, err)) < 0 ||
		    (r = get_cap_set(caps, "effective", &ret->cap_effective, err)) < 0 ||
		    (r = get_cap_set(caps, "inheritable", &ret->cap_inheritable, err)) < 0 ||
		    (r = get_cap_set(caps, "permitted", &ret->cap_permitted, err)) < 0 ||
		    (r = get_cap_set(caps, "ambient", &ret->cap_ambient, err)) < 0)
			return r;
	}

	json_t *rlimits = json_object_get(p, "rlimits");
	if (rlimits) {
		if (!json_is_array(rlimits) || json_array_size(rlimits) > 64)
			return capsa_error_set(err, -EINVAL, "process.rlimits: must be an array of at most 64 entries");
		ret->rlimits = calloc(json_array_size(rlimits) + 1, sizeof(*ret->rlimits));
		if (!ret->rlimits)
			return -ENOMEM;
		size_t i;
		json_t *item;
		json_array_foreach(rlimits, i, item) {
			const char *type = json_string_value(json_object_get(item, "type"));
			json_t *hard = json_object_get(item, "hard"), *soft = json_object_get(item, "soft");
			int resource = -1;
			for (size_t k = 0; type && k < ARRAY_SIZE(rlimit_names); k++)
				if (!strcmp(type, rlimit_names[k].name))
					resource = rlimit_names[k].resource;
			if (resource < 0)
				return capsa_error_set(err, -EINVAL, "process.rlimits[%zu].type: unknown rlimit '%s'", i,
						       type ? type : "(missing)");
			if (!json_is_integer(hard) || !json_is_integer(soft))
				return capsa_error_set(err, -EINVAL, "process.rlimits[%zu]: hard and soft must be integers", i);
			/* JSON integers are signed: -1 and large values both mean unlimited */
			json_int_t h = json_integer_value(hard), s = json_integer_value(soft);
			ret->rlimits[ret->n_rlimits].resource = resource;
			ret->rlimits[ret->n_rlimits].limit.rlim_max = h < 0 ? RLIM_INFINITY : (rlim_t)h;
			ret->rlimits[ret->n_rlimits].limit.rlim_cur = s < 0 ? RLIM_INFINITY : (rlim_t)s;
			ret->n_rlimits++;
		}
	}
	return 0;
}

static int parse_mounts(json_t *root, struct oci_spec *s, struct capsa_error *err)
{
	json_t *mounts = json_object_get(root, "mounts");
	if (!mounts)
		return 0;
	if (!json_is_array(mounts) || json_array_size(mounts) > 1024)
		return capsa_error_set(err, -EINVAL, "mounts: must be an array of at most 1024 entries");
	s->mounts = calloc(json_array_size(mounts) + 1, sizeof(*s->mounts));
	if (!s->mounts)
		return -ENOMEM;
	size_t i;
	json_t *m;
	json_array_foreach(mounts, i, m) {
		struct oci_mount *om = &s->mounts[s->n_mounts++];
		char where[32];
		int r;
		snprintf(where, sizeof(where), "mounts[%zu]", i);
		if ((r = get_string(m, "destination", where, true, &om->destination, err)) < 0 ||
		    (r = get_string(m, "type", where, false, &om->type, err)) < 0 ||
		    (r = get_string(m, "source", where, false, &om->source, err)) < 0 ||
		    (r = get_strv(m, "options", where, &om->options, err)) < 0)
			return r;
		if (om->destination[0] != '/')
			return capsa_error_set(err, -EINVAL, "%s.destination: '%s' is not an absolute path", where,
					       om->destination);
	}
	return 0;
}

static int parse_devices(json_t *linux_obj, struct oci_spec *s, struct capsa_error *err)
{
	json_t *devices = json_object_get(linux_obj, "devices");
	if (!devices)
		return 0;
	if (!json_is_array(devices) || json_array_size(devices) > 1024)
		return capsa_error_set(err, -EINVAL, "linux.devices: must be an array of at most 1024 entries");
	s->devices = calloc(json_array_size(devices) + 1, sizeof(*s->devices));
	if (!s->devices)
		return -ENOMEM;
	size_t i;
	json_t *d;
	json_array_foreach(devices, i, d) {
		struct oci_device *od = &s->devices[s->n_devices++];
		char where[32], *type = NULL;
		uint32_t major = 0, minor = 0, mode = 0666, uid = 0, gid = 0;
		int r;
		snprintf(where, sizeof(where), "linux.devices[%zu]", i);
		if ((r = get_string(d, "path", where, true, &od->path, err)) < 0 ||
		    (r = get_string(d, "type", where, true, &type, err)) < 0)
			return r;
		od->type = type[0];
		bool valid_type = strlen(type) == 1 && strchr("cbup", type[0]);
		free(type);
		if (!valid_type)
			return capsa_error_set(err, -EINVAL, "%s.type: must be one of c, b, u, p", where);
		if ((r = get_u32(d, "major", where, &major, err)) < 0 || (r = get_u32(d, "minor", where, &minor, err)) < 0 ||
		    (r = get_u32(d, "fileMode", where, &mode, err)) < 0 || (r = get_u32(d, "uid", where, &uid, err)) < 0 ||
		    (r = get_u32(d, "gid", where, &gid, err)) < 0)
			return r;
		od->major = major;
		od->minor = minor;
		od->mode = mode & 07777;
		od->uid = uid;
		od->gid = gid;
	}
	return 0;
}

static int get_int(json_t *parent, const char *key, const char *where, long long *ret, struct capsa_error *err)
{
	json_t *v = json_object_get(parent, key);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return capsa_error_set(err, -EINVAL, "%s.%s: must be an integer", where, key);
	*ret = json_integer_value(v);
	return 0;
}

static int parse_resources(json_t *l, struct oci_resources *res, struct capsa_error *err)
{
	*res = (struct oci_resources){ .memory_limit = -1, .cpu_quota = -1, .pids_limit = -1 };
	json_t *r = json_object_get(l, "resources");
	if (!r)
		return 0;
	json_t *memory = json_object_get(r, "memory"), *cpu = json_object_get(r, "cpu"), *pids = json_object_get(r, "pids");
	long long period = 0, shares = 0;
	int ret;
	if ((ret = get_int(memory, "limit", "linux.resources.memory", &res->memory_limit, err)) < 0 ||
	    (ret = get_int(cpu, "quota", "linux.resources.cpu", &res->cpu_quota, err)) < 0 ||
	    (ret = get_int(cpu, "period", "linux.resources.cpu", &period, err)) < 0 ||
	    (ret = get_int(cpu, "shares", "linux.resources.cpu", &shares, err)) < 0 ||
	    (ret = get_int(pids, "limit", "linux.resources.pids", &res->pids_limit, err)) < 0 ||
	    (ret = get_string(cpu, "cpus", "linux.resources.cpu", false, &res->cpuset_cpus, err)) < 0)
		return ret;
	if (period < 0 || shares < 0)
		return capsa_error_set(err, -EINVAL, "linux.resources.cpu: period and shares must not be negative");
	res->cpu_period = (unsigned long long)period;
	res->cpu_shares = (unsigned long long)shares;
	return 0;
}

static int parse_linux(json_t *root, struct oci_spec *s, struct capsa_error *err)
{
	json_t *l = json_object_get(root, "linux");
	int r;
	s->resources = (struct oci_resources){ .memory_limit = -1, .cpu_quota = -1, .pids_limit = -1 };
	if (!l)
		return 0;
	if ((r = parse_resources(l, &s->resources, err)) < 0)
		return r;
	json_t *namespaces = json_object_get(l, "namespaces");
	if (namespaces) {
		size_t i;
		json_t *ns;
		if (!json_is_array(namespaces))
			return capsa_error_set(err, -EINVAL, "linux.namespaces: must be an array");
		json_array_foreach(namespaces, i, ns) {
			const char *type = json_string_value(json_object_get(ns, "type"));
			int flag = -1;
			for (size_t k = 0; type && k < ARRAY_SIZE(namespace_names); k++)
				if (!strcmp(type, namespace_names[k].name))
					flag = namespace_names[k].flag;
			/* a user namespace buys nothing inside a throwaway VM; it is accepted and not created */
			if (type && !strcmp(type, "user"))
				continue;
			if (flag < 0)
				return capsa_error_set(err, -EINVAL, "linux.namespaces[%zu].type: unknown namespace '%s'", i,
						       type ? type : "(missing)");
			/* a host namespace path means nothing in the guest: the guest gets its own */
			s->clone_flags |= flag;
		}
	}
	if ((r = get_strv(l, "maskedPaths", "linux", &s->masked_paths, err)) < 0 ||
	    (r = get_strv(l, "readonlyPaths", "linux", &s->readonly_paths, err)) < 0 ||
	    (r = get_string(l, "rootfsPropagation", "linux", false, &s->rootfs_propagation, err)) < 0)
		return r;
	json_t *sysctl = json_object_get(l, "sysctl");
	size_t n = json_is_object(sysctl) ? json_object_size(sysctl) : 0;
	s->sysctl = calloc(n + 1, sizeof(char *));
	if (!s->sysctl)
		return -ENOMEM;
	if (n) {
		const char *key;
		json_t *val;
		size_t i = 0;
		json_object_foreach(sysctl, key, val) {
			if (!json_is_string(val))
				return capsa_error_set(err, -EINVAL, "linux.sysctl.%s: must be a string", key);
			if (asprintf(&s->sysctl[i++], "%s=%s", key, json_string_value(val)) < 0)
				return -ENOMEM;
		}
	}
	return parse_devices(l, s, err);
}

int oci_spec_parse(const char *json, size_t len, struct oci_spec *ret, struct capsa_error *err)
{
	json_error_t jerr;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	struct oci_spec s = { 0 };
	int r;

	if (!root)
		return capsa_error_set(err, -EINVAL, "config.json: line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
	if (!json_is_object(root)) {
		r = capsa_error_set(err, -EINVAL, "config.json: not a JSON object");
		goto out;
	}
	if ((r = parse_process(json_object_get(root, "process"), &s.process, err)) < 0)
		goto out;
	json_t *rootobj = json_object_get(root, "root");
	if ((r = get_string(rootobj, "path", "root", false, &s.root_path, err)) < 0)
		goto out;
	s.root_readonly = json_is_true(json_object_get(rootobj, "readonly"));
	if ((r = get_string(root, "hostname", "", false, &s.hostname, err)) < 0 || (r = parse_mounts(root, &s, err)) < 0 ||
	    (r = parse_linux(root, &s, err)) < 0)
		goto out;
	if (!s.sysctl && !(s.sysctl = calloc(1, sizeof(char *)))) {
		r = -ENOMEM;
		goto out;
	}
	*ret = s;
	json_decref(root);
	return 0;
out:
	oci_spec_free(&s);
	json_decref(root);
	return r;
}

int oci_process_parse(const char *json, size_t len, struct oci_process *ret, struct capsa_error *err)
{
	json_error_t jerr;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return capsa_error_set(err, -EINVAL, "process JSON: line %d, column %d: %s", jerr.line, jerr.column,
				       jerr.text);
	struct oci_process p;
	int r = parse_process(root, &p, err);
	json_decref(root);
	if (r < 0) {
		oci_process_free(&p);
		return r;
	}
	*ret = p;
	return 0;
}

void oci_process_free(struct oci_process *p)
{
	free_strv(p->args);
	free_strv(p->env);
	free(p->cwd);
	free(p->groups);
	free(p->rlimits);
	*p = (struct oci_process){ .umask = -1 };
}

void oci_spec_free(struct oci_spec *s)
{
	oci_process_free(&s->process);
	free(s->root_path);
	free(s->hostname);
	for (size_t i = 0; i < s->n_mounts; i++) {
		free(s->mounts[i].destination);
		free(s->mounts[i].type);
		free(s->mounts[i].source);
		free_strv(s->mounts[i].options);
	}
	free(s->mounts);
	for (size_t i = 0; i < s->n_devices; i++)
		free(s->devices[i].path);
	free(s->devices);
	free_strv(s->masked_paths);
	free_strv(s->readonly_paths);
	free_strv(s->sysctl);
	free(s->rootfs_propagation);
	free(s->resources.cpuset_cpus);
	*s = (struct oci_spec){ 0 };
}
