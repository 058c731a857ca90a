#include "runtime/state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fdio.h"

static const char *const status_names[] = { "creating", "created", "running", "paused", "stopped" };

const char *status_name(enum container_status s)
{
	return (unsigned)s < ARRAY_SIZE(status_names) ? status_names[s] : "unknown";
}

bool valid_container_id(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > 1024 || !strcmp(id, ".") || !strcmp(id, ".."))
		return false;
	for (const char *p = id; *p; p++)
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') && !(*p >= '0' && *p <= '9') && !strchr("_.-+", *p))
			return false;
	return true;
}

int state_path(const char *root, const char *id, const char *file, char *buf, size_t len)
{
	int n = file ? snprintf(buf, len, "%s/%s/%s", root, id, file) : snprintf(buf, len, "%s/%s", root, id);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int state_create_dir(const char *root, const char *id, struct capsa_error *err)
{
	char path[4096];
	if (!valid_container_id(id))
		return capsa_error_set(err, -EINVAL, "invalid container id '%s': use letters, digits, '_', '.', '-', '+'", id);
	int r = mkdir_parents(root, 0711);
	if (r < 0)
		return capsa_error_errno(err, r, "creating the state root '%s'", root);
	if (state_path(root, id, NULL, path, sizeof(path)) < 0)
		return capsa_error_set(err, -ENAMETOOLONG, "state path for '%s' is too long", id);
	if (mkdir(path, 0700) < 0) {
		if (errno == EEXIST)
			return capsa_error_set(err, -EEXIST, "container '%s' already exists", id);
		return capsa_error_errno(err, -errno, "creating '%s'", path);
	}
	return 0;
}

int state_lock(const char *root, const char *id, struct capsa_error *err)
{
	char path[4096];
	if (state_path(root, id, "lock", path, sizeof(path)) < 0)
		return capsa_error_set(err, -ENAMETOOLONG, "state path for '%s' is too long", id);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return errno == ENOENT ? capsa_error_set(err, -ENOENT, "container '%s' does not exist", id)
				       : capsa_error_errno(err, -errno, "opening '%s'", path);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int r = capsa_error_errno(err, -errno, "locking '%s'", path);
			close(fd);
			return r;
		}
	}
	return fd;
}

int state_write(const char *root, const struct container_state *st, struct capsa_error *err)
{
	char path[4096], tmp[4200];
	if (state_path(root, st->id, "state.json", path, sizeof(path)) < 0)
		return capsa_error_set(err, -ENAMETOOLONG, "state path for '%s' is too long", st->id);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, getpid());
	json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:i, s:I, s:s, s:i, s:O, s:s?}", "id", st->id, "bundle", st->bundle,
				"rootfs", st->rootfs ? st->rootfs : "", "created", st->created, "pid", (int)st->pid, "pid_start",
				(json_int_t)st->pid_start, "status", status_name(st->status), "exit_status", st->exit_status,
				"annotations", st->annotations ? st->annotations : json_object(), "cgroup_path", st->cgroup_path);
	if (!doc)
		return capsa_error_set(err, -ENOMEM, "out of memory");
	_cleanup_free_ char *text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (!text)
		return capsa_error_set(err, -ENOMEM, "out of memory");
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return capsa_error_errno(err, -errno, "writing '%s'", tmp);
	int r = write_all(fd, text, strlen(text));
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return capsa_error_errno(err, r, "writing '%s'", path);
	}
	return 0;
}

static char *dup_string(json_t *doc, const char *key)
{
	const char *s = json_string_value(json_object_get(doc, key));
	return s ? strdup(s) : NULL;
}

