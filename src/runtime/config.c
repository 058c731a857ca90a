#include "runtime/config.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/toml.h"

#define MAX_DROPINS 64

enum key_kind { KEY_STRING, KEY_INT, KEY_BOOL, KEY_STRINGS };

#define ALL_HV ((1u << HV_KINDS) - 1)
#define ONLY(kind) (1u << (kind))

struct key {
	const char *section;        /* "hypervisor", "agent", "runtime" */
	const char *name;
	enum key_kind kind;
	size_t offset;
	long long min, max;          /* KEY_INT */
	const char *const *allowed;  /* KEY_STRING: NULL means anything */
	const char *default_string;  /* NULL: per hypervisor, see below */
	long long default_int;       /* KEY_INT and KEY_BOOL */
	unsigned applies_to;         /* hypervisors whose files may set it */
};

static const char *const shared_fs_values[] = { "virtio-fs", "virtio-9p", "none", NULL };
static const char *const cache_values[] = { "none", "never", "auto", "always", NULL };
static const char *const block_values[] = { "virtio-blk", "virtio-scsi", "virtio-mmio", NULL };
static const char *const accel_values[] = { "auto", "kvm", "tcg", NULL };
static const char *const net_values[] = { "tcfilter", "macvtap", "none", NULL };

#define HV(field) offsetof(struct capsa_config, hv.field)
#define AG(field) offsetof(struct capsa_config, agent.field)
#define RT(field) offsetof(struct capsa_config, runtime.field)

