/*
 * One VM with its agent: boot, connect, wait for Check, create the sandbox
 * with the shared directory mounted in the guest; and the orderly end.
 */
#pragma once

#include "client/agent_client.h"
#include "common/error.h"
#include "hypervisor/hypervisor.h"

#define GUEST_SHARED_DIR "/run/capsa/shared"
#define SHARED_FS_TAG "capsa"

struct session {
	struct vm *vm;
	struct agent_client *agent;
	long long started_ms;      /* when the hypervisor was launched */
	long long ready_ms;        /* when the agent first answered Check */
};

/* cfg->shared_tag is set to SHARED_FS_TAG when a shared filesystem is asked for. */
int session_start(const struct hypervisor_ops *ops, struct hypervisor_config *cfg, const char *hostname,
		  struct session *ret, struct capsa_error *err);
/* DestroySandbox, then waits for the VM to end by itself; forces it after timeout_ms. */
int session_stop(struct session *s, int timeout_ms, struct capsa_error *err);
/* Ends the VM by force and frees everything; safe on a half-started session. */
void session_destroy(struct session *s);
