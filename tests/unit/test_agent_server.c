/*
 * The agent's ttRPC server and service, driven over a unix socket with the
 * host-side client: hostile frames get an error reply or are skipped, and
 * the agent keeps serving. No VM and no containers are involved.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent/log.h"
#include "agent/loop.h"
#include "agent/server.h"
#include "client/agent_api.h"
#include "common/fdio.h"
#include "common/unix_socket.h"
#include "proto/agent.pb-c.h"
#include "proto/ttrpc.h"
#include "proto/ttrpc.pb-c.h"

static char socket_path[64];
static pthread_t loop_thread;
static atomic_bool stop_loop;

static void *run_loop(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop_loop))
		loop_run_once(20);
	return NULL;
}

static int setup_server(void **state)
{
	(void)state;
	log_max_level = LOG_ERROR;
	snprintf(socket_path, sizeof(socket_path), "/tmp/capsa-agent-test.%d.sock", getpid());
	unlink(socket_path);
	if (loop_init() < 0)
		return -1;
	int fd = unix_listen(socket_path, 8, NULL);
	if (fd < 0 || server_add_listener(fd) < 0)
		return -1;
	return pthread_create(&loop_thread, NULL, run_loop, NULL) == 0 ? 0 : -1;
}

static int teardown_server(void **state)
{
	(void)state;
	atomic_store(&stop_loop, true);
	pthread_join(loop_thread, NULL);
	unlink(socket_path);
	return 0;
}

static struct agent_client *connect_agent(void)
{
	struct agent_client *c = NULL;
	int fd = unix_connect(socket_path, NULL);
	assert_true(fd >= 0);
	assert_int_equal(agent_client_new(fd, &c, NULL), 0);
	return c;
}

static void check_answers(struct agent_client *c)
{
	struct capsa_error err = { 0 };
	assert_int_equal(agent_check(c, 5000, &err), 0);
}

/* Sends a raw frame and returns the status code of the reply on that stream. */
static int raw_call(struct agent_client *c, uint32_t stream, uint8_t type, const void *payload, size_t len,
		    struct capsa_error *err)
{
	struct ttrpc_header h = { .length = (uint32_t)len, .stream_id = stream, .type = type };
	uint8_t raw[TTRPC_HEADER_SIZE];
	ttrpc_header_encode(&h, raw);
	assert_int_equal(agent_client_send_raw(c, raw, sizeof(raw), NULL), 0);
	assert_int_equal(agent_client_send_raw(c, payload, len, NULL), 0);
	return agent_client_receive(c, stream, NULL, NULL, 5000, err);
}

static void check_and_version(void **state)
{
	(void)state;
	struct agent_client *c = connect_agent();
	check_answers(c);
	char version[64], kernel[128];
	struct capsa_error err = { 0 };
	assert_int_equal(agent_version(c, version, sizeof(version), kernel, sizeof(kernel), &err), 0);
	assert_string_equal(version, CAPSA_VERSION);
	assert_true(strlen(kernel) > 0);
	agent_client_free(c);
}

static void unknown_method_and_service(void **state)
{
	(void)state;
	struct agent_client *c = connect_agent();
	struct buffer b = { 0 };
	struct capsa_error err = { 0 };
	assert_int_equal(ttrpc_append_request(&b, 1000, AGENT_SERVICE, "Teleport", NULL, 0), 0);
	assert_int_equal(ttrpc_append_request(&b, 1002, "grpc.Other", "Check", NULL, 0), 0);
	assert_int_equal(agent_client_send_raw(c, buffer_head(&b), buffer_len(&b), NULL), 0);
	assert_int_equal(agent_client_receive(c, 1000, NULL, NULL, 5000, &err), -ENOSYS);
	assert_non_null(strstr(err.msg, "unknown method 'Teleport'"));
	assert_int_equal(agent_client_receive(c, 1002, NULL, NULL, 5000, &err), -ENOSYS);
	assert_non_null(strstr(err.msg, "unknown service"));
	buffer_free(&b);
	check_answers(c);
	agent_client_free(c);
}

