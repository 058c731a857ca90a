/* capsa: entry point. Parses the global options, runs the verb, prints its error. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/util.h"
#include "runtime/config.h"

static const struct cli_verb verbs[] = {
	{ "create", "create a container (in its own VM) from a bundle; start runs its process", cli_create },
	{ "start", "start the process of a created container", cli_start },
	{ "run", "create and start a container; without -d, wait for it and remove it", cli_run },
	{ "state", "print a container's state as JSON", cli_state },
	{ "kill", "send a signal to a container's process (--all: to every process)", cli_kill },
	{ "delete", "remove a container (--force: stop it first)", cli_delete },
	{ "exec", "run another process in a running container", cli_exec },
	{ "ps", "list the processes of a container (guest pids)", cli_ps },
	{ "list", "list containers", cli_list },
	{ "pause", "freeze every process of a container", cli_pause },
	{ "resume", "thaw a paused container", cli_pause },
	{ "spec", "write a default config.json", cli_spec },
	{ "features", "print what this runtime supports, as JSON", cli_features },
	{ "env", "print the effective configuration and host facts (TOML, or --json)", cli_env },
	{ "check", "check whether this host can run containers with the configured hypervisor", cli_check },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: capsa [GLOBAL OPTIONS] COMMAND [ARGS...]\n\n"
		   "capsa runs OCI containers, each inside its own lightweight virtual machine.\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(f, "\nglobal options:\n"
		   "  --config FILE                  configuration file (else $" CONFIG_ENV_VAR ", " CONFIG_ETC_PATH ",\n"
		   "                                 " CONFIG_DEFAULTS_PATH ")\n"
		   "  --show-default-config-paths    print the configuration files tried, in order\n"
		   "  --root DIR                     state directory (default /run/capsa)\n"
		   "  --log FILE, --log-format text|json, --debug, --systemd-cgroup\n"
		   "  --version, --help\n");
}

/* Errors also go to --log, as runc writes them: containerd's shim shows the last "error" line. */
static void log_error(const struct cli_globals *g, const char *msg)
{
	if (!g->log_path)
		return;
	FILE *f = fopen(g->log_path, "ae");
	if (!f)
		return;
	char now[64];
	rfc3339_now(now, sizeof(now));
	if (g->log_json) {
		json_t *line = json_pack("{s:s, s:s, s:s}", "level", "error", "msg", msg, "time", now);
		char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;
		if (text)
			fprintf(f, "%s\n", text);
		free(text);
		json_decref(line);
	} else {
		fprintf(f, "time=\"%s\" level=error msg=\"%s\"\n", now, msg);
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	enum { OPT_SHOW_PATHS = 256, OPT_LOG_FORMAT, OPT_SYSTEMD_CGROUP };
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "show-default-config-paths", no_argument, NULL, OPT_SHOW_PATHS },
		{ "root", required_argument, NULL, 'r' },
		{ "log", required_argument, NULL, 'l' },
		{ "log-format", required_argument, NULL, OPT_LOG_FORMAT },
		{ "debug", no_argument, NULL, 'd' },
		{ "systemd-cgroup", no_argument, NULL, OPT_SYSTEMD_CGROUP },
		{ "version", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct cli_globals g = { .root = "/run/capsa" };
	bool show_paths = false;
	int c;
	while ((c = getopt_long(argc, argv, "+hv", options, NULL)) != -1) {
		switch (c) {
		case 'c': g.config_path = optarg; break;
		case OPT_SHOW_PATHS: show_paths = true; break;
		case 'r': g.root = optarg; break;
		case 'l': g.log_path = optarg; break;
		case OPT_LOG_FORMAT:
			if (strcmp(optarg, "text") && strcmp(optarg, "json")) {
				fprintf(stderr, "capsa: --log-format '%s': allowed are text, json\n", optarg);
				return 2;
			}
			g.log_json = !strcmp(optarg, "json");
			break;
		case 'd': g.debug = true; break;
		case OPT_SYSTEMD_CGROUP: g.systemd_cgroup = true; break;
		case 'v':
			printf("capsa version %s\nspec: 1.1.0\n", CAPSA_VERSION);
			return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (show_paths) {
		const char *paths[4];
		size_t n = config_default_paths(g.config_path, paths, 4);
		for (size_t i = 0; i < n; i++)
			printf("%s\n", paths[i]);
		return 0;
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	const char *verb = argv[optind];
	int verb_argc = argc - optind;
	char **verb_argv = argv + optind;
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strcmp(verbs[i].name, verb))
			continue;
		struct capsa_error err = { 0 };
		optind = 0;   /* the verb parses its own options; 0 makes glibc start afresh */
		int r = verbs[i].run(&g, verb_argc, verb_argv, &err);
		if (r < 0) {
			const char *msg = err.code ? err.msg : strerror(-r);
			fprintf(stderr, "capsa: %s\n", msg);
			log_error(&g, msg);
			return 1;
		}
		return r;
	}
	fprintf(stderr, "capsa: unknown command '%s' (capsa --help lists them)\n", argv[optind]);
	return 2;
}
