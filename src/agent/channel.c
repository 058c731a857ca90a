#include "agent/channel.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fdio.h"

#define VIRTIO_ID_VSOCK 19

int channel_open_port(const char *name, struct capsa_error *err)
{
	_cleanup_closedir_ DIR *d = opendir("/sys/class/virtio-ports");
	if (!d)
		return capsa_error_errno(err, -ENOENT, "no virtio-serial ports");
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char path[300];
		_cleanup_free_ char *port_name = NULL;
		snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", de->d_name);
		if (read_file(path, 256, &port_name, NULL) < 0)
			continue;
		port_name[strcspn(port_name, "\n")] = '\0';
		if (strcmp(port_name, name))
			continue;
		snprintf(path, sizeof(path), "/dev/%s", de->d_name);
		int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return capsa_error_errno(err, -errno, "opening %s (port '%s')", path, name);
		return fd;
	}
	return capsa_error_set(err, -ENOENT, "no virtio-serial port named '%s'", name);
}

int channel_have_vsock(void)
{
	_cleanup_closedir_ DIR *d = opendir("/sys/bus/virtio/devices");
	if (!d)
		return 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		char path[300];
		_cleanup_free_ char *id = NULL;
		snprintf(path, sizeof(path), "/sys/bus/virtio/devices/%s/device", de->d_name);
		if (de->d_name[0] != '.' && read_file(path, 64, &id, NULL) == 0 && strtol(id, NULL, 16) == VIRTIO_ID_VSOCK)
			return 1;
	}
	return 0;
}

int channel_listen_vsock(unsigned port, struct capsa_error *err)
{
	_cleanup_close_ int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return capsa_error_errno(err, -errno, "vsock socket");
	struct sockaddr_vm addr = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port };
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 16) < 0)
		return capsa_error_errno(err, -errno, "listening on vsock port %u", port);
	return steal_fd(&fd);
}
