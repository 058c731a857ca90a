/* Configuration loading: defaults, drop-ins, and errors that name file:line, the key and the allowed values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fdio.h"
#include "runtime/config.h"

static char dir[64], kernel[128], initrd[128], main_file[128];

static void write_text(const char *path, const char *text)
{
	assert_int_equal(write_file(path, text, strlen(text), 0644), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/capsa-config-test.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(kernel, sizeof(kernel), "%s/vmlinux", dir);
	snprintf(initrd, sizeof(initrd), "%s/initrd.img", dir);
	snprintf(main_file, sizeof(main_file), "%s/configuration.toml", dir);
	write_file(kernel, "k", 1, 0644);
	write_file(initrd, "i", 1, 0644);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	remove_tree(dir);
	return 0;
}

/* A main file with the given extra lines under [hypervisor.qemu]. */
static void write_main(const char *hv_lines, const char *rest)
{
	char text[4096];
	snprintf(text, sizeof(text), "[hypervisor.qemu]\nkernel = \"%s\"\ninitrd = \"%s\"\n%s\n%s", kernel, initrd, hv_lines,
		 rest);
	write_text(main_file, text);
}

static int load(struct capsa_config *c, struct capsa_error *err)
{
	return config_load_file(main_file, c, err);
}

static void expect_error(const char *hv_lines, const char *rest, const char *fragment1, const char *fragment2)
{
	write_main(hv_lines, rest);
	struct capsa_config c;
	struct capsa_error err = { 0 };
	assert_true(load(&c, &err) < 0);
	if (!strstr(err.msg, fragment1) || (fragment2 && !strstr(err.msg, fragment2)))
		fail_msg("error '%s' lacks '%s' / '%s'", err.msg, fragment1, fragment2 ? fragment2 : "");
}

static void defaults_fill_what_the_file_leaves_out(void **state)
{
	(void)state;
	write_main("", "");
	struct capsa_config c;
	struct capsa_error err = { 0 };
	assert_int_equal(load(&c, &err), 0);
	assert_int_equal(c.hypervisor, HV_QEMU);
	assert_string_equal(c.hv.path, "/usr/bin/qemu-system-x86_64");
	assert_string_equal(c.hv.machine_type, "microvm");
	assert_string_equal(c.hv.shared_fs, "virtio-fs");
	assert_string_equal(c.hv.accelerator, "auto");
	assert_int_equal(c.hv.default_memory, 256);
	assert_int_equal(c.hv.default_vcpus, 1);
	assert_int_equal(c.agent.dial_timeout, 30);
	assert_true(c.runtime.disable_guest_seccomp);
	assert_int_equal(c.n_warnings, 0);
	struct config_origin o = config_origin_of(&c, "hypervisor.kernel");
	assert_string_equal(o.file, main_file);
	assert_int_equal(o.line, 2);
	assert_null(config_origin_of(&c, "hypervisor.default_memory").file);

	struct hypervisor_config hc;
	assert_int_equal(config_hypervisor_settings(&c, &hc, &err), 0);
	assert_string_equal(hc.kernel, kernel);
	assert_int_equal(hc.memory_mib, 256);
	assert_int_equal(hc.shared_fs, SHARED_FS_VIRTIO_FS);
	assert_int_equal(hc.accelerator, ACCEL_AUTO);
	config_free(&c);
}

static void unknown_keys_are_warnings_with_file_and_line(void **state)
{
	(void)state;
	write_main("colour = \"blue\"", "[agent.kata]\nenable_debug = true\n[agent.other]\nx = 1\n[runtime]\nspeed = 9\n");
	struct capsa_config c;
	struct capsa_error err = { 0 };
	assert_int_equal(load(&c, &err), 0);
	assert_true(c.agent.enable_debug);
	assert_int_equal(c.n_warnings, 3);
	char expect[256];
	snprintf(expect, sizeof(expect), "%s:4: unknown key 'colour' in [hypervisor.qemu]; ignored", main_file);
	assert_string_equal(c.warnings[0], expect);
	assert_non_null(strstr(c.warnings[1], "[agent.other]"));
	assert_non_null(strstr(c.warnings[2], ":10: unknown key 'speed' in [runtime]"));
	config_free(&c);
}

