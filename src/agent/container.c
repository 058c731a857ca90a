#include "agent/process.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/cgroup.h"
#include "agent/log.h"
#include "common/cleanup.h"
#include "proto/agent.pb-c.h"

#define MAX_CONTAINERS 256
#define MAX_PROCESSES 1024

static struct container *containers;

static struct container *container_find(const char *id)
{
	for (struct container *c = containers; c; c = c->next)
		if (!strcmp(c->id, id))
			return c;
	return NULL;
}

static bool valid_id(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > 128)
		return false;
	for (const char *s = id; *s; s++)
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') && !(*s >= '0' && *s <= '9') && !strchr("-_.", *s))
			return false;
	return strcmp(id, ".") && strcmp(id, "..");
}

static struct process *process_new(struct container *c, const char *exec_id)
{
	struct process *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->exec_id = strdup(exec_id);
	if (!p->exec_id) {
		free(p);
		return NULL;
	}
	p->container = c;
	p->sync_fd = -1;
	p->in.fd = -1;
	output_init(&p->out, p, -1);
	output_init(&p->err, p, -1);
	return p;
}

static void process_free(struct process *p)
{
	stdio_close_all(p);
	for (size_t i = 0; i < p->n_waiters; i++)
		server_reply_error(p->waiters[i], TTRPC_NOT_FOUND, "process removed");
	free(p->waiters);
	if (p->sync_fd >= 0)
		close(p->sync_fd);
	free(p->exec_id);
	free(p);
}

static void container_free(struct container *c)
{
	while (c->processes) {
		struct process *p = c->processes;
		c->processes = p->next;
		process_free(p);
	}
	oci_spec_free(&c->spec);
	free(c->id);
	free(c->rootfs);
	free(c);
}

int container_create(const char *id, const char *spec_json, size_t spec_len, const char *rootfs,
		     struct capsa_error *err)
{
	if (!valid_id(id))
		return capsa_error_set(err, -EINVAL, "invalid container id '%.200s'", id);
	if (container_find(id))
		return capsa_error_set(err, -EEXIST, "container '%s' already exists", id);
	size_t n = 0;
	for (struct container *c = containers; c; c = c->next)
		n++;
	if (n >= MAX_CONTAINERS)
		return capsa_error_set(err, -EMFILE, "too many containers (limit %d)", MAX_CONTAINERS);
	struct stat st;
	if (!rootfs || rootfs[0] != '/' || stat(rootfs, &st) < 0 || !S_ISDIR(st.st_mode))
		return capsa_error_set(err, -ENOENT, "container rootfs '%s' is not a directory in the guest",
				       rootfs ? rootfs : "");

	struct container *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	int r = oci_spec_parse(spec_json, spec_len, &c->spec, err);
	if (r < 0) {
		free(c);
		return r;
	}
	c->id = strdup(id);
	c->rootfs = strdup(rootfs);
	c->processes = process_new(c, "");
	if (!c->id || !c->rootfs || !c->processes) {
		container_free(c);
		return -ENOMEM;
	}
	if ((r = cgroup_create(id, &c->spec.resources, err)) < 0) {
		container_free(c);
		return r;
	}
	r = spawn_process(c, c->processes, &c->spec.process, true, err);
	/* in its group before it runs a single instruction of its own */
	if (r >= 0 && (r = cgroup_add(id, c->processes->pid, err)) < 0) {
		kill(c->processes->pid, SIGKILL);
		waitpid(c->processes->pid, NULL, 0);
	}
	if (r < 0) {
		container_free(c);
		cgroup_remove(id);
		return r;
	}
	c->next = containers;
	containers = c;
	log_info("container %s created, init pid %d", id, c->processes->pid);
	return 0;
}

int container_start(const char *id, struct capsa_error *err)
{
	struct container *c = container_find(id);
	if (!c)
		return capsa_error_set(err, -ENOENT, "no container '%s'", id);
	if (c->started)
		return capsa_error_set(err, -EALREADY, "container '%s' is already started", id);
	if (c->processes->exited)
		return capsa_error_set(err, -ESRCH, "container '%s' has stopped", id);
	int r = spawn_release(c->processes, err);
	if (r < 0)
		return r;
	c->started = true;
	return 0;
}

int container_exec(const char *id, const char *exec_id, const char *process_json, size_t len,
		   struct capsa_error *err)
{
	struct container *c = container_find(id);
	if (!c)
		return capsa_error_set(err, -ENOENT, "no container '%s'", id);
	if (!exec_id[0] || !valid_id(exec_id))
		return capsa_error_set(err, -EINVAL, "invalid exec id '%.200s'", exec_id);
	if (!c->started || c->processes->exited)
		return capsa_error_set(err, -ESRCH, "container '%s' is not running", id);
	size_t n = 0;
	for (struct process *p = c->processes; p; p = p->next) {
		if (!strcmp(p->exec_id, exec_id))
			return capsa_error_set(err, -EEXIST, "exec id '%s' is in use in container '%s'", exec_id, id);
		n++;
	}
	if (n >= MAX_PROCESSES)
		return capsa_error_set(err, -EMFILE, "too many processes in container '%s'", id);

	struct oci_process op;
	int r = oci_process_parse(process_json, len, &op, err);
	if (r < 0)
		return r;
	struct process *p = process_new(c, exec_id);
	if (!p) {
		oci_process_free(&op);
		return -ENOMEM;
	}
	r = spawn_process(c, p, &op, false, err);
	if (r >= 0)
		r = cgroup_add(id, p->pid, err);
	if (r >= 0)
		r = spawn_release(p, err);
	oci_process_free(&op);
	if (r < 0) {
		if (p->pid > 0 && !p->exited) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, NULL, 0);
		}
		process_free(p);
		return r;
	}
	/* after init, so init stays first */
	p->next = c->processes->next;
	c->processes->next = p;
	return 0;
}

