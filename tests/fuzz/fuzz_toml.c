/* libFuzzer target: parse arbitrary bytes, walk what comes back, free it. */
#include "common/toml.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Touches every value through the public getters, as a config loader would. */
static void walk(const struct toml_value *v, unsigned depth)
{
	/* the parser promises this bound; going past it is a bug */
	if (depth > TOML_MAX_DEPTH || toml_line(v) < 1 || toml_column(v) < 1)
		__builtin_trap();

	switch (toml_type(v)) {
	case TOML_TABLE:
		for (size_t i = 0; i < toml_table_size(v); i++) {
			const char *key = toml_table_key_at(v, i);
			size_t len = toml_table_key_len_at(v, i);
			/* every key must be found again by lookup, at its own position */
			if (toml_table_getn(v, key, len) != toml_table_value_at(v, i))
				__builtin_trap();
			walk(toml_table_value_at(v, i), depth + 1);
		}
		break;
	case TOML_ARRAY:
		for (size_t i = 0; i < toml_array_size(v); i++)
			walk(toml_array_at(v, i), depth + 1);
		break;
	case TOML_STRING:
		if (strlen(toml_string(v)) > toml_string_len(v))
			__builtin_trap();
		break;
	case TOML_DATETIME:
	case TOML_DATETIME_LOCAL:
	case TOML_DATE_LOCAL:
	case TOML_TIME_LOCAL:
		if (strlen(toml_datetime_text(v)) == 0 || !toml_datetime(v))
			__builtin_trap();
		break;
	default:
		(void)toml_integer(v);
		(void)toml_float(v);
		(void)toml_bool(v);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct toml_error err = { 0 };
	struct toml_value *doc = toml_parse((const char *)data, size, &err);

	if (!doc) {
		/* a syntax error always says where */
		if (errno == EINVAL && (err.line < 1 || err.column < 1))
			__builtin_trap();
		return 0;
	}
	walk(doc, 1);
	toml_free(doc);
	return 0;
}
