#include "runtime/control_msg.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/unix_socket.h"
#include "runtime/state.h"

int control_send(int fd, json_t *msg, const int *fds, size_t n_fds, struct capsa_error *err)
{
	_cleanup_free_ char *text = json_dumps(msg, JSON_COMPACT);
	if (!text)
		return capsa_error_set(err, -ENOMEM, "out of memory");
	size_t len = strlen(text);
	if (len > CONTROL_MAX_MESSAGE || n_fds > CONTROL_MAX_FDS)
		return capsa_error_set(err, -EMSGSIZE, "control message too large");
	struct iovec iov = { .iov_base = text, .iov_len = len };
	char control[CMSG_SPACE(sizeof(int) * CONTROL_MAX_FDS)] = { 0 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (n_fds) {
		mh.msg_control = control;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * n_fds);
	}
	if (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0)
		return capsa_error_errno(err, -errno, "sending to capsa-shim");
	return 0;
}

int control_recv(int fd, json_t **ret, int *fds, size_t *n_fds, int timeout_ms, struct capsa_error *err)
{
	*ret = NULL;
	if (n_fds)
		*n_fds = 0;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int n;
	do
		n = poll(&pfd, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return capsa_error_set(err, -ETIMEDOUT, "capsa-shim did not answer in time");
	_cleanup_free_ char *buf = malloc(CONTROL_MAX_MESSAGE + 1);
	if (!buf)
		return capsa_error_set(err, -ENOMEM, "out of memory");
	char control[CMSG_SPACE(sizeof(int) * CONTROL_MAX_FDS)];
	struct iovec iov = { .iov_base = buf, .iov_len = CONTROL_MAX_MESSAGE };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control) };
	ssize_t got = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	if (got < 0)
		return capsa_error_errno(err, -errno, "receiving from capsa-shim");
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int *received = (int *)CMSG_DATA(cm);
		for (size_t i = 0; i < count; i++) {
			if (fds && n_fds && *n_fds < CONTROL_MAX_FDS)
				fds[(*n_fds)++] = received[i];
			else
				close(received[i]);
		}
	}
	if (got == 0)
		return 0;
	buf[got] = '\0';
	json_error_t jerr;
	*ret = json_loads(buf, 0, &jerr);
	if (!*ret || !json_is_object(*ret)) {
		json_decref(*ret);
		*ret = NULL;
		return capsa_error_set(err, -EBADMSG, "malformed control message: %s", jerr.text);
	}
	return 1;
}

int control_call(const char *root, const char *id, json_t *req, const int *fds, size_t n_fds, json_t **ret,
		 int *ret_conn, struct capsa_error *err)
{
	char path[4096];
	if (state_path(root, id, "shim.sock", path, sizeof(path)) < 0)
		return capsa_error_set(err, -ENAMETOOLONG, "socket path for '%s' is too long", id);
	_cleanup_close_ int fd = unix_connect_as(path, SOCK_SEQPACKET, err);
	if (fd < 0)
		return capsa_error_prefix(err, "container '%s': its capsa-shim does not answer", id);
	int r = control_send(fd, req, fds, n_fds, err);
	if (r < 0)
		return r;
	json_t *answer = NULL;
	r = control_recv(fd, &answer, NULL, NULL, 120000, err);
	if (r < 0)
		return r;
	if (!answer)
		return capsa_error_set(err, -EPIPE, "container '%s': capsa-shim closed the connection", id);
	const char *error = json_string_value(json_object_get(answer, "error"));
	if (error) {
		r = capsa_error_set(err, -EIO, "%s", error);
		json_decref(answer);
		return r;
	}
	if (ret)
		*ret = answer;
	else
		json_decref(answer);
	if (ret_conn)
		*ret_conn = steal_fd(&fd);
	return 0;
}