struct process *process_find(const char *container_id, const char *exec_id, struct capsa_error *err)
{
	struct container *c = container_find(container_id);
	if (!c) {
		capsa_error_set(err, -ENOENT, "no container '%.200s'", container_id);
		return NULL;
	}
	for (struct process *p = c->processes; p; p = p->next)
		if (!strcmp(p->exec_id, exec_id))
			return p;
	capsa_error_set(err, -ENOENT, "no process '%.200s' in container '%s'", exec_id, container_id);
	return NULL;
}

pid_t process_pid(const struct process *p)
{
	return p->pid;
}

/* Signals every process in the container's pid namespace (the whole guest if it has none). */
static int signal_all(struct container *c, int signal)
{
	char path[64];
	struct stat init_ns, st;
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", c->processes->pid);
	if (stat(path, &init_ns) < 0)
		return -errno;
	_cleanup_closedir_ DIR *d = opendir("/proc");
	if (!d)
		return -errno;
	struct dirent *de;
	while ((de = readdir(d))) {
		pid_t pid = atoi(de->d_name);
		if (pid <= 1)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
		if (stat(path, &st) == 0 && st.st_ino == init_ns.st_ino && st.st_dev == init_ns.st_dev)
			kill(pid, signal);
	}
	return 0;
}

int process_signal(struct process *p, int signal, bool all, struct capsa_error *err)
{
	if (signal < 0 || signal > 64)
		return capsa_error_set(err, -EINVAL, "invalid signal %d", signal);
	if (p->exited)
		return capsa_error_set(err, -ESRCH, "process %d has already exited", p->pid);
	if (all && (p->container->spec.clone_flags & CLONE_NEWPID)) {
		int r = signal_all(p->container, signal);
		if (r < 0)
			return capsa_error_errno(err, r, "signalling container '%s'", p->container->id);
		return 0;
	}
	if (kill(p->pid, signal) < 0)
		return capsa_error_errno(err, -errno, "kill(%d, %d)", p->pid, signal);
	return 0;
}

static void reply_wait(struct process *p, struct call call)
{
	Capsa__Agent__WaitProcessResponse resp = CAPSA__AGENT__WAIT_PROCESS_RESPONSE__INIT;
	if (WIFEXITED(p->wait_status)) {
		resp.exited = true;
		resp.exit_code = WEXITSTATUS(p->wait_status);
	} else if (WIFSIGNALED(p->wait_status)) {
		resp.signal = (uint32_t)WTERMSIG(p->wait_status);
		resp.core_dumped = WCOREDUMP(p->wait_status);
	}
	server_reply(call, &resp.base);
}

void process_wait(struct process *p, struct call call)
{
	if (p->exited) {
		reply_wait(p, call);
		return;
	}
	struct call *n = realloc(p->waiters, (p->n_waiters + 1) * sizeof(*n));
	if (!n) {
		server_reply_error(call, TTRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	p->waiters = n;
	p->waiters[p->n_waiters++] = call;
}

static struct process *process_by_pid(pid_t pid)
{
	for (struct container *c = containers; c; c = c->next)
		for (struct process *p = c->processes; p; p = p->next)
			if (p->pid == pid && !p->exited)
				return p;
	return NULL;
}

void processes_reap(void)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct process *p = process_by_pid(pid);
		if (!p)
			continue;   /* an orphan re-parented to us */
		p->exited = true;
		p->wait_status = status;
		log_info("process %d of container %s exited with status 0x%x", pid, p->container->id, status);
		for (size_t i = 0; i < p->n_waiters; i++)
			reply_wait(p, p->waiters[i]);
		free(p->waiters);
		p->waiters = NULL;
		p->n_waiters = 0;
		stdio_process_exited(p);
	}
}

int container_remove(const char *id, struct capsa_error *err)
{
	struct container **pp = &containers;
	while (*pp && strcmp((*pp)->id, id))
		pp = &(*pp)->next;
	if (!*pp)
		return capsa_error_set(err, -ENOENT, "no container '%.200s'", id);
	struct container *c = *pp;
	*pp = c->next;
	/* with its own pid namespace, killing init takes every process of the container along */
	for (struct process *p = c->processes; p; p = p->next)
		if (!p->exited && p->pid > 0) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, NULL, 0);
			p->exited = true;
		}
	container_free(c);
	cgroup_remove(id);
	log_info("container %s removed", id);
	return 0;
}

int container_pause(const char *id, bool pause, struct capsa_error *err)
{
	struct container *c = container_find(id);
	if (!c)
		return capsa_error_set(err, -ENOENT, "no container '%.200s'", id);
	if (!c->started || c->processes->exited)
		return capsa_error_set(err, -ESRCH, "container '%s' is not running", id);
	return cgroup_freeze(id, pause, err);
}

int container_pids(const char *id, uint32_t **ret, size_t *ret_n, struct capsa_error *err)
{
	if (!container_find(id))
		return capsa_error_set(err, -ENOENT, "no container '%.200s'", id);
	return cgroup_pids(id, ret, ret_n, err);
}

void containers_remove_all(void)
{
	while (containers) {
		char *id = strdup(containers->id);
		if (!id)
			return;
		container_remove(id, NULL);
		free(id);
	}
}
