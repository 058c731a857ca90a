/* capsa delete: removes a container in any state; --force ends a live one first. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/util.h"
#include "common/cleanup.h"
#include "runtime/host_cgroup.h"

int cli_delete(const struct cli_globals *g, int argc, char **argv, struct capsa_error *err)
{
	static const struct option longopts[] = { { "force", no_argument, NULL, 'f' }, { 0 } };
	bool force = false;
	int c;
	while ((c = getopt_long(argc, argv, "f", longopts, NULL)) != -1) {
		if (c != 'f') {
			fprintf(stderr, "usage: capsa delete [--force] ID\n");
			return 2;
		}
		force = true;
	}
	if (!expect_args(argc, optind, 1, "capsa delete [--force] ID"))
		return 2;
	const char *id = argv[optind];
	if (!valid_container_id(id))
		return capsa_error_set(err, -EINVAL, "invalid container id '%s'", id);
	_cleanup_close_ int lock = state_lock(g->root, id, err);
	if (lock == -ENOENT && force)
		return 0;   /* as runc: forcing away what is not there succeeds */
	if (lock < 0)
		return lock;
	struct container_state st;
	int r = state_read(g->root, id, &st, err);
	if (r < 0) {
		if (r == -ENOENT || !force)
			return r;
		/* unreadable state after a crash: nothing to stop, everything to remove */
		state_remove(g->root, id);
		return 0;
	}
	enum container_status status = state_current_status(&st);
	if (status != STATUS_STOPPED && state_shim_alive(&st)) {
		if (!force && status != STATUS_CREATED) {
			r = capsa_error_set(err, -EBUSY, "container '%s' is %s: stop it first, or use delete --force", id,
					    status_name(status));
			state_clear(&st);
			return r;
		}
		/* the shim ends the VM and exits; if it cannot, it goes by force, its VM with it (PDEATHSIG) */
		shim_request(g, id, "destroy", NULL, NULL, NULL);
		if (wait_pid_gone(st.pid, st.pid_start, 20000) == -ETIMEDOUT) {
			kill(st.pid, SIGKILL);
			wait_pid_gone(st.pid, st.pid_start, 5000);
		}
	} else if (status == STATUS_CREATING && st.pid > 0 && state_shim_alive(&st)) {
		kill(st.pid, SIGKILL);
		wait_pid_gone(st.pid, st.pid_start, 5000);
	}
	if (st.cgroup_path)
		host_cgroup_remove(st.cgroup_path);
	state_clear(&st);
	r = state_remove(g->root, id);
	if (r < 0)
		return capsa_error_errno(err, r, "removing the state of '%s'", id);
	return 0;
}
