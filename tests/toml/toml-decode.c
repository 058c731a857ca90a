/*
 * toml-test decoder: TOML on stdin, toml-test's tagged JSON on stdout.
 * Exit 1 with a message on stderr when the input is not valid TOML.
 */
#include "common/toml.h"

#include "common/cleanup.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *type_tag(enum toml_type type)
{
	switch (type) {
	case TOML_STRING:
		return "string";
	case TOML_INTEGER:
		return "integer";
	case TOML_FLOAT:
		return "float";
	case TOML_BOOL:
		return "bool";
	case TOML_DATETIME:
		return "datetime";
	case TOML_DATETIME_LOCAL:
		return "datetime-local";
	case TOML_DATE_LOCAL:
		return "date-local";
	case TOML_TIME_LOCAL:
		return "time-local";
	default:
		return NULL;
	}
}

/* The shortest decimal text that reads back as the same double. */
static void format_float(double d, char *buf, size_t size)
{
	if (isnan(d)) {
		snprintf(buf, size, "nan");
		return;
	}
	if (isinf(d)) {
		snprintf(buf, size, d < 0 ? "-inf" : "inf");
		return;
	}
	for (int precision = 1; precision <= 17; precision++) {
		snprintf(buf, size, "%.*g", precision, d);
		if (strtod(buf, NULL) == d)
			return;
	}
}

static json_t *to_json(const struct toml_value *v)
{
	char text[64];
	const char *value = text;

	switch (toml_type(v)) {
	case TOML_TABLE: {
		_cleanup_(json_decrefp) json_t *object = json_object();
		if (!object)
			return NULL;
		for (size_t i = 0; i < toml_table_size(v); i++) {
			json_t *member = to_json(toml_table_value_at(v, i));
			if (!member || json_object_setn_new(object, toml_table_key_at(v, i),
							    toml_table_key_len_at(v, i), member) < 0)
				return NULL;
		}
		return steal_pointer(&object);
	}
	case TOML_ARRAY: {
		_cleanup_(json_decrefp) json_t *array = json_array();
		if (!array)
			return NULL;
		for (size_t i = 0; i < toml_array_size(v); i++)
			if (json_array_append_new(array, to_json(toml_array_at(v, i))) < 0)
				return NULL;
		return steal_pointer(&array);
	}
	case TOML_STRING:
		return json_pack("{s:s, s:s%}", "type", "string", "value", toml_string(v), toml_string_len(v));
	case TOML_INTEGER:
		snprintf(text, sizeof(text), "%" PRId64, toml_integer(v));
		break;
	case TOML_FLOAT:
		format_float(toml_float(v), text, sizeof(text));
		break;
	case TOML_BOOL:
		value = toml_bool(v) ? "true" : "false";
		break;
	case TOML_DATETIME:
	case TOML_DATETIME_LOCAL:
	case TOML_DATE_LOCAL:
	case TOML_TIME_LOCAL:
		value = toml_datetime_text(v);
		break;
	default:
		return NULL;
	}
	return json_pack("{s:s, s:s}", "type", type_tag(toml_type(v)), "value", value);
}

static int read_all(FILE *f, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *data = NULL;
	size_t len = 0, cap = 0;

	for (;;) {
		if (len == cap) {
			cap = cap ? 2 * cap : 65536;
			char *grown = realloc(data, cap);
			if (!grown)
				return -ENOMEM;
			data = grown;
		}
		size_t n = fread(data + len, 1, cap - len, f);
		len += n;
		if (n == 0) {
			if (ferror(f))
				return -EIO;
			break;
		}
	}
	*ret = steal_pointer(&data);
	*ret_len = len;
	return 0;
}

int main(void)
{
	_cleanup_free_ char *input = NULL;
	size_t len;
	struct toml_error err = {};

	int r = read_all(stdin, &input, &len);
	if (r < 0) {
		fprintf(stderr, "toml-decode: cannot read stdin: %s\n", strerror(-r));
		return 1;
	}

	struct toml_value *doc = toml_parse(input, len, &err);
	if (!doc) {
		fprintf(stderr, "toml-decode: %s\n", err.msg);
		return 1;
	}

	json_t *json = to_json(doc);
	toml_free(doc);
	if (!json) {
		fprintf(stderr, "toml-decode: cannot build JSON (out of memory)\n");
		return 1;
	}
	r = json_dumpf(json, stdout, JSON_INDENT(2));
	json_decref(json);
	if (r < 0 || fputc('\n', stdout) == EOF || fflush(stdout) == EOF) {
		fprintf(stderr, "toml-decode: cannot write JSON\n");
		return 1;
	}
	return 0;
}
