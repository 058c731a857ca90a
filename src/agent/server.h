/*
 * The agent's ttRPC server. Connections are sockets (vsock) or the
 * virtio-serial port, which is never closed: a host hangup only resets it.
 * A call may be answered at once or parked and answered later (a blocked
 * read, a wait); a parked call whose connection went away is dropped.
 */
#pragma once

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdint.h>

#include "proto/ttrpc.h"

#define AGENT_SERVICE "capsa.agent.AgentService"

struct call {
	unsigned conn_id;
	uint32_t stream_id;
};

typedef void (*method_fn)(struct call call, const uint8_t *payload, size_t len);

struct method {
	const char *name;
	method_fn fn;
};

/* The method table, defined by the service. */
extern const struct method agent_methods[];
extern const size_t agent_methods_count;

int server_add_port(int fd);
int server_add_listener(int fd);
/* Answers a call; resp may be NULL for an error or an empty reply. */
void server_reply(struct call call, const ProtobufCMessage *resp);
void server_reply_error(struct call call, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Whether the connection a parked call came on is still there. */
bool server_call_alive(struct call call);
/* Number of live connections (the port counts while the host is attached). */
unsigned server_connections(void);
/* Whether any connection still has unsent output. */
bool server_output_pending(void);
/* Set when the channel is gone for good (the port's device vanished). */
bool server_channel_lost(void);
