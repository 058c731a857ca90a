/* Typed calls of the agent API (docs/agent-api.md), built on agent_client. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/agent_client.h"
#include "common/error.h"

#define AGENT_CALL_TIMEOUT_MS 60000

struct agent_exit {
	bool exited;      /* true: code is valid; false: killed by signal */
	int code;
	int signal;
};

/* 128+signal for a signal, as shells report it. */
static inline int agent_exit_status(const struct agent_exit *e)
{
	return e->exited ? e->code : 128 + e->signal;
}

int agent_check(struct agent_client *c, int timeout_ms, struct capsa_error *err);
int agent_version(struct agent_client *c, char *agent_version, size_t av_len, char *kernel_release, size_t kr_len,
		  struct capsa_error *err);
int agent_create_sandbox(struct agent_client *c, const char *sandbox_id, const char *hostname, const char *fs_type,
			 const char *fs_tag, const char *mount_point, struct capsa_error *err);
int agent_destroy_sandbox(struct agent_client *c, struct capsa_error *err);
int agent_create_container(struct agent_client *c, const char *id, const char *spec_json, size_t spec_len,
			   const char *guest_rootfs, struct capsa_error *err);
int agent_start_container(struct agent_client *c, const char *id, struct capsa_error *err);
int agent_remove_container(struct agent_client *c, const char *id, struct capsa_error *err);
int agent_exec_process(struct agent_client *c, const char *id, const char *exec_id, const char *process_json,
		       size_t len, struct capsa_error *err);
int agent_signal_process(struct agent_client *c, const char *id, const char *exec_id, int signal, bool all,
			 struct capsa_error *err);
int agent_wait_process(struct agent_client *c, const char *id, const char *exec_id, struct agent_exit *ret,
		       struct capsa_error *err);
int agent_pause_container(struct agent_client *c, const char *id, bool pause, struct capsa_error *err);
/* Guest pids of the container's processes; *ret is malloc'd. */
int agent_list_processes(struct agent_client *c, const char *id, uint32_t **ret, size_t *ret_n, struct capsa_error *err);
int agent_tty_resize(struct agent_client *c, const char *id, const char *exec_id, unsigned rows, unsigned columns,
		     struct capsa_error *err);

/* The asynchronous halves, for relaying stdio while other calls are outstanding. */
int agent_send_wait(struct agent_client *c, const char *id, const char *exec_id, uint32_t *ret_stream,
		    struct capsa_error *err);
int agent_receive_wait(struct agent_client *c, uint32_t stream, struct agent_exit *ret, struct capsa_error *err);
int agent_send_read(struct agent_client *c, const char *id, const char *exec_id, bool from_stderr, uint32_t len,
		    uint32_t *ret_stream, struct capsa_error *err);
/* Returns bytes stored in *ret_data (malloc'd; 0 with NULL at end of stream). */
int agent_receive_read(struct agent_client *c, uint32_t stream, uint8_t **ret_data, size_t *ret_len,
		       struct capsa_error *err);
int agent_send_write(struct agent_client *c, const char *id, const char *exec_id, const void *data, size_t len,
		     uint32_t *ret_stream, struct capsa_error *err);
int agent_receive_write(struct agent_client *c, uint32_t stream, size_t *ret_written, struct capsa_error *err);
int agent_send_close_stdin(struct agent_client *c, const char *id, const char *exec_id, uint32_t *ret_stream,
			   struct capsa_error *err);
int agent_close_stdin(struct agent_client *c, const char *id, const char *exec_id, struct capsa_error *err);
