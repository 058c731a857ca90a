/* capsa state and capsa list: read from the state store, without the VM. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/util.h"

int cli_state(const struct cli_globals *g, int argc, char **argv, struct capsa_error *err)
{
	if (!expect_args(argc, optind ? optind : 1, 1, "capsa state ID"))
		return 2;
	struct container_state st;
	int r = state_read(g->root, argv[1], &st, err);
	if (r < 0)
		return r;
	json_t *doc = state_to_oci_json(&st);
	state_clear(&st);
	char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
	json_decref(doc);
	if (!text)
		return capsa_error_set(err, -ENOMEM, "out of memory");
	printf("%s\n", text);
	free(text);
	return 0;
}

int cli_list(const struct cli_globals *g, int argc, char **argv, struct capsa_error *err)
{
	static const struct option longopts[] = { { "format", required_argument, NULL, 'f' }, { "quiet", no_argument, NULL, 'q' },
						  { 0 } };
	const char *format = "table";
	bool quiet = false;
	int c;
	while ((c = getopt_long(argc, argv, "f:q", longopts, NULL)) != -1) {
		if (c == 'f')
			format = optarg;
		else if (c == 'q')
			quiet = true;
		else {
			fprintf(stderr, "usage: capsa list [--format table|json] [-q]\n");
			return 2;
		}
	}
	if (strcmp(format, "table") && strcmp(format, "json"))
		return capsa_error_set(err, -EINVAL, "--format '%s': allowed are table, json", format);
	char **ids;
	int r = state_list(g->root, &ids, err);
	if (r < 0)
		return r;
	json_t *all = json_array();
	if (!quiet && !strcmp(format, "table"))
		printf("%-20s %-8s %-10s %-40s %-32s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
	for (char **id = ids; *id; id++) {
		struct container_state st;
		if (state_read(g->root, *id, &st, NULL) < 0) {
			free(*id);
			continue;
		}
		json_t *doc = state_to_oci_json(&st);
		if (quiet)
			printf("%s\n", *id);
		else if (!strcmp(format, "table"))
			printf("%-20s %-8lld %-10s %-40s %-32s %s\n", *id, (long long)json_integer_value(json_object_get(doc, "pid")),
			       json_string_value(json_object_get(doc, "status")), st.bundle, st.created, "root");
		json_array_append_new(all, doc);
		state_clear(&st);
		free(*id);
	}
	free(ids);
	if (!quiet && !strcmp(format, "json")) {
		char *text = json_dumps(all, 0);
		printf("%s\n", text ? text : "[]");
		free(text);
	}
	json_decref(all);
	return 0;
}