static void malformed_frames(void **state)
{
	(void)state;
	struct agent_client *c = connect_agent();
	struct capsa_error err = { 0 };
	/* not protobuf at all */
	static const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x12 };
	assert_int_equal(raw_call(c, 2000, TTRPC_TYPE_REQUEST, garbage, sizeof(garbage), &err), -EINVAL);
	assert_non_null(strstr(err.msg, "malformed request"));
	/* a frame type the agent does not take */
	assert_int_equal(raw_call(c, 2002, 7, "x", 1, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not a request"));
	/* a valid envelope around a malformed CreateContainer message */
	struct buffer b = { 0 };
	assert_int_equal(ttrpc_append_request(&b, 2004, AGENT_SERVICE, "CreateContainer", garbage, sizeof(garbage)), 0);
	assert_int_equal(agent_client_send_raw(c, buffer_head(&b), buffer_len(&b), NULL), 0);
	assert_int_equal(agent_client_receive(c, 2004, NULL, NULL, 5000, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "malformed request for capsa__agent__create_container_request__unpack"));
	buffer_free(&b);
	check_answers(c);
	agent_client_free(c);
}

static void oversized_frame_gets_an_error_and_the_stream_resyncs(void **state)
{
	(void)state;
	struct agent_client *c = connect_agent();
	struct capsa_error err = { 0 };
	size_t len = TTRPC_MAX_MESSAGE + 4096;
	uint8_t *junk = malloc(len);
	assert_non_null(junk);
	memset(junk, 0xa5, len);
	assert_int_equal(raw_call(c, 3000, TTRPC_TYPE_REQUEST, junk, len, &err), -EMSGSIZE);
	assert_non_null(strstr(err.msg, "exceeds the limit"));
	free(junk);
	check_answers(c);
	agent_client_free(c);
}

static void half_frame_then_hangup_leaves_the_agent_serving(void **state)
{
	(void)state;
	struct agent_client *c = connect_agent();
	static const uint8_t half_header[] = { 0, 0, 0, 50, 0, 0 };
	assert_int_equal(agent_client_send_raw(c, half_header, sizeof(half_header), NULL), 0);
	agent_client_free(c);
	c = connect_agent();
	check_answers(c);
	agent_client_free(c);
}

static void bad_requests_are_refused_with_reasons(void **state)
{
	(void)state;
	struct agent_client *c = connect_agent();
	struct capsa_error err = { 0 };
	static const char spec[] = "{\"process\":{\"args\":[\"true\"]}}";
	assert_int_equal(agent_create_container(c, "c1", spec, strlen(spec), "/does/not/exist", &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/does/not/exist"));
	assert_int_equal(agent_create_container(c, "c1", "{oops", 5, "/", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "line 1"));
	assert_int_equal(agent_create_container(c, "../../etc", spec, strlen(spec), "/", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "invalid container id"));
	assert_int_equal(agent_start_container(c, "nope", &err), -ENOENT);
	struct agent_exit ex;
	assert_int_equal(agent_wait_process(c, "nope", "", &ex, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "no container 'nope'"));
	assert_int_equal(agent_signal_process(c, "nope", "", 9, false, &err), -ENOENT);
	check_answers(c);
	agent_client_free(c);
}

static void calls_interleave_on_one_connection(void **state)
{
	(void)state;
	struct agent_client *c = connect_agent();
	struct capsa_error err = { 0 };
	/* a wait for a missing process and a Check, answered by stream, not by order of asking */
	uint32_t wait_stream;
	assert_int_equal(agent_send_wait(c, "ghost", "", &wait_stream, &err), 0);
	check_answers(c);
	struct agent_exit ex;
	assert_int_equal(agent_receive_wait(c, wait_stream, &ex, &err), -ENOENT);
	agent_client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(check_and_version),
		cmocka_unit_test(unknown_method_and_service),
		cmocka_unit_test(malformed_frames),
		cmocka_unit_test(oversized_frame_gets_an_error_and_the_stream_resyncs),
		cmocka_unit_test(half_frame_then_hangup_leaves_the_agent_serving),
		cmocka_unit_test(bad_requests_are_refused_with_reasons),
		cmocka_unit_test(calls_interleave_on_one_connection),
	};
	return cmocka_run_group_tests(tests, setup_server, teardown_server);
}
