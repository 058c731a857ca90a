/*
 * Host side of the agent API: a ttRPC client over one connected fd. Calls
 * can be outstanding together (a blocked read, a wait, a write); responses
 * are matched to them by stream id.
 */
#pragma once

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

struct agent_client;

/* Takes ownership of fd. */
int agent_client_new(int fd, struct agent_client **ret, struct capsa_error *err);
void agent_client_free(struct agent_client *c);
int agent_client_fd(const struct agent_client *c);

/* Queues and sends a request; the stream id identifies its response. */
int agent_client_send(struct agent_client *c, const char *method, const ProtobufCMessage *req,
		      uint32_t *ret_stream, struct capsa_error *err);
/* Reads whatever has arrived, waiting up to timeout_ms (-1: forever) for something. */
int agent_client_pump(struct agent_client *c, int timeout_ms, struct capsa_error *err);
bool agent_client_has_response(struct agent_client *c, uint32_t stream);
/* Waits for a response and unpacks it with desc (NULL: ignore the payload).
 * An error status from the agent becomes a negative errno and err names it. */
int agent_client_receive(struct agent_client *c, uint32_t stream, const ProtobufCMessageDescriptor *desc,
			 ProtobufCMessage **ret, int timeout_ms, struct capsa_error *err);
/* send + receive */
int agent_client_call(struct agent_client *c, const char *method, const ProtobufCMessage *req,
		      const ProtobufCMessageDescriptor *desc, ProtobufCMessage **ret, int timeout_ms,
		      struct capsa_error *err);
/* Writes bytes as they are: for tests that send malformed frames. */
int agent_client_send_raw(struct agent_client *c, const void *data, size_t len, struct capsa_error *err);
