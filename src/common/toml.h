/*
 * A TOML 1.0.0 parser.
 *
 * The whole document is parsed into a tree of values owned by the root
 * table; every pointer handed out by the getters stays valid until
 * toml_free() on the root. Library code never prints: a failing call
 * returns NULL or a negative errno and fills the toml_error, whose msg
 * reads "line L, column C: what went wrong" (line and column 1-based,
 * columns counted in characters).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deepest nesting of tables and arrays, the root table counting as 1. */
#define TOML_MAX_DEPTH 128

enum toml_type {
	TOML_NONE = 0,        /* what toml_type(NULL) returns */
	TOML_TABLE,
	TOML_ARRAY,
	TOML_STRING,
	TOML_INTEGER,
	TOML_FLOAT,
	TOML_BOOL,
	TOML_DATETIME,        /* offset date-time: 1979-05-27T07:32:00Z */
	TOML_DATETIME_LOCAL,  /* 1979-05-27T07:32:00 */
	TOML_DATE_LOCAL,      /* 1979-05-27 */
	TOML_TIME_LOCAL,      /* 07:32:00 */
};

struct toml_error {
	int line, column;     /* 0 when the error has no position (I/O, memory) */
	char msg[256];
};

/* Broken-down date/time; which fields mean something depends on the type. */
struct toml_datetime {
	int year, month, day;           /* not for TOML_TIME_LOCAL */
	int hour, minute, second;       /* not for TOML_DATE_LOCAL */
	int nanosecond;                 /* extra digits are truncated, as TOML asks */
	int offset_minutes;             /* east of UTC; TOML_DATETIME only */
};

struct toml_value;

/* Parses len bytes (no NUL terminator needed). NULL on error, errno set. */
struct toml_value *toml_parse(const char *text, size_t len, struct toml_error *err);

/* Configuration files have no business being larger. */
#define TOML_MAX_FILE_SIZE (64u << 20)

/* Reads and parses a file; 0 or a negative errno (-EFBIG past TOML_MAX_FILE_SIZE). */
int toml_parse_file(const char *path, struct toml_value **ret, struct toml_error *err);

void toml_free(struct toml_value *v);

enum toml_type toml_type(const struct toml_value *v);
/* "table", "integer", ... for messages such as "expected integer, got string". */
const char *toml_type_name(enum toml_type type);

/* Where the value was defined: its key for key/values, the [header] for
 * tables, the value itself for array elements; 0 for NULL. */
int toml_line(const struct toml_value *v);
int toml_column(const struct toml_value *v);

/* Tables keep their keys in the order they were first defined. */
const struct toml_value *toml_table_get(const struct toml_value *table, const char *key);
const struct toml_value *toml_table_getn(const struct toml_value *table, const char *key, size_t key_len);
/* Follows "a.b.c" through nested tables; parts are taken literally (no quoting). */
const struct toml_value *toml_get_path(const struct toml_value *table, const char *dotted_path);
size_t toml_table_size(const struct toml_value *table);
const char *toml_table_key_at(const struct toml_value *table, size_t i);
size_t toml_table_key_len_at(const struct toml_value *table, size_t i);  /* keys may hold "\u0000" */
const struct toml_value *toml_table_value_at(const struct toml_value *table, size_t i);

size_t toml_array_size(const struct toml_value *array);
const struct toml_value *toml_array_at(const struct toml_value *array, size_t i);

/*
 * Typed getters. On a value of another type (or NULL) they return NULL, 0,
 * 0.0 or false: check toml_type() first where that matters.
 */
const char *toml_string(const struct toml_value *v);
size_t toml_string_len(const struct toml_value *v);   /* strings may hold "\u0000" */
int64_t toml_integer(const struct toml_value *v);
double toml_float(const struct toml_value *v);
bool toml_bool(const struct toml_value *v);
/* For the four date/time types: RFC 3339 text with 'T' and 'Z' upper case. */
const char *toml_datetime_text(const struct toml_value *v);
const struct toml_datetime *toml_datetime(const struct toml_value *v);

/*
 * Merges src into dst, both tables, for drop-ins layered over a main file:
 * a key in both whose values are tables is merged recursively, any other key
 * of src replaces (or adds to) dst's. src is consumed in every case. Values
 * keep the line they had in their own file. 0 or -EINVAL / -ENOMEM (dst may
 * then be partly merged).
 */
int toml_table_merge(struct toml_value *dst, struct toml_value *src);
