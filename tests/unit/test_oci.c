/* OCI spec parsing in the agent, and the default spec the host writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <cmocka.h>

#include "agent/oci.h"
#include "client/oci_default.h"

static int parse(const char *json, struct oci_spec *s, struct capsa_error *err)
{
	return oci_spec_parse(json, strlen(json), s, err);
}

static void default_spec_parses(void **state)
{
	(void)state;
	char *args[] = { "echo", "hello", NULL };
	json_t *spec = oci_default_spec(args, true);
	assert_non_null(spec);
	char *text = json_dumps(spec, 0);
	json_decref(spec);
	struct oci_spec s;
	struct capsa_error err = { 0 };
	assert_int_equal(parse(text, &s, &err), 0);
	free(text);
	assert_string_equal(s.process.args[0], "echo");
	assert_string_equal(s.process.args[1], "hello");
	assert_null(s.process.args[2]);
	assert_true(s.process.terminal);
	assert_true(s.process.no_new_privileges);
	assert_string_equal(s.process.cwd, "/");
	assert_string_equal(s.root_path, "rootfs");
	assert_true(s.root_readonly);
	assert_int_equal(s.clone_flags, CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS | CLONE_NEWCGROUP);
	assert_true(s.process.has_capabilities);
	assert_true(s.process.cap_bounding & (1u << oci_capability_from_name("CAP_KILL")));
	assert_false(s.process.cap_bounding & (1u << oci_capability_from_name("CAP_SYS_ADMIN")));
	assert_int_equal(s.process.n_rlimits, 1);
	assert_int_equal(s.process.rlimits[0].limit.rlim_cur, 1024);
	assert_int_equal(s.n_mounts, 7);
	assert_string_equal(s.mounts[0].destination, "/proc");
	assert_non_null(s.masked_paths[0]);
	oci_spec_free(&s);
}

static void user_and_groups(void **state)
{
	(void)state;
	struct oci_spec s;
	struct capsa_error err = { 0 };
	assert_int_equal(parse("{\"process\":{\"args\":[\"id\"],\"user\":{\"uid\":1000,\"gid\":100,"
			       "\"additionalGids\":[5,6],\"umask\":18},\"env\":[\"A=b\"]}}", &s, &err), 0);
	assert_int_equal(s.process.uid, 1000);
	assert_int_equal(s.process.gid, 100);
	assert_int_equal(s.process.n_groups, 2);
	assert_int_equal(s.process.groups[1], 6);
	assert_int_equal(s.process.umask, 022);
	assert_string_equal(s.process.env[0], "A=b");
	oci_spec_free(&s);
}

/* Each bad input must be refused with a message naming the field. */
static void errors_name_the_field(void **state)
{
	(void)state;
	static const struct {
		const char *json, *expect;
	} cases[] = {
		{ "{\"process\":{\"args\":[]}}", "process.args" },
		{ "{}", "process" },
		{ "{\"process\":{\"args\":[\"x\"],\"cwd\":\"rel\"}}", "process.cwd: 'rel'" },
		{ "{\"process\":{\"args\":[\"x\"],\"capabilities\":{\"bounding\":[\"CAP_NOPE\"]}}}", "CAP_NOPE" },
		{ "{\"process\":{\"args\":[\"x\"],\"rlimits\":[{\"type\":\"RLIMIT_BOGUS\",\"hard\":1,\"soft\":1}]}}",
		  "RLIMIT_BOGUS" },
		{ "{\"process\":{\"args\":[\"x\"],\"user\":{\"uid\":-1}}}", "process.user.uid" },
		{ "{\"process\":{\"args\":[\"x\"]},\"mounts\":[{\"destination\":\"tmp\"}]}", "mounts[0].destination" },
		{ "{\"process\":{\"args\":[\"x\"]},\"linux\":{\"namespaces\":[{\"type\":\"time-travel\"}]}}", "time-travel" },
		{ "{\"process\":{\"args\":[\"x\"]},\"linux\":{\"devices\":[{\"path\":\"/dev/x\",\"type\":\"q\"}]}}",
		  "linux.devices[0].type" },
		{ "{\"process\":{\"args\":[\"x\"]}", "line 1" },
		{ "{\"process\":{\"args\":[\"x\"],\"args\":[\"y\"]}}", "duplicate" },
		{ "[1]", "not a JSON object" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct oci_spec s;
		struct capsa_error err = { 0 };
		assert_true(parse(cases[i].json, &s, &err) < 0);
		if (!strstr(err.msg, cases[i].expect))
			fail_msg("case %zu: '%s' does not mention '%s'", i, err.msg, cases[i].expect);
	}
}

static void lone_process_parses(void **state)
{
	(void)state;
	const char *json = "{\"args\":[\"sh\",\"-c\",\"exit 5\"],\"cwd\":\"/tmp\",\"terminal\":false}";
	struct oci_process p;
	struct capsa_error err = { 0 };
	assert_int_equal(oci_process_parse(json, strlen(json), &p, &err), 0);
	assert_string_equal(p.args[2], "exit 5");
	assert_string_equal(p.cwd, "/tmp");
	assert_null(p.env[0]);
	oci_process_free(&p);
	const char *bad = "{\"args\":5}";
	assert_true(oci_process_parse(bad, strlen(bad), &p, &err) < 0);
	assert_non_null(strstr(err.msg, "process.args"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(default_spec_parses),
		cmocka_unit_test(user_and_groups),
		cmocka_unit_test(errors_name_the_field),
		cmocka_unit_test(lone_process_parses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
