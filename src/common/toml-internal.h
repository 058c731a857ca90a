/* Shared between the TOML parser's files; not part of the public API. */
#pragma once

#include "common/toml.h"

#include <locale.h>

/* How a table came to exist decides what may still be added to it. */
enum table_origin {
	TABLE_IMPLICIT,  /* a parent named by a [x.y] header, not yet defined itself */
	TABLE_HEADER,    /* defined by [x], an [[x]] element, or the root */
	TABLE_DOTTED,    /* created by a dotted key: x.y = 1 */
	TABLE_INLINE,    /* { ... }: closed for good */
};

enum array_origin {
	ARRAY_LITERAL,   /* [ ... ]: closed for good */
	ARRAY_OF_TABLES, /* grown by [[x]] headers */
};

struct toml_entry {
	char *key;
	size_t key_len;
	struct toml_value *value;
};

struct toml_value {
	enum toml_type type;
	unsigned char origin;  /* enum table_origin or enum array_origin */
	unsigned short depth;  /* the root table is 1 */
	int line, column;
	union {
		struct {
			char *ptr;     /* NUL-terminated, may also hold NULs */
			size_t len;
		} string;
		int64_t integer;
		double floating;
		bool boolean;
		struct {
			struct toml_datetime parts;
			char text[40]; /* 9999-12-31T23:59:59.123456789+14:00 */
		} datetime;
		struct {
			struct toml_value **items;
			size_t len, cap;
		} array;
		struct {
			struct toml_entry *entries;  /* in insertion order */
			size_t len, cap;
			uint32_t *slots;             /* hash index: entry number + 1, 0 = empty */
			size_t slot_count;           /* power of two, 0 while the table is small */
			uint64_t hash_key[2];        /* random per table, set with the index */
		} table;
	} u;
};

/* toml-value.c: building the tree. */
struct toml_value *value_new(enum toml_type type, int line, int column);
struct toml_value *table_lookup(const struct toml_value *table, const char *key, size_t key_len);
/* Takes ownership of key (malloc'd, NUL-terminated) and value on success only. */
int table_insert(struct toml_value *table, char *key, size_t key_len, struct toml_value *value);
int array_push(struct toml_value *array, struct toml_value *value);

/* The parser's cursor over the input, shared by the lexer and the grammar. */
struct parser {
	const char *start, *p, *end;
	struct toml_error *err;
	/* last position turned into line:column, so lookups stay linear overall */
	const char *located_at;
	int located_line, located_column;
	locale_t c_locale;     /* strtod must not follow the caller's LC_NUMERIC */
};

/* A growable byte buffer for decoded strings. */
struct strbuf {
	char *data;
	size_t len, cap;
};

/* toml-lex.c: errors, whitespace, strings, scalars. */
int parse_error(struct parser *ps, const char *at, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void locate(struct parser *ps, const char *at, int *line, int *column);
int check_utf8(struct parser *ps);
void describe_char(const char *at, const char *end, char *buf, size_t size);
void describe_key(const char *key, size_t len, char *buf, size_t size);
void skip_blank(struct parser *ps);
int skip_comment(struct parser *ps);
bool at_newline(const struct parser *ps);
bool is_bare_key_char(char c);
int scan_string(struct parser *ps, bool allow_multiline, struct strbuf *out);
int scan_scalar(struct parser *ps, struct toml_value *v);
