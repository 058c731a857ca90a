/* capsa spec (a default config.json) and capsa features (what this runtime supports). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/util.h"
#include "client/oci_default.h"
#include "common/fdio.h"

int cli_spec(const struct cli_globals *g, int argc, char **argv, struct capsa_error *err)
{
	(void)g;
	static const struct option longopts[] = { { "bundle", required_argument, NULL, 'b' }, { "rootless", no_argument, NULL, 'r' },
						  { 0 } };
	const char *bundle = ".";
	int c;
	while ((c = getopt_long(argc, argv, "b:", longopts, NULL)) != -1) {
		if (c == 'b')
			bundle = optarg;
		else if (c != 'r') {
			fprintf(stderr, "usage: capsa spec [--bundle DIR]\n");
			return 2;
		}
	}
	char path[4200];
	snprintf(path, sizeof(path), "%s/config.json", bundle);
	if (access(path, F_OK) == 0)
		return capsa_error_set(err, -EEXIST, "'%s' already exists: remove it first", path);
	json_t *spec = oci_default_spec(NULL, true);
	char *text = spec ? json_dumps(spec, JSON_INDENT(2)) : NULL;
	json_decref(spec);
	if (!text)
		return capsa_error_set(err, -ENOMEM, "out of memory");
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	int r = fd < 0 ? -errno : write_all(fd, text, strlen(text));
	if (fd >= 0)
		close(fd);
	free(text);
	return r < 0 ? capsa_error_errno(err, r, "writing '%s'", path) : 0;
}

int cli_features(const struct cli_globals *g, int argc, char **argv, struct capsa_error *err)
{
	(void)g;
	(void)argc;
	(void)argv;
	json_t *f = json_pack(
		"{s:s, s:s, s:[], s:[s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s], s:{s:[s,s,s,s,s,s,s], s:{s:b, s:b, s:b}, s:{s:b}},"
		" s:{s:s, s:s}}",
		"ociVersionMin", "1.0.0", "ociVersionMax", "1.2.0", "hooks", "mountOptions", "ro", "rw", "nosuid", "suid",
		"nodev", "dev", "noexec", "exec", "sync", "async", "dirsync", "remount", "mand", "nomand", "noatime", "atime",
		"nodiratime", "diratime", "relatime", "norelatime", "strictatime", "bind", "rbind", "private", "rprivate",
		"shared", "rshared", "slave", "rslave", "linux", "namespaces", "cgroup", "ipc", "mount", "network", "pid",
		"uts", "user", "cgroup", "v1", 1, "v2", 1, "systemd", 1, "seccomp", "enabled", 0, "annotations",
		"io.capsa.runtime.vm", "each container runs in its own virtual machine", "io.capsa.version", CAPSA_VERSION);
	char *text = f ? json_dumps(f, JSON_INDENT(2)) : NULL;
	json_decref(f);
	if (!text)
		return capsa_error_set(err, -ENOMEM, "out of memory");
	printf("%s\n", text);
	free(text);
	return 0;
}
