/* The state store, VM sizing from linux.resources, cgroup path forms. */
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
#include <sys/wait.h>
#include <unistd.h>

#include "common/fdio.h"
#include "runtime/bundle.h"
#include "runtime/host_cgroup.h"
#include "runtime/state.h"

static char root[64];

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/capsa-state-test.XXXXXX");
	return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	remove_tree(root);
	return 0;
}

static void state_round_trip_and_liveness(void **state)
{
	(void)state;
	struct capsa_error err = { 0 };
	assert_int_equal(state_create_dir(root, "c1", &err), 0);
	assert_int_equal(state_create_dir(root, "c1", &err), -EEXIST);
	assert_non_null(strstr(err.msg, "container 'c1' already exists"));
	assert_int_equal(state_create_dir(root, "../x", &err), -EINVAL);
	int lock = state_lock(root, "c1", &err);
	assert_true(lock >= 0);
	struct container_state st = { .id = "c1", .bundle = "/b", .rootfs = "/b/rootfs", .created = "2026-01-01T00:00:00Z",
				      .pid = getpid(), .pid_start = process_start_time(getpid()), .status = STATUS_RUNNING,
				      .exit_status = -1, .annotations = json_pack("{s:s}", "k", "v") };
	assert_int_equal(state_write(root, &st, &err), 0);
	json_decref(st.annotations);
	close(lock);

	struct container_state back;
	assert_int_equal(state_read(root, "c1", &back, &err), 0);
	assert_string_equal(back.bundle, "/b");
	assert_int_equal(back.pid, getpid());
	assert_int_equal(state_current_status(&back), STATUS_RUNNING);   /* we are alive */
	json_t *oci = state_to_oci_json(&back);
	assert_string_equal(json_string_value(json_object_get(oci, "status")), "running");
	assert_string_equal(json_string_value(json_object_get(json_object_get(oci, "annotations"), "k")), "v");
	json_decref(oci);
	/* a shim that died reads as stopped, even if its pid came back as someone else */
	back.pid_start += 1;
	assert_int_equal(state_current_status(&back), STATUS_STOPPED);
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);
	back.pid = child;
	back.pid_start = 12345;
	assert_int_equal(state_current_status(&back), STATUS_STOPPED);
	state_clear(&back);

	assert_int_equal(state_create_dir(root, "a0", &err), 0);
	char **ids;
	assert_int_equal(state_list(root, &ids, &err), 0);
	assert_string_equal(ids[0], "a0");
	assert_string_equal(ids[1], "c1");
	assert_null(ids[2]);
	free(ids[0]);
	free(ids[1]);
	free(ids);
	assert_int_equal(state_read(root, "nope", &back, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "container 'nope' does not exist"));
	assert_int_equal(state_remove(root, "c1"), 0);
	assert_int_equal(state_remove(root, "a0"), 0);
}

static void vm_size_from_resources(void **state)
{
	(void)state;
	unsigned cpus, mem;
	json_t *spec = json_pack("{s:{s:{s:{s:I}, s:{s:I, s:I}}}}", "linux", "resources", "memory", "limit",
				 (json_int_t)(512 << 20), "cpu", "quota", (json_int_t)150000, "period", (json_int_t)100000);
	bundle_vm_size(spec, 1, 8, 256, &cpus, &mem);
	assert_int_equal(cpus, 3);   /* 1 + ceil(1.5) */
	assert_int_equal(mem, 256 + 512);
	bundle_vm_size(spec, 1, 2, 256, &cpus, &mem);
	assert_int_equal(cpus, 2);   /* capped by max vCPUs */
	json_decref(spec);
	spec = json_pack("{s:{s:{s:{s:I}}}}", "linux", "resources", "cpu", "shares", (json_int_t)4096);
	bundle_vm_size(spec, 1, 16, 128, &cpus, &mem);
	assert_int_equal(cpus, 5);
	assert_int_equal(mem, 128);
	json_decref(spec);
	spec = json_object();
	bundle_vm_size(spec, 2, 0, 256, &cpus, &mem);
	assert_int_equal(cpus, 2);
	json_decref(spec);
}

static void cgroup_path_forms(void **state)
{
	(void)state;
	char buf[256];
	assert_int_equal(host_cgroup_normalise("/libpod_parent/libpod-abc", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/libpod_parent/libpod-abc");
	assert_int_equal(host_cgroup_normalise("machine.slice:libpod:abc", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/machine.slice/libpod-abc.scope");
	assert_int_equal(host_cgroup_normalise("default/x", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/default/x");
	assert_int_equal(host_cgroup_normalise("/a/../../etc", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(host_cgroup_normalise("", buf, sizeof(buf)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(state_round_trip_and_liveness),
		cmocka_unit_test(vm_size_from_resources),
		cmocka_unit_test(cgroup_path_forms),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