int state_read(const char *root, const char *id, struct container_state *ret, struct capsa_error *err)
{
	char path[4096];
	if (!valid_container_id(id))
		return capsa_error_set(err, -EINVAL, "invalid container id '%s'", id);
	if (state_path(root, id, "state.json", path, sizeof(path)) < 0)
		return capsa_error_set(err, -ENAMETOOLONG, "state path for '%s' is too long", id);
	json_error_t jerr;
	json_t *doc = json_load_file(path, 0, &jerr);
	if (!doc) {
		char dir[4096];
		state_path(root, id, NULL, dir, sizeof(dir));
		if (access(dir, F_OK) < 0)
			return capsa_error_set(err, -ENOENT, "container '%s' does not exist", id);
		return capsa_error_set(err, -EIO, "container '%s': state is unreadable (%s): delete --force removes it", id, jerr.text);
	}
	struct container_state st = {
		.id = strdup(id),
		.bundle = dup_string(doc, "bundle"),
		.rootfs = dup_string(doc, "rootfs"),
		.created = dup_string(doc, "created"),
		.cgroup_path = dup_string(doc, "cgroup_path"),
		.pid = (pid_t)json_integer_value(json_object_get(doc, "pid")),
		.pid_start = (unsigned long long)json_integer_value(json_object_get(doc, "pid_start")),
		.exit_status = (int)json_integer_value(json_object_get(doc, "exit_status")),
		.status = STATUS_STOPPED,
	};
	const char *status = json_string_value(json_object_get(doc, "status"));
	for (size_t i = 0; status && i < ARRAY_SIZE(status_names); i++)
		if (!strcmp(status, status_names[i]))
			st.status = (enum container_status)i;
	json_t *ann = json_object_get(doc, "annotations");
	st.annotations = json_is_object(ann) ? json_incref(ann) : json_object();
	json_decref(doc);
	if (!st.id || !st.bundle || !st.created) {
		state_clear(&st);
		return capsa_error_set(err, -EIO, "container '%s': state is incomplete", id);
	}
	*ret = st;
	return 0;
}

unsigned long long process_start_time(pid_t pid)
{
	char path[64];
	_cleanup_free_ char *stat = NULL;
	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_file(path, 4096, &stat, NULL) < 0)
		return 0;
	/* field 22, counted after the command name, which may hold spaces and parentheses */
	char *p = strrchr(stat, ')');
	if (!p)
		return 0;
	unsigned long long start = 0;
	char state;
	if (sscanf(p + 2, "%c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu", &state, &start) != 2)
		return 0;
	return state == 'Z' || state == 'X' ? 0 : start;
}

bool state_shim_alive(const struct container_state *st)
{
	return st->pid > 0 && st->pid_start && process_start_time(st->pid) == st->pid_start;
}

enum container_status state_current_status(const struct container_state *st)
{
	if (st->status == STATUS_STOPPED)
		return STATUS_STOPPED;
	if (st->status == STATUS_CREATING)
		return state_shim_alive(st) || !st->pid ? STATUS_CREATING : STATUS_STOPPED;
	return state_shim_alive(st) ? st->status : STATUS_STOPPED;
}

json_t *state_to_oci_json(const struct container_state *st)
{
	enum container_status s = state_current_status(st);
	return json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:O}", "ociVersion", "1.0.2", "id", st->id, "pid",
			 s == STATUS_STOPPED ? 0 : (int)st->pid, "status", status_name(s), "bundle", st->bundle, "rootfs",
			 st->rootfs ? st->rootfs : "", "created", st->created, "owner", "", "annotations", st->annotations);
}

void state_clear(struct container_state *st)
{
	free(st->id);
	free(st->bundle);
	free(st->rootfs);
	free(st->created);
	free(st->cgroup_path);
	json_decref(st->annotations);
	*st = (struct container_state){ 0 };
}

int state_remove(const char *root, const char *id)
{
	char path[4096];
	if (!valid_container_id(id) || state_path(root, id, NULL, path, sizeof(path)) < 0)
		return -EINVAL;
	return remove_tree(path);
}

static int compare(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int state_list(const char *root, char ***ret, struct capsa_error *err)
{
	_cleanup_closedir_ DIR *d = opendir(root);
	size_t n = 0, cap = 16;
	char **ids = calloc(cap + 1, sizeof(char *));
	if (!ids)
		return capsa_error_set(err, -ENOMEM, "out of memory");
	if (!d) {
		*ret = ids;
		return errno == ENOENT ? 0 : capsa_error_errno(err, -errno, "reading '%s'", root);
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !valid_container_id(de->d_name))
			continue;
		if (n == cap) {
			char **grown = realloc(ids, (2 * cap + 1) * sizeof(char *));
			if (!grown)
				break;
			ids = grown;
			cap *= 2;
		}
		if (!(ids[n] = strdup(de->d_name)))
			break;
		ids[++n] = NULL;
	}
	qsort(ids, n, sizeof(char *), compare);
	*ret = ids;
	return 0;
}
