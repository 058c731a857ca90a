#include "runtime/bundle.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fdio.h"

#define MAX_CONFIG_SIZE (4u << 20)

int bundle_load(const char *dir, struct bundle *ret, struct capsa_error *err)
{
	struct bundle b = { 0 };
	char path[PATH_MAX + 32];
	b.dir = realpath(dir, NULL);
	if (!b.dir)
		return capsa_error_errno(err, -errno, "bundle '%s'", dir);
	snprintf(path, sizeof(path), "%s/config.json", b.dir);
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = read_file(path, MAX_CONFIG_SIZE, &text, &len);
	if (r < 0) {
		bundle_clear(&b);
		return capsa_error_errno(err, r, "reading '%s'", path);
	}
	json_error_t jerr;
	b.spec = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!b.spec || !json_is_object(b.spec)) {
		r = capsa_error_set(err, -EINVAL, "%s: %s%s (line %d, column %d)", path, b.spec ? "" : "malformed JSON: ",
				    b.spec ? "not a JSON object" : jerr.text, jerr.line, jerr.column);
		bundle_clear(&b);
		return r;
	}
	const char *version = json_string_value(json_object_get(b.spec, "ociVersion"));
	if (!version || (strncmp(version, "1.0.", 4) && strncmp(version, "1.1.", 4) && strncmp(version, "1.2.", 4) &&
			 strcmp(version, "1.0") && strcmp(version, "1.1") && strcmp(version, "1.2"))) {
		r = capsa_error_set(err, -EINVAL, "%s: unsupported ociVersion '%s' (supported: 1.0.x to 1.2.x)", path,
				    version ? version : "(missing)");
		bundle_clear(&b);
		return r;
	}
	json_t *process = json_object_get(b.spec, "process");
	json_t *args = json_object_get(process, "args");
	if (!json_is_array(args) || json_array_size(args) == 0 || !json_is_string(json_array_get(args, 0))) {
		r = capsa_error_set(err, -EINVAL, "%s: process.args must name a program", path);
		bundle_clear(&b);
		return r;
	}
	const char *root = json_string_value(json_object_get(json_object_get(b.spec, "root"), "path"));
	if (!root || !root[0]) {
		r = capsa_error_set(err, -EINVAL, "%s: root.path is missing", path);
		bundle_clear(&b);
		return r;
	}
	char rootfs[PATH_MAX * 2];
	snprintf(rootfs, sizeof(rootfs), root[0] == '/' ? "%.0s%s" : "%s/%s", b.dir, root);
	struct stat st;
	if (stat(rootfs, &st) < 0 || !S_ISDIR(st.st_mode)) {
		r = capsa_error_set(err, -ENOENT, "%s: root.path '%s' is not a directory", path, rootfs);
		bundle_clear(&b);
		return r;
	}
	b.rootfs = realpath(rootfs, NULL);
	if (!b.rootfs) {
		bundle_clear(&b);
		return capsa_error_errno(err, -errno, "rootfs '%s'", rootfs);
	}
	*ret = b;
	return 0;
}

void bundle_clear(struct bundle *b)
{
	free(b->dir);
	free(b->rootfs);
	json_decref(b->spec);
	*b = (struct bundle){ 0 };
}

void bundle_vm_size(const json_t *spec, unsigned default_vcpus, unsigned max_vcpus, unsigned default_memory_mib,
		    unsigned *ret_vcpus, unsigned *ret_memory_mib)
{
	json_t *res = json_object_get(json_object_get(spec, "linux"), "resources");
	json_t *cpu = json_object_get(res, "cpu");
	long long quota = json_integer_value(json_object_get(cpu, "quota"));
	long long period = json_integer_value(json_object_get(cpu, "period"));
	long long shares = json_integer_value(json_object_get(cpu, "shares"));
	long long limit = json_integer_value(json_object_get(json_object_get(res, "memory"), "limit"));
	unsigned extra_cpus = 0;
	/* a quota is a hard ceiling of CPUs' worth of time; shares only weigh, 1024 counting as one CPU */
	if (quota > 0)
		extra_cpus = (unsigned)((quota + (period > 0 ? period : 100000) - 1) / (period > 0 ? period : 100000));
	else if (shares > 1024)
		extra_cpus = (unsigned)(shares / 1024);
	unsigned vcpus = default_vcpus + extra_cpus;
	long host = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned cap = max_vcpus ? max_vcpus : (host > 0 ? (unsigned)host : 1);
	if (vcpus > cap)
		vcpus = cap > default_vcpus ? cap : default_vcpus;
	/* the default memory runs the guest kernel and agent; the limit is added on top for the container */
	unsigned memory = default_memory_mib;
	if (limit > 0)
		memory += (unsigned)((limit + (1 << 20) - 1) >> 20);
	*ret_vcpus = vcpus;
	*ret_memory_mib = memory;
}
