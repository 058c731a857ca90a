#include "client/oci_default.h"

static json_t *string_array(const char *const *items)
{
	json_t *a = json_array();
	for (; a && *items; items++)
		json_array_append_new(a, json_string(*items));
	return a;
}

static json_t *mount(const char *dest, const char *type, const char *source, const char *const *options)
{
	return json_pack("{s:s, s:s, s:s, s:o}", "destination", dest, "type", type, "source", source, "options",
			 string_array(options));
}

json_t *oci_default_spec(char *const *args, bool terminal)
{
	static const char *const default_args[] = { "sh", NULL };
	static const char *const env[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
					   "TERM=xterm", NULL };
	static const char *const caps[] = { "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", NULL };
	static const char *const masked[] = { "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
					      "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
					      "/proc/sched_debug", "/sys/firmware", "/proc/scsi", NULL };
	static const char *const readonly[] = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
						"/proc/sysrq-trigger", NULL };
	static const char *const o_proc[] = { NULL };
	static const char *const o_dev[] = { "nosuid", "strictatime", "mode=755", "size=65536k", NULL };
	static const char *const o_pts[] = { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", NULL };
	static const char *const o_shm[] = { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL };
	static const char *const o_mq[] = { "nosuid", "noexec", "nodev", NULL };
	static const char *const o_sys[] = { "nosuid", "noexec", "nodev", "ro", NULL };
	static const char *const o_cg[] = { "nosuid", "noexec", "nodev", "relatime", "ro", NULL };

	json_t *capabilities = json_pack("{s:o, s:o, s:o}", "bounding", string_array(caps), "effective",
					 string_array(caps), "permitted", string_array(caps));
	json_t *process = json_pack(
		"{s:b, s:{s:i, s:i}, s:o, s:o, s:s, s:o, s:[{s:s, s:i, s:i}], s:b}", "terminal", terminal, "user", "uid", 0,
		"gid", 0, "args", string_array(args ? (const char *const *)args : default_args), "env", string_array(env),
		"cwd", "/", "capabilities", capabilities, "rlimits", "type", "RLIMIT_NOFILE", "hard", 1024, "soft", 1024,
		"noNewPrivileges", 1);
	json_t *mounts = json_pack("[o, o, o, o, o, o, o]", mount("/proc", "proc", "proc", o_proc),
				   mount("/dev", "tmpfs", "tmpfs", o_dev), mount("/dev/pts", "devpts", "devpts", o_pts),
				   mount("/dev/shm", "tmpfs", "shm", o_shm), mount("/dev/mqueue", "mqueue", "mqueue", o_mq),
				   mount("/sys", "sysfs", "sysfs", o_sys), mount("/sys/fs/cgroup", "cgroup", "cgroup", o_cg));
	json_t *linux_obj = json_pack("{s:[{s:s}, {s:s}, {s:s}, {s:s}, {s:s}, {s:s}], s:o, s:o}", "namespaces", "type",
				      "pid", "type", "network", "type", "ipc", "type", "uts", "type", "mount", "type",
				      "cgroup", "maskedPaths", string_array(masked), "readonlyPaths",
				      string_array(readonly));
	return json_pack("{s:s, s:o, s:{s:s, s:b}, s:s, s:o, s:o}", "ociVersion", "1.0.2", "process", process, "root",
			 "path", "rootfs", "readonly", 1, "hostname", "capsa", "mounts", mounts, "linux", linux_obj);
}
