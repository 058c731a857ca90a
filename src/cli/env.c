/* capsa env: the effective setup as TOML (or JSON), in the spirit of kata-runtime env. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/util.h"
#include "runtime/config.h"
#include "runtime/host.h"

#define ENV_FORMAT_VERSION "1.0.0"

static void print_toml_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static void print_toml_scalar(json_t *v)
{
	if (json_is_string(v))
		print_toml_string(json_string_value(v));
	else if (json_is_integer(v))
		printf("%lld", (long long)json_integer_value(v));
	else if (json_is_boolean(v))
		printf("%s", json_is_true(v) ? "true" : "false");
	else if (json_is_array(v)) {
		printf("[");
		size_t i;
		json_t *item;
		json_array_foreach(v, i, item) {
			printf(i ? ", " : "");
			print_toml_scalar(item);
		}
		printf("]");
	}
}

/* Scalars first, then sub-tables; top-level tables are separated by a blank line, so
 * `awk -v RS= '/\[Hypervisor\]/'` picks out exactly one. */
static void print_toml_table(const char *name, json_t *table, int depth)
{
	printf("%*s[%s]\n", depth * 2, "", name);
	const char *key;
	json_t *v;
	json_object_foreach(table, key, v) {
		if (json_is_object(v))
			continue;
		printf("%*s%s = ", depth * 2 + 2, "", key);
		print_toml_scalar(v);
		putchar('\n');
	}
	json_object_foreach(table, key, v) {
		if (!json_is_object(v))
			continue;
		char sub[256];
		snprintf(sub, sizeof(sub), "%s.%s", name, key);
		print_toml_table(sub, v, depth + 1);
	}
}

static json_t *strv_json(char **v)
{
	json_t *a = json_array();
	for (; v && *v; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

static json_t *build_env(struct capsa_config *c)
{
	struct host_facts h;
	host_facts_read(&h);
	char self[4096] = "";
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	char version[1024];
	hypervisor_version_line(c->hv.path, version, sizeof(version));
	bool hardware = h.cpu_virt_flag && h.dev_kvm;
	/* QEMU can fall back to TCG; every other hypervisor needs hardware virtualization */
	bool capable = c->hypervisor == HV_QEMU ? access(c->hv.path, X_OK) == 0 : hardware;

	return json_pack(
		"{s:{s:s}, s:{s:s, s:b, s:{s:s}, s:{s:s, s:s}},"
		" s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:b, s:o},"
		" s:{s:s}, s:{s:s, s:s}, s:{s:s}, s:{s:b, s:I},"
		" s:{s:s, s:s, s:b, s:b, s:b, s:b, s:b, s:{s:s, s:s}, s:{s:I, s:I, s:I}}}",
		"Meta", "Version", ENV_FORMAT_VERSION,
		"Runtime", "Path", self, "Debug", c->runtime.enable_debug, "Config", "Path", c->path, "Version", "Semver",
		CAPSA_VERSION, "OCI", "1.1.0",
		"Hypervisor", "Name", hypervisor_kind_section(c->hypervisor), "MachineType", c->hv.machine_type, "Version",
		version[0] ? version : "(not installed)", "Path", c->hv.path, "BlockDeviceDriver", c->hv.block_device_driver,
		"SharedFS", c->hv.shared_fs, "VirtioFSDaemon", c->hv.virtio_fs_daemon, "VirtioFSCache", c->hv.virtio_fs_cache,
		"MemorySlots", (json_int_t)c->hv.memory_slots, "DefaultVCPUs", (json_int_t)c->hv.default_vcpus,
		"DefaultMemory", (json_int_t)c->hv.default_memory, "Accelerator",
		c->hypervisor == HV_QEMU ? c->hv.accelerator : "kvm", "Debug", c->hv.enable_debug, "AllowedBinaries",
		strv_json(c->hv.valid_hypervisor_paths),
		"Image", "Path", c->hv.image,
		"Kernel", "Path", c->hv.kernel, "Parameters", c->hv.kernel_params,
		"Initrd", "Path", c->hv.initrd,
		"Agent", "Debug", c->agent.enable_debug, "DialTimeout", (json_int_t)c->agent.dial_timeout,
		"Host", "Kernel", h.kernel, "Architecture", h.architecture, "VMContainerCapable", capable,
		"HardwareVirtualization", hardware, "SupportVSocks", h.vhost_vsock, "SupportVhostNet", h.vhost_net,
		"SupportTun", h.net_tun, "CPU", "Vendor", h.cpu_vendor, "Model", h.cpu_model, "Memory", "Total",
		(json_int_t)h.mem_total_kb, "Free", (json_int_t)h.mem_free_kb, "Available", (json_int_t)h.mem_available_kb);
}

int cli_env(const struct cli_globals *g, int argc, char **argv, struct capsa_error *err)
{
	static const struct option options[] = { { "json", no_argument, NULL, 'j' }, { "help", no_argument, NULL, 'h' }, { 0 } };
	bool as_json = false;
	int opt;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (opt == 'j') {
			as_json = true;
		} else {
			fprintf(opt == 'h' ? stdout : stderr, "usage: capsa env [--json]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	struct capsa_config c;
	int r = cli_load_config(g, &c, err);
	if (r < 0)
		return r;
	json_t *env = build_env(&c);
	config_free(&c);
	if (!env)
		return capsa_error_set(err, -ENOMEM, "out of memory");
	if (as_json) {
		json_dumpf(env, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		const char *key;
		json_t *v;
		bool first = true;
		json_object_foreach(env, key, v) {
			if (!first)
				putchar('\n');
			first = false;
			print_toml_table(key, v, 0);
		}
	}
	json_decref(env);
	return 0;
}
