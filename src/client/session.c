#include "client/session.h"

#include <errno.h>
#include <string.h>

#include "client/agent_api.h"
#include "common/fdio.h"

#define READY_TIMEOUT_MS 120000   /* TCG boots take seconds; a loaded CI machine more */

int session_start(const struct hypervisor_ops *ops, struct hypervisor_config *cfg, const char *hostname,
		  struct session *ret, struct capsa_error *err)
{
	struct session s = { 0 };
	int r, fd;
	if (cfg->shared_fs != SHARED_FS_NONE)
		cfg->shared_tag = SHARED_FS_TAG;
	if ((r = ops->create(cfg, &s.vm, err)) < 0)
		return r;
	s.started_ms = now_ms();
	if ((r = ops->start(s.vm, err)) < 0 || (r = ops->agent_connect(s.vm, &fd, err)) < 0 ||
	    (r = agent_client_new(fd, &s.agent, err)) < 0)
		goto fail;
	/* the port holds our request until the agent opens it: no retry loop needed */
	if ((r = agent_check(s.agent, READY_TIMEOUT_MS, err)) < 0) {
		char how[600];
		/* a reset connection usually means the hypervisor is on its way out: give it a moment */
		ops->wait(s.vm, 2000, NULL);
		if (ops->ended(s.vm, how, sizeof(how)))
			r = capsa_error_set(err, -ECHILD, "the VM ended before its agent answered: %s", how);
		else
			capsa_error_prefix(err, "waiting for the guest agent");
		goto fail;
	}
	s.ready_ms = now_ms();
	const char *fs_type = cfg->shared_fs == SHARED_FS_VIRTIO_FS ? "virtiofs" : cfg->shared_fs == SHARED_FS_VIRTIO_9P ? "9p" : NULL;
	if ((r = agent_create_sandbox(s.agent, hostname, hostname, fs_type, SHARED_FS_TAG, GUEST_SHARED_DIR, err)) < 0)
		goto fail;
	*ret = s;
	return 0;
fail:
	session_destroy(&s);
	return r;
}

int session_stop(struct session *s, int timeout_ms, struct capsa_error *err)
{
	int r = 0;
	if (s->agent) {
		r = agent_destroy_sandbox(s->agent, err);
		agent_client_free(s->agent);
		s->agent = NULL;
	}
	if (s->vm) {
		int w = s->vm->ops->wait(s->vm, timeout_ms, r < 0 ? NULL : err);
		if (r >= 0)
			r = w;
		s->vm->ops->stop(s->vm, 1000, NULL);
	}
	return r;
}

void session_destroy(struct session *s)
{
	if (s->agent)
		agent_client_free(s->agent);
	if (s->vm)
		s->vm->ops->destroy(s->vm);
	*s = (struct session){ 0 };
}