static void bad_values_are_errors_naming_file_line_key_and_allowed_values(void **state)
{
	(void)state;
	char at[160];
	snprintf(at, sizeof(at), "%s:4:", main_file);
	expect_error("default_memory = -1", "", at, "default_memory = -1 is out of range (allowed: 64 to 1048576)");
	expect_error("default_memory = \"lots\"", "", at, "default_memory must be an integer, not string");
	expect_error("shared_fs = \"nfs\"", "", at, "shared_fs = \"nfs\" is not allowed (allowed: \"virtio-fs\", \"virtio-9p\", \"none\")");
	expect_error("accelerator = \"warp\"", "", at, "\"auto\", \"kvm\", \"tcg\"");
	expect_error("enable_debug = 1", "", at, "enable_debug must be a boolean");
	expect_error("valid_hypervisor_paths = [1]", "", at, "valid_hypervisor_paths[0] must be a string");
	expect_error("path = \"/usr/bin/evil\"", "", at, "path = \"/usr/bin/evil\": not in valid_hypervisor_paths (allowed: \"/usr/bin/qemu-system-x86_64\")");
	expect_error("machine_type = \"pc\"", "", at, "(allowed: \"microvm\", \"q35\")");
	expect_error("default_vcpus = 4\ndefault_maxvcpus = 2", "", ":5:", "less than default_vcpus");
	expect_error("", "[agent.kata]\ndial_timeout = 0\n", ":6:", "dial_timeout = 0 is out of range (allowed: 1 to 3600)");
	expect_error("", "[runtime]\ninternetworking_model = \"bridge\"\n", ":6:", "\"tcfilter\", \"macvtap\", \"none\"");
}

static void missing_kernel_is_an_error_at_its_line(void **state)
{
	(void)state;
	char text[512];
	snprintf(text, sizeof(text), "[hypervisor.qemu]\ninitrd = \"%s\"\nkernel = \"/nonexistent/vmlinux\"\n", initrd);
	write_text(main_file, text);
	struct capsa_config c;
	struct capsa_error err = { 0 };
	assert_int_equal(load(&c, &err), -ENOENT);
	char expect[256];
	snprintf(expect, sizeof(expect), "%s:3: kernel = \"/nonexistent/vmlinux\": the guest kernel file does not exist", main_file);
	assert_non_null(strstr(err.msg, expect));
}