static const struct key keys[] = {
	{ "hypervisor", "path", KEY_STRING, HV(path), 0, 0, NULL, NULL, 0, ALL_HV },
	{ "hypervisor", "kernel", KEY_STRING, HV(kernel), 0, 0, NULL, NULL, 0, ALL_HV },
	{ "hypervisor", "initrd", KEY_STRING, HV(initrd), 0, 0, NULL, CAPSA_PREFIX "/share/capsa/capsa-initrd.img", 0, ALL_HV },
	{ "hypervisor", "image", KEY_STRING, HV(image), 0, 0, NULL, "", 0, ALL_HV },
	{ "hypervisor", "machine_type", KEY_STRING, HV(machine_type), 0, 0, NULL, NULL, 0, ALL_HV },
	{ "hypervisor", "kernel_params", KEY_STRING, HV(kernel_params), 0, 0, NULL, "", 0, ALL_HV },
	{ "hypervisor", "firmware", KEY_STRING, HV(firmware), 0, 0, NULL, "", 0, ALL_HV },
	{ "hypervisor", "default_vcpus", KEY_INT, HV(default_vcpus), 1, 255, NULL, NULL, 1, ALL_HV },
	{ "hypervisor", "default_maxvcpus", KEY_INT, HV(default_maxvcpus), 0, 255, NULL, NULL, 0, ALL_HV },
	{ "hypervisor", "default_memory", KEY_INT, HV(default_memory), 64, 1048576, NULL, NULL, 256, ALL_HV },
	{ "hypervisor", "memory_slots", KEY_INT, HV(memory_slots), 0, 256, NULL, NULL, 10, ALL_HV },
	{ "hypervisor", "shared_fs", KEY_STRING, HV(shared_fs), 0, 0, shared_fs_values, NULL, 0, ALL_HV },
	{ "hypervisor", "virtio_fs_daemon", KEY_STRING, HV(virtio_fs_daemon), 0, 0, NULL, "/usr/lib/qemu/virtiofsd", 0, ALL_HV },
	{ "hypervisor", "virtio_fs_cache", KEY_STRING, HV(virtio_fs_cache), 0, 0, cache_values, "none", 0, ALL_HV },
	{ "hypervisor", "block_device_driver", KEY_STRING, HV(block_device_driver), 0, 0, block_values, "virtio-blk", 0, ALL_HV },
	{ "hypervisor", "enable_debug", KEY_BOOL, HV(enable_debug), 0, 0, NULL, NULL, 0, ALL_HV },
	{ "hypervisor", "valid_hypervisor_paths", KEY_STRINGS, HV(valid_hypervisor_paths), 0, 0, NULL, NULL, 0, ALL_HV },
	{ "hypervisor", "jailer_path", KEY_STRING, HV(jailer_path), 0, 0, NULL, "/usr/bin/jailer", 0, ONLY(HV_FIRECRACKER) },
	{ "hypervisor", "ctlpath", KEY_STRING, HV(ctlpath), 0, 0, NULL, "/usr/bin/acrnctl", 0, ONLY(HV_ACRN) },
	{ "hypervisor", "accelerator", KEY_STRING, HV(accelerator), 0, 0, accel_values, "auto", 0, ONLY(HV_QEMU) },
	{ "agent", "dial_timeout", KEY_INT, AG(dial_timeout), 1, 3600, NULL, NULL, 30, ALL_HV },
	{ "agent", "kernel_modules", KEY_STRINGS, AG(kernel_modules), 0, 0, NULL, NULL, 0, ALL_HV },
	{ "agent", "enable_debug", KEY_BOOL, AG(enable_debug), 0, 0, NULL, NULL, 0, ALL_HV },
	{ "runtime", "enable_debug", KEY_BOOL, RT(enable_debug), 0, 0, NULL, NULL, 0, ALL_HV },
	{ "runtime", "internetworking_model", KEY_STRING, RT(internetworking_model), 0, 0, net_values, "tcfilter", 0, ALL_HV },
	{ "runtime", "sandbox_cgroup_only", KEY_BOOL, RT(sandbox_cgroup_only), 0, 0, NULL, NULL, 0, ALL_HV },
	{ "runtime", "disable_guest_seccomp", KEY_BOOL, RT(disable_guest_seccomp), 0, 0, NULL, NULL, 1, ALL_HV },
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

static const struct {
	const char *name, *section, *path, *kernel, *machine, *shared_fs;
} hypervisors[HV_KINDS] = {
	[HV_QEMU] = { "qemu", "qemu", "/usr/bin/qemu-system-x86_64", "vmlinux", "microvm", "virtio-fs" },
	[HV_CLH] = { "clh", "clh", "/usr/bin/cloud-hypervisor", "vmlinux", "", "virtio-fs" },
	[HV_FIRECRACKER] = { "firecracker", "firecracker", "/usr/bin/firecracker", "vmlinux", "", "none" },
	[HV_ACRN] = { "acrn", "acrn", "/usr/bin/acrn-dm", "bzImage", "", "none" },
	[HV_DRAGONBALL] = { "builtin", "dragonball", CAPSA_PREFIX "/bin/capsa-vmm", "vmlinux", "", "virtio-fs" },
};

const char *hypervisor_kind_name(enum hypervisor_kind kind)
{
	return kind < HV_KINDS ? hypervisors[kind].name : "unknown";
}

const char *hypervisor_kind_section(enum hypervisor_kind kind)
{
	return kind < HV_KINDS ? hypervisors[kind].section : "unknown";
}

static void **field(struct capsa_config *c, const struct key *k)
{
	return (void **)((char *)c + k->offset);
}

static void free_strv(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

static char **strv_of(const char *s)
{
	char **v = calloc(2, sizeof(char *));
	if (v && !(v[0] = strdup(s))) {
		free(v);
		return NULL;
	}
	return v;
}

static int set_defaults(struct capsa_config *c)
{
	char kernel[512];
	snprintf(kernel, sizeof(kernel), CAPSA_PREFIX "/share/capsa/%s", hypervisors[c->hypervisor].kernel);
	for (size_t i = 0; i < N_KEYS; i++) {
		const struct key *k = &keys[i];
		void **f = field(c, k);
		switch (k->kind) {
		case KEY_STRING: {
			const char *d = k->default_string;
			if (!d)
				d = !strcmp(k->name, "path") ? hypervisors[c->hypervisor].path
				  : !strcmp(k->name, "kernel") ? kernel
				  : !strcmp(k->name, "machine_type") ? hypervisors[c->hypervisor].machine
								     : hypervisors[c->hypervisor].shared_fs;
			free(*f);
			if (!(*f = strdup(d)))
				return -ENOMEM;
			break;
		}
		case KEY_INT:
			*(long long *)f = k->default_int;
			break;
		case KEY_BOOL:
			*(bool *)f = k->default_int != 0;
			break;
		case KEY_STRINGS:
			free_strv((char **)*f);
			*f = !strcmp(k->name, "valid_hypervisor_paths") ? strv_of(hypervisors[c->hypervisor].path)
									: calloc(1, sizeof(char *));
			if (!*f)
				return -ENOMEM;
			break;
		}
		c->origins[i] = (struct config_origin){ 0 };
	}
	return 0;
}

static int add_warning(struct capsa_config *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int add_warning(struct capsa_config *c, const char *fmt, ...)
{
	char **n = realloc(c->warnings, (c->n_warnings + 1) * sizeof(char *));
	if (!n)
		return -ENOMEM;
	c->warnings = n;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&c->warnings[c->n_warnings], fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	c->n_warnings++;
	return 0;
}

static const char *type_word(enum key_kind kind)
{
	return kind == KEY_STRING ? "a string" : kind == KEY_INT ? "an integer" : kind == KEY_BOOL ? "a boolean" : "an array of strings";
}

static void allowed_list(const char *const *allowed, char *buf, size_t len)
{
	buf[0] = '\0';
	for (const char *const *a = allowed; *a; a++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s\"%s\"", a == allowed ? "" : ", ", *a);
}

/* Applies one key's value, checking its type and allowed values. */
static int apply_key(struct capsa_config *c, size_t index, const struct toml_value *v, const char *file,
		     const char *where, struct capsa_error *err)
{
	const struct key *k = &keys[index];
	int line = toml_line(v);
	enum toml_type t = toml_type(v);
	void **f = field(c, k);
	bool type_ok = (k->kind == KEY_STRING && t == TOML_STRING) || (k->kind == KEY_INT && t == TOML_INTEGER) ||
		       (k->kind == KEY_BOOL && t == TOML_BOOL) || (k->kind == KEY_STRINGS && t == TOML_ARRAY);
	if (!type_ok)
		return capsa_error_set(err, -EINVAL, "%s:%d: %s.%s must be %s, not %s", file, line, where, k->name,
				       type_word(k->kind), toml_type_name(t));
	switch (k->kind) {
	case KEY_STRING: {
		const char *s = toml_string(v);
		if (strlen(s) != toml_string_len(v))
			return capsa_error_set(err, -EINVAL, "%s:%d: %s.%s holds a NUL character", file, line, where, k->name);
		if (k->allowed) {
			bool ok = false;
			for (const char *const *a = k->allowed; *a; a++)
				ok |= !strcmp(*a, s);
			if (!ok) {
				char list[256];
				allowed_list(k->allowed, list, sizeof(list));
				return capsa_error_set(err, -EINVAL, "%s:%d: %s.%s = \"%s\" is not allowed (allowed: %s)", file, line,
						       where, k->name, s, list);
			}
		}
		char *copy = strdup(s);
		if (!copy)
			return -ENOMEM;
		free(*f);
		*f = copy;
		break;
	}
	case KEY_INT: {
		long long n = toml_integer(v);
		if (n < k->min || n > k->max)
			return capsa_error_set(err, -ERANGE, "%s:%d: %s.%s = %lld is out of range (allowed: %lld to %lld)", file,
					       line, where, k->name, n, k->min, k->max);
		*(long long *)f = n;
		break;
	}
	case KEY_BOOL:
		*(bool *)f = toml_bool(v);
		break;
	case KEY_STRINGS: {
		size_t n = toml_array_size(v);
		char **list = calloc(n + 1, sizeof(char *));
		if (!list)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++) {
			const struct toml_value *item = toml_array_at(v, i);
			if (toml_type(item) != TOML_STRING) {
				free_strv(list);
				return capsa_error_set(err, -EINVAL, "%s:%d: %s.%s[%zu] must be a string, not %s", file, line,
						       where, k->name, i, toml_type_name(toml_type(item)));
			}
			if (!(list[i] = strdup(toml_string(item)))) {
				free_strv(list);
				return -ENOMEM;
			}
		}
		free_strv((char **)*f);
		*f = list;
		break;
	}
	}
	c->origins[index] = (struct config_origin){ .file = file, .line = line };
	return 0;
}

static int apply_section(struct capsa_config *c, const char *section, const struct toml_value *table,
			 const char *file, const char *where, struct capsa_error *err)
{
	for (size_t i = 0; i < toml_table_size(table); i++) {
		const char *name = toml_table_key_at(table, i);
		const struct toml_value *v = toml_table_value_at(table, i);
		size_t index = N_KEYS;
		for (size_t k = 0; k < N_KEYS; k++)
			if (!strcmp(keys[k].section, section) && !strcmp(keys[k].name, name))
				index = k;
		int r = 0;
		if (index == N_KEYS)
			r = add_warning(c, "%s:%d: unknown key '%s' in [%s]; ignored", file, toml_line(v), name, where);
		else if (!(keys[index].applies_to & ONLY(c->hypervisor)))
			r = add_warning(c, "%s:%d: key '%s' does not apply to %s; ignored", file, toml_line(v), name,
					hypervisors[c->hypervisor].section);
		else
			r = apply_key(c, index, v, file, where, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The [hypervisor.X] a file names; main files must name exactly one. */
static int find_hypervisor(const struct toml_value *root, const char *file, bool required, int *ret_kind,
			   const struct toml_value **ret_table, struct capsa_error *err)
{
	const struct toml_value *hv = toml_table_get(root, "hypervisor");
	*ret_kind = -1;
	*ret_table = NULL;
	if (!hv) {
		if (required)
			return capsa_error_set(err, -EINVAL, "%s: no [hypervisor.NAME] section (NAME: qemu, clh, firecracker, acrn, dragonball)",
					       file);
		return 0;
	}
	if (toml_type(hv) != TOML_TABLE || toml_table_size(hv) != 1)
		return capsa_error_set(err, -EINVAL, "%s:%d: exactly one [hypervisor.NAME] section is allowed, found %zu", file,
				       toml_line(hv), toml_type(hv) == TOML_TABLE ? toml_table_size(hv) : 0);
	const char *name = toml_table_key_at(hv, 0);
	const struct toml_value *table = toml_table_value_at(hv, 0);
	for (int k = 0; k < HV_KINDS; k++)
		if (!strcmp(name, hypervisors[k].section)) {
			*ret_kind = k;
			if (toml_type(table) != TOML_TABLE)
				return capsa_error_set(err, -EINVAL, "%s:%d: hypervisor.%s must be a table", file, toml_line(table), name);
			*ret_table = table;
			return 0;
		}
	return capsa_error_set(err, -EINVAL, "%s:%d: unknown hypervisor '%s' (allowed: qemu, clh, firecracker, acrn, dragonball)",
			       file, toml_line(table), name);
}

static int apply_file(struct capsa_config *c, const char *file, bool is_main, struct capsa_error *err)
{
	struct toml_value *root = NULL;
	struct toml_error terr = { 0 };
	int r = toml_parse_file(file, &root, &terr);
	if (r < 0) {
		if (terr.line > 0)
			return capsa_error_set(err, -EINVAL, "%s:%d:%d: %s", file, terr.line, terr.column, terr.msg);
		return capsa_error_errno(err, r, "reading configuration '%s'", file);
	}
	int kind;
	const struct toml_value *hv_table;
	r = find_hypervisor(root, file, is_main, &kind, &hv_table, err);
	if (r >= 0 && is_main) {
		c->hypervisor = (enum hypervisor_kind)kind;
		r = set_defaults(c);
	} else if (r >= 0 && kind >= 0 && kind != (int)c->hypervisor) {
		r = capsa_error_set(err, -EINVAL, "%s:%d: this drop-in configures [hypervisor.%s] but %s configures [hypervisor.%s]",
				    file, toml_line(hv_table), hypervisors[kind].section, c->files[0],
				    hypervisors[c->hypervisor].section);
	}
	for (size_t i = 0; r >= 0 && i < toml_table_size(root); i++) {
		const char *name = toml_table_key_at(root, i);
		const struct toml_value *v = toml_table_value_at(root, i);
		char where[64];
		if (!strcmp(name, "hypervisor")) {
			snprintf(where, sizeof(where), "hypervisor.%s", hypervisors[c->hypervisor].section);
			r = apply_section(c, "hypervisor", hv_table, file, where, err);
		} else if (!strcmp(name, "agent") && toml_type(v) == TOML_TABLE) {
			for (size_t a = 0; r >= 0 && a < toml_table_size(v); a++) {
				const char *agent = toml_table_key_at(v, a);
				const struct toml_value *t = toml_table_value_at(v, a);
				if (!strcmp(agent, "kata") && toml_type(t) == TOML_TABLE)
					r = apply_section(c, "agent", t, file, "agent.kata", err);
				else
					r = add_warning(c, "%s:%d: unknown section [agent.%s]; ignored", file, toml_line(t), agent);
			}
		} else if (!strcmp(name, "runtime") && toml_type(v) == TOML_TABLE) {
			r = apply_section(c, "runtime", v, file, "runtime", err);
		} else {
			r = add_warning(c, "%s:%d: unknown section or key '%s'; ignored", file, toml_line(v), name);
		}
	}
	toml_free(root);
	return r;
}

static int add_file(struct capsa_config *c, const char *path)
{
	char **n = realloc(c->files, (c->n_files + 1) * sizeof(char *));
	if (!n)
		return -ENOMEM;
	c->files = n;
	if (!(c->files[c->n_files] = strdup(path)))
		return -ENOMEM;
	c->n_files++;
	return 0;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.toml files of config.d beside the main file, in name order. */
static int add_dropins(struct capsa_config *c, const char *main_path)
{
	_cleanup_free_ char *copy = strdup(main_path);
	if (!copy)
		return -ENOMEM;
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/config.d", dirname(copy));
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (!d)
		return 0;
	char *names[MAX_DROPINS];
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < MAX_DROPINS) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".toml"))
			continue;
		if (!(names[n] = strdup(de->d_name)))
			break;
		n++;
	}
	qsort(names, n, sizeof(char *), compare_names);
	int r = 0;
	for (size_t i = 0; i < n; i++) {
		char path[8192];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (r == 0)
			r = add_file(c, path);
		free(names[i]);
	}
	return r;
}

static int file_error(const struct capsa_config *c, const char *key, const char *value, int code, const char *what,
		      struct capsa_error *err)
{
	struct config_origin o = config_origin_of(c, key);
	char at[4200];
	if (o.file)
		snprintf(at, sizeof(at), "%s:%d", o.file, o.line);
	else
		snprintf(at, sizeof(at), "%s (built-in default)", c->path);
	const char *dot = strchr(key, '.');
	return capsa_error_set(err, code, "%s: %s = \"%s\": %s", at, dot ? dot + 1 : key, value, what);
}

static int validate(struct capsa_config *c, struct capsa_error *err)
{
	bool listed = !c->hv.valid_hypervisor_paths[0];
	for (char **p = c->hv.valid_hypervisor_paths; *p; p++)
		listed |= !strcmp(*p, c->hv.path);
	if (!listed) {
		char list[1024] = "";
		for (char **p = c->hv.valid_hypervisor_paths; *p; p++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s\"%s\"", list[0] ? ", " : "", *p);
		char what[1100];
		snprintf(what, sizeof(what), "not in valid_hypervisor_paths (allowed: %s)", list);
		return file_error(c, "hypervisor.path", c->hv.path, -EPERM, what, err);
	}
	struct stat st;
	if (stat(c->hv.kernel, &st) < 0 || !S_ISREG(st.st_mode))
		return file_error(c, "hypervisor.kernel", c->hv.kernel, -ENOENT,
				  "the guest kernel file does not exist (run make install, or point kernel at a vmlinux or bzImage)", err);
	if (c->hv.initrd[0] && c->hv.image[0])
		return file_error(c, "hypervisor.image", c->hv.image, -EINVAL, "give initrd or image, not both", err);
	if (c->hv.initrd[0] && (stat(c->hv.initrd, &st) < 0 || !S_ISREG(st.st_mode)))
		return file_error(c, "hypervisor.initrd", c->hv.initrd, -ENOENT, "the guest initrd file does not exist", err);
	if (c->hv.image[0] && stat(c->hv.image, &st) < 0)
		return file_error(c, "hypervisor.image", c->hv.image, -ENOENT, "the guest image file does not exist", err);
	if (!c->hv.initrd[0] && !c->hv.image[0])
		return file_error(c, "hypervisor.initrd", "", -EINVAL, "an initrd (or an image) is needed", err);
	if (c->hypervisor == HV_QEMU && strcmp(c->hv.machine_type, "microvm") && strcmp(c->hv.machine_type, "q35"))
		return file_error(c, "hypervisor.machine_type", c->hv.machine_type, -EINVAL,
				  "not allowed (allowed: \"microvm\", \"q35\")", err);
	if (c->hv.default_maxvcpus && c->hv.default_maxvcpus < c->hv.default_vcpus) {
		char value[32];
		snprintf(value, sizeof(value), "%lld", c->hv.default_maxvcpus);
		return file_error(c, "hypervisor.default_maxvcpus", value, -EINVAL,
				  "less than default_vcpus (allowed: 0, or at least default_vcpus)", err);
	}
	return 0;
}

int config_load_file(const char *path, struct capsa_config *ret, struct capsa_error *err)
{
	struct capsa_config c = { 0 };
	int r;
	c.origins = calloc(N_KEYS, sizeof(*c.origins));
	if (!c.origins || !(c.path = strdup(path)) || add_file(&c, path) < 0 || add_dropins(&c, path) < 0) {
		config_free(&c);
		return capsa_error_set(err, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < c.n_files; i++)
		if ((r = apply_file(&c, c.files[i], i == 0, err)) < 0) {
			config_free(&c);
			return r == -ENOMEM && err && !err->code ? capsa_error_set(err, r, "out of memory") : r;
		}
	if ((r = validate(&c, err)) < 0) {
		config_free(&c);
		return r;
	}
	*ret = c;
	return 0;
}

size_t config_default_paths(const char *explicit_path, const char **ret, size_t max)
{
	size_t n = 0;
	const char *env = getenv(CONFIG_ENV_VAR);
	if (explicit_path && n < max)
		ret[n++] = explicit_path;
	if (env && env[0] && n < max)
		ret[n++] = env;
	if (n < max)
		ret[n++] = CONFIG_ETC_PATH;
	if (n < max)
		ret[n++] = CONFIG_DEFAULTS_PATH;
	return n;
}

int config_load(const char *explicit_path, struct capsa_config *ret, struct capsa_error *err)
{
	if (explicit_path)
		return config_load_file(explicit_path, ret, err);
	const char *env = getenv(CONFIG_ENV_VAR);
	if (env && env[0])
		return config_load_file(env, ret, err);   /* asked for by name: its absence is an error */
	if (access(CONFIG_ETC_PATH, F_OK) == 0)
		return config_load_file(CONFIG_ETC_PATH, ret, err);
	if (access(CONFIG_DEFAULTS_PATH, F_OK) == 0)
		return config_load_file(CONFIG_DEFAULTS_PATH, ret, err);
	return capsa_error_set(err, -ENOENT, "no configuration file: tried %s and %s (run make install, or use --config FILE)",
			       CONFIG_ETC_PATH, CONFIG_DEFAULTS_PATH);
}

struct config_origin config_origin_of(const struct capsa_config *c, const char *key)
{
	const char *dot = strchr(key, '.');
	if (!dot)
		return (struct config_origin){ 0 };
	for (size_t i = 0; i < N_KEYS; i++)
		if (strlen(keys[i].section) == (size_t)(dot - key) && !strncmp(keys[i].section, key, (size_t)(dot - key)) &&
		    !strcmp(keys[i].name, dot + 1))
			return c->origins[i];
	return (struct config_origin){ 0 };
}

void config_free(struct capsa_config *c)
{
	for (size_t i = 0; i < N_KEYS && c->origins; i++) {
		void **f = field(c, &keys[i]);
		if (keys[i].kind == KEY_STRING)
			free(*f);
		else if (keys[i].kind == KEY_STRINGS)
			free_strv((char **)*f);
	}
	for (size_t i = 0; i < c->n_files; i++)
		free(c->files[i]);
	free(c->files);
	for (size_t i = 0; i < c->n_warnings; i++)
		free(c->warnings[i]);
	free(c->warnings);
	free(c->origins);
	free(c->path);
	free(c->kernel_params_effective);
	*c = (struct capsa_config){ 0 };
}

int config_hypervisor_settings(struct capsa_config *c, struct hypervisor_config *ret, struct capsa_error *err)
{
	if (c->hypervisor != HV_QEMU)
		return capsa_error_set(err, -EOPNOTSUPP, "%s configures [hypervisor.%s], whose driver is not part of capsa yet "
				       "(only qemu runs containers today)", c->path, hypervisors[c->hypervisor].section);
	free(c->kernel_params_effective);
	if (asprintf(&c->kernel_params_effective, "%s%s", c->agent.enable_debug ? "capsa.log=debug " : "",
		     c->hv.kernel_params) < 0) {
		c->kernel_params_effective = NULL;
		return capsa_error_set(err, -ENOMEM, "out of memory");
	}
	*ret = (struct hypervisor_config){
		.path = c->hv.path,
		.kernel = c->hv.kernel,
		.initrd = c->hv.initrd[0] ? c->hv.initrd : NULL,
		.kernel_params = c->kernel_params_effective,
		.machine_type = c->hv.machine_type,
		.vcpus = (unsigned)c->hv.default_vcpus,
		.memory_mib = (unsigned)c->hv.default_memory,
		.shared_fs = !strcmp(c->hv.shared_fs, "virtio-fs") ? SHARED_FS_VIRTIO_FS
			   : !strcmp(c->hv.shared_fs, "virtio-9p") ? SHARED_FS_VIRTIO_9P : SHARED_FS_NONE,
		.virtio_fs_daemon = c->hv.virtio_fs_daemon,
		.virtio_fs_cache = !strcmp(c->hv.virtio_fs_cache, "never") ? "none" : c->hv.virtio_fs_cache,
		.accelerator = !strcmp(c->hv.accelerator, "kvm") ? ACCEL_KVM : !strcmp(c->hv.accelerator, "tcg") ? ACCEL_TCG : ACCEL_AUTO,
		.debug = c->hv.enable_debug,
	};
	return 0;
}
