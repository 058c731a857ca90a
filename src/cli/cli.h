/* The capsa command line: global options, then one verb; one file a verb. */
#pragma once

#include <stdbool.h>

#include "common/error.h"

struct cli_globals {
	const char *config_path;   /* --config */
	const char *root;          /* --root */
	const char *log_path;      /* --log */
	bool log_json;             /* --log-format json */
	bool debug;                /* --debug */
	bool systemd_cgroup;       /* --systemd-cgroup (accepted) */
};

struct cli_verb {
	const char *name;
	const char *summary;
	/* argv[0] is the verb; returns the exit status, or a negative errno with err filled */
	int (*run)(const struct cli_globals *g, int argc, char **argv, struct capsa_error *err);
};

int cli_create(const struct cli_globals *g, int argc, char **argv, struct capsa_error *err);
int cli_run(const struct cli_globals *g, int argc, char **argv, struct capsa_error *err);
int cli_start(const struct cli_globals *g, int argc, char **argv, struct capsa_error *err);
int cli_state(const struct cli_globals *g, int argc, char **argv, struct capsa_error *err);
int cli_kill(const struct cli_globals *g, int argc, char **argv, struct capsa_error *err);
int cli_delete(const struct cli_globals *g, int argc, char **argv, struct capsa_error *err);
int cli_exec(const struct cli_globals *g, int argc, char **argv, struct capsa_error *err);
int cli_ps(const struct cli_globals *g, int argc, char **argv, struct capsa_error *err);
int cli_list(const struct cli_globals *g, int argc, char **argv, struct capsa_error *err);
int cli_pause(const struct cli_globals *g, int argc, char **argv, struct capsa_error *err);
int cli_spec(const struct cli_globals *g, int argc, char **argv, struct capsa_error *err);
int cli_features(const struct cli_globals *g, int argc, char **argv, struct capsa_error *err);
int cli_env(const struct cli_globals *g, int argc, char **argv, struct capsa_error *err);
int cli_check(const struct cli_globals *g, int argc, char **argv, struct capsa_error *err);
