/* capsa start, kill, pause, resume, ps: requests to a live container's shim. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/util.h"
#include "common/cleanup.h"

/* Options common to these verbs: only --help; `all` for kill, `format` for ps. */
static int simple_args(int argc, char **argv, const char *usage, bool *all, const char **format)
{
	static const struct option longopts[] = { { "all", no_argument, NULL, 'a' }, { "format", required_argument, NULL, 'f' },
						  { "help", no_argument, NULL, 'h' }, { 0 } };
	int c;
	while ((c = getopt_long(argc, argv, "af:h", longopts, NULL)) != -1) {
		if (c == 'a' && all)
			*all = true;
		else if (c == 'f' && format)
			*format = optarg;
		else {
			fprintf(c == 'h' ? stdout : stderr, "usage: %s\n", usage);
			return c == 'h' ? 1 : -EINVAL;
		}
	}
	return 0;
}

static int request_on_live(const struct cli_globals *g, const char *id, const char *op, json_t *extra, json_t **ret,
			   struct capsa_error *err)
{
	_cleanup_close_ int lock = state_lock(g->root, id, err);
	if (lock < 0)
		return lock;
	struct container_state st;
	int r = load_live_state(g, id, &st, err);
	if (r < 0)
		return r;
	state_clear(&st);
	return shim_request(g, id, op, extra, ret, err);
}

int cli_start(const struct cli_globals *g, int argc, char **argv, struct capsa_error *err)
{
	const char *usage = "capsa start ID";
	int r = simple_args(argc, argv, usage, NULL, NULL);
	if (r != 0)
		return r < 0 ? 2 : 0;
	if (!expect_args(argc, optind, 1, usage))
		return 2;
	return request_on_live(g, argv[optind], "start", NULL, NULL, err);
}

int cli_kill(const struct cli_globals *g, int argc, char **argv, struct capsa_error *err)
{
	const char *usage = "capsa kill [--all] ID [SIGNAL]";
	bool all = false;
	int r = simple_args(argc, argv, usage, &all, NULL);
	if (r != 0)
		return r < 0 ? 2 : 0;
	if (argc - optind < 1 || argc - optind > 2) {
		expect_args(argc, optind, argc - optind < 1 ? 1 : 2, usage);
		return 2;
	}
	const char *id = argv[optind];
	const char *name = argc - optind == 2 ? argv[optind + 1] : "TERM";
	int sig = parse_signal(name);
	if (sig < 0)
		return capsa_error_set(err, -EINVAL, "unknown signal '%s'", name);
	json_t *extra = json_pack("{s:i, s:b}", "signal", sig, "all", all);
	r = request_on_live(g, id, "kill", extra, NULL, err);
	json_decref(extra);
	return r;
}

int cli_pause(const struct cli_globals *g, int argc, char **argv, struct capsa_error *err)
{
	bool pause = !strcmp(argv[0], "pause");
	const char *usage = pause ? "capsa pause ID" : "capsa resume ID";
	int r = simple_args(argc, argv, usage, NULL, NULL);
	if (r != 0)
		return r < 0 ? 2 : 0;
	if (!expect_args(argc, optind, 1, usage))
		return 2;
	return request_on_live(g, argv[optind], pause ? "pause" : "resume", NULL, NULL, err);
}

int cli_ps(const struct cli_globals *g, int argc, char **argv, struct capsa_error *err)
{
	const char *usage = "capsa ps [--format table|json] ID";
	const char *format = "table";
	int r = simple_args(argc, argv, usage, NULL, &format);
	if (r != 0)
		return r < 0 ? 2 : 0;
	if (strcmp(format, "table") && strcmp(format, "json"))
		return capsa_error_set(err, -EINVAL, "--format '%s': allowed are table, json", format);
	if (!expect_args(argc, optind, 1, usage))
		return 2;
	json_t *answer = NULL;
	if ((r = request_on_live(g, argv[optind], "ps", NULL, &answer, err)) < 0)
		return r;
	json_t *pids = json_object_get(answer, "pids");
	if (!strcmp(format, "json")) {
		char *text = json_dumps(pids, JSON_COMPACT);
		printf("%s\n", text ? text : "[]");
		free(text);
	} else {
		/* the processes live in the guest: these are guest pids */
		printf("PID\n");
		size_t i;
		json_t *pid;
		json_array_foreach(pids, i, pid)
			printf("%lld\n", (long long)json_integer_value(pid));
	}
	json_decref(answer);
	return 0;
}