static void syntax_errors_and_hypervisor_sections(void **state)
{
	(void)state;
	struct capsa_config c;
	struct capsa_error err = { 0 };
	write_text(main_file, "[hypervisor.qemu]\npath = \"unterminated\n");
	assert_int_equal(load(&c, &err), -EINVAL);
	char expect[160];
	snprintf(expect, sizeof(expect), "%s:2:", main_file);
	assert_non_null(strstr(err.msg, expect));
	write_text(main_file, "[hypervisor.xen]\n");
	assert_int_equal(load(&c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "unknown hypervisor 'xen' (allowed: qemu, clh, firecracker, acrn, dragonball)"));
	write_text(main_file, "[runtime]\n");
	assert_int_equal(load(&c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "no [hypervisor.NAME] section"));
	write_text(main_file, "[hypervisor.qemu]\n[hypervisor.clh]\n");
	assert_int_equal(load(&c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "exactly one [hypervisor.NAME] section"));
	assert_int_equal(config_load_file("/nonexistent/capsa.toml", &c, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent/capsa.toml"));
}

static void dropins_merge_in_name_order(void **state)
{
	(void)state;
	write_main("default_memory = 512", "");
	char d[128], f[192];
	snprintf(d, sizeof(d), "%s/config.d", dir);
	mkdir(d, 0755);
	snprintf(f, sizeof(f), "%s/20-late.toml", d);
	write_text(f, "[hypervisor.qemu]\ndefault_memory = 2048\n");
	snprintf(f, sizeof(f), "%s/10-early.toml", d);
	write_text(f, "[hypervisor.qemu]\ndefault_memory = 1024\ndefault_vcpus = 2\n[runtime]\nenable_debug = true\n");
	snprintf(f, sizeof(f), "%s/ignored.conf", d);
	write_text(f, "not toml at all [[[");
	struct capsa_config c;
	struct capsa_error err = { 0 };
	assert_int_equal(load(&c, &err), 0);
	assert_int_equal(c.n_files, 3);
	assert_int_equal(c.hv.default_memory, 2048);
	assert_int_equal(c.hv.default_vcpus, 2);
	assert_true(c.runtime.enable_debug);
	struct config_origin o = config_origin_of(&c, "hypervisor.default_memory");
	assert_non_null(strstr(o.file, "config.d/20-late.toml"));
	assert_int_equal(o.line, 2);
	config_free(&c);

	/* a drop-in for another hypervisor is refused, naming both files */
	snprintf(f, sizeof(f), "%s/30-other.toml", d);
	write_text(f, "[hypervisor.firecracker]\n");
	assert_int_equal(load(&c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "30-other.toml:1: this drop-in configures [hypervisor.firecracker]"));
	unlink(f);
	/* a bad value in a drop-in is reported at the drop-in's line */
	snprintf(f, sizeof(f), "%s/40-bad.toml", d);
	write_text(f, "\n[hypervisor.qemu]\nshared_fs = \"nfs\"\n");
	assert_int_equal(load(&c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "40-bad.toml:3: hypervisor.qemu.shared_fs = \"nfs\""));
	unlink(f);
	remove_tree(d);
}

static void keys_of_other_hypervisors_are_ignored_with_a_warning(void **state)
{
	(void)state;
	write_main("jailer_path = \"/usr/bin/jailer\"", "");
	struct capsa_config c;
	struct capsa_error err = { 0 };
	assert_int_equal(load(&c, &err), 0);
	assert_int_equal(c.n_warnings, 1);
	assert_non_null(strstr(c.warnings[0], "key 'jailer_path' does not apply to qemu"));
	config_free(&c);
}

/* Every shipped template parses, with no warning, once its @DATADIR@ points at real files. */
static void shipped_templates_parse(void **state)
{
	(void)state;
	const char *src = getenv("CAPSA_CONFIG_SRC");
	assert_non_null(src);
	static const struct {
		const char *name;
		enum hypervisor_kind kind;
	} templates[] = { { "qemu", HV_QEMU }, { "clh", HV_CLH }, { "fc", HV_FIRECRACKER }, { "acrn", HV_ACRN },
			  { "builtin", HV_DRAGONBALL } };
	char bz[160];
	snprintf(bz, sizeof(bz), "%s/bzImage", dir);
	write_file(bz, "b", 1, 0644);
	snprintf(bz, sizeof(bz), "%s/capsa-initrd.img", dir);
	write_file(bz, "i", 1, 0644);
	for (size_t i = 0; i < sizeof(templates) / sizeof(templates[0]); i++) {
		char path[512], *text = NULL;
		snprintf(path, sizeof(path), "%s/configuration-%s.toml.in", src, templates[i].name);
		assert_int_equal(read_file(path, 1 << 20, &text, NULL), 0);
		char out[65536] = "";
		for (char *p = text; *p;) {
			char *at = strchr(p, '@');
			if (at && !strncmp(at, "@DATADIR@", 9)) {
				strncat(out, p, (size_t)(at - p));
				strcat(out, dir);
				p = at + 9;
			} else if (at && (!strncmp(at, "@BINDIR@", 8) || !strncmp(at, "@DEFAULTSDIR@", 13))) {
				strncat(out, p, (size_t)(at - p));
				strcat(out, "/usr/local/x");
				p = strchr(at + 1, '@') + 1;
			} else {
				strcat(out, p);
				break;
			}
		}
		free(text);
		write_text(main_file, out);
		struct capsa_config c;
		struct capsa_error err = { 0 };
		if (load(&c, &err) < 0)
			fail_msg("%s: %s", templates[i].name, err.msg);
		assert_int_equal(c.hypervisor, templates[i].kind);
		if (c.n_warnings)
			fail_msg("%s: %s", templates[i].name, c.warnings[0]);
		config_free(&c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_fill_what_the_file_leaves_out),
		cmocka_unit_test(unknown_keys_are_warnings_with_file_and_line),
		cmocka_unit_test(bad_values_are_errors_naming_file_line_key_and_allowed_values),
		cmocka_unit_test(missing_kernel_is_an_error_at_its_line),
		cmocka_unit_test(syntax_errors_and_hypervisor_sections),
		cmocka_unit_test(dropins_merge_in_name_order),
		cmocka_unit_test(keys_of_other_hypervisors_are_ignored_with_a_warning),
		cmocka_unit_test(shipped_templates_parse),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
