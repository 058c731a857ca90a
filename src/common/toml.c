/* The TOML document grammar: keys, tables, arrays, inline tables, and the
 * rules about what may be defined where. */
#include "common/toml-internal.h"

#include "common/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct key_part {
	char *name;
	size_t len;
	const char *at;
};

/* A dotted key as written: a.b."c d" */
struct key_path {
	struct key_part *parts;
	size_t len, cap;
	int line, column;      /* where the key starts */
};

static void key_path_clear(struct key_path *key)
{
	for (size_t i = 0; i < key->len; i++)
		free(key->parts[i].name);
	free(key->parts);
}

static void toml_freep(struct toml_value **v)
{
	toml_free(*v);
}

static int out_of_memory(struct parser *ps)
{
	return parse_error(ps, NULL, -ENOMEM, "out of memory");
}

/* The first n parts of key, for messages. */
static void format_key(const struct key_path *key, size_t n, char *buf, size_t size)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && o + 1 < size; i++) {
		if (i)
			buf[o++] = '.';
		describe_key(key->parts[i].name, key->parts[i].len, buf + o, size - o);
		o += strlen(buf + o);
	}
}

static int parse_key(struct parser *ps, struct key_path *key)
{
	locate(ps, ps->p, &key->line, &key->column);
	for (;;) {
		const char *at = ps->p;
		struct strbuf name = {};

		if (key->len == TOML_MAX_DEPTH)
			return parse_error(ps, at, -EINVAL, "a key may have at most %d parts", TOML_MAX_DEPTH);
		if (at < ps->end && (*at == '"' || *at == '\'')) {
			int r = scan_string(ps, false, &name);
			if (r < 0) {
				free(name.data);
				return r;
			}
		} else {
			const char *end = at;
			while (end < ps->end && is_bare_key_char(*end))
				end++;
			if (end == at) {
				char what[64];
				describe_char(at, ps->end, what, sizeof(what));
				return parse_error(ps, at, -EINVAL, "expected a key, found %s", what);
			}
			name.len = (size_t)(end - at);
			name.data = strndup(at, name.len);
			if (!name.data)
				return out_of_memory(ps);
			ps->p = end;
		}

		if (key->len == key->cap) {
			size_t cap = key->cap ? 2 * key->cap : 4;
			struct key_part *parts = reallocarray(key->parts, cap, sizeof(*parts));
			if (!parts) {
				free(name.data);
				return out_of_memory(ps);
			}
			key->parts = parts;
			key->cap = cap;
		}
		key->parts[key->len++] = (struct key_part) { .name = name.data, .len = name.len, .at = at };

		skip_blank(ps);
		if (ps->p == ps->end || *ps->p != '.')
			return 0;
		ps->p++;
		skip_blank(ps);
	}
}

static struct toml_value *new_container(struct parser *ps, enum toml_type type, int origin,
					unsigned depth, const char *at, int line, int column, int *r)
{
	if (depth > TOML_MAX_DEPTH) {
		*r = parse_error(ps, at, -EINVAL, "nesting deeper than %d levels", TOML_MAX_DEPTH);
		return NULL;
	}
	struct toml_value *v = value_new(type, line, column);
	if (!v) {
		*r = out_of_memory(ps);
		return NULL;
	}
	v->origin = (unsigned char)origin;
	v->depth = (unsigned short)depth;
	return v;
}

/* Inserts (a copy of) the key part; frees value on failure. */
static int insert_value(struct parser *ps, struct toml_value *table, const struct key_part *part,
			struct toml_value *value)
{
	char *name = malloc(part->len + 1);

	if (!name) {
		toml_free(value);
		return out_of_memory(ps);
	}
	memcpy(name, part->name, part->len + 1);
	if (table_insert(table, name, part->len, value) < 0) {
		free(name);
		toml_free(value);
		return out_of_memory(ps);
	}
	return 0;
}

static int add_table(struct parser *ps, struct toml_value *parent, const struct key_part *part,
		     enum table_origin origin, int line, int column, struct toml_value **ret)
{
	int r = 0;
	struct toml_value *t = new_container(ps, TOML_TABLE, origin, parent->depth + 1u, part->at, line, column, &r);

	if (!t)
		return r;
	r = insert_value(ps, parent, part, t);
	if (r < 0)
		return r;
	*ret = t;
	return 0;
}

static int already_defined(struct parser *ps, const struct key_path *key, size_t n,
			   const struct toml_value *existing)
{
	char name[128];

	format_key(key, n, name, sizeof(name));
	const char *type = toml_type_name(existing->type);
	return parse_error(ps, key->parts[n - 1].at, -EINVAL, "key %s is already defined as %s %s (line %d)",
			   name, strchr("aeiou", type[0]) ? "an" : "a", type, existing->line);
}

/* Walks the dotted key of a key/value pair, creating tables; returns the
 * table that receives the last part. */
static int open_dotted_parent(struct parser *ps, struct toml_value *table, struct key_path *key,
			      struct toml_value **ret)
{
	for (size_t i = 0; i + 1 < key->len; i++) {
		struct key_part *part = &key->parts[i];
		struct toml_value *child = table_lookup(table, part->name, part->len);
		char name[128];

		if (!child) {
			int r = add_table(ps, table, part, TABLE_DOTTED, key->line, key->column, &child);
			if (r < 0)
				return r;
		} else if (child->type != TOML_TABLE) {
			return already_defined(ps, key, i + 1, child);
		} else if (child->origin == TABLE_INLINE) {
			format_key(key, i + 1, name, sizeof(name));
			return parse_error(ps, part->at, -EINVAL, "inline table %s cannot be extended (defined at line %d)",
					   name, child->line);
		} else if (child->origin == TABLE_HEADER) {
			format_key(key, i + 1, name, sizeof(name));
			return parse_error(ps, part->at, -EINVAL,
					   "table %s was defined by a [header] at line %d; dotted keys cannot add to it",
					   name, child->line);
		} else {
			/* Now defined by dotted keys: a [header] for it would define it twice. */
			child->origin = TABLE_DOTTED;
		}
		table = child;
	}
	*ret = table;
	return 0;
}

static int parse_value(struct parser *ps, unsigned depth, struct toml_value **ret);

/* key = value, into table (the current [section] or an inline table). */
static int parse_keyval(struct parser *ps, struct toml_value *table)
{
	_cleanup_(key_path_clear) struct key_path key = {};
	struct toml_value *parent = NULL, *value;
	char name[128];

	int r = parse_key(ps, &key);
	if (r < 0)
		return r;
	if (ps->p == ps->end || *ps->p != '=') {
		char what[64];
		describe_char(ps->p, ps->end, what, sizeof(what));
		return parse_error(ps, ps->p, -EINVAL, "expected '=' after a key, found %s", what);
	}
	ps->p++;
	skip_blank(ps);

	r = open_dotted_parent(ps, table, &key, &parent);
	if (r < 0)
		return r;
	const struct key_part *last = &key.parts[key.len - 1];
	const struct toml_value *existing = table_lookup(parent, last->name, last->len);
	if (existing) {
		format_key(&key, key.len, name, sizeof(name));
		return parse_error(ps, last->at, -EINVAL, "duplicate key %s (first defined at line %d)",
				   name, existing->line);
	}

	r = parse_value(ps, parent->depth + 1u, &value);
	if (r < 0)
		return r;
	/* The loader reports where the key was written, not the value. */
	value->line = key.line;
	value->column = key.column;
	return insert_value(ps, parent, last, value);
}

/* Whitespace, newlines and comments, as allowed between array elements. */
static int skip_array_space(struct parser *ps)
{
	for (;;) {
		skip_blank(ps);
		if (ps->p < ps->end && *ps->p == '#') {
			int r = skip_comment(ps);
			if (r < 0)
				return r;
		} else if (at_newline(ps)) {
			ps->p += *ps->p == '\r' ? 2 : 1;
		} else {
			return 0;
		}
	}
}

static int unexpected(struct parser *ps, const char *expected)
{
	char what[64];

	describe_char(ps->p, ps->end, what, sizeof(what));
	return parse_error(ps, ps->p, -EINVAL, "expected %s, found %s", expected, what);
}

static int parse_array(struct parser *ps, unsigned depth, int line, int column, struct toml_value **ret)
{
	const char *open = ps->p;
	int r = 0;
	_cleanup_(toml_freep) struct toml_value *array =
		new_container(ps, TOML_ARRAY, ARRAY_LITERAL, depth, open, line, column, &r);

	if (!array)
		return r;
	ps->p++;
	for (;;) {
		r = skip_array_space(ps);
		if (r < 0)
			return r;
		if (ps->p == ps->end)
			return parse_error(ps, open, -EINVAL, "unterminated array");
		if (*ps->p == ']')
			break;

		struct toml_value *item;
		r = parse_value(ps, depth + 1, &item);
		if (r < 0)
			return r;
		if (array_push(array, item) < 0) {
			toml_free(item);
			return out_of_memory(ps);
		}

		r = skip_array_space(ps);
		if (r < 0)
			return r;
		if (ps->p == ps->end)
			return parse_error(ps, open, -EINVAL, "unterminated array");
		if (*ps->p == ']')
			break;
		if (*ps->p != ',')
			return unexpected(ps, "',' or ']' in an array");
		ps->p++;
	}
	ps->p++;
	*ret = steal_pointer(&array);
	return 0;
}

static int parse_inline_table(struct parser *ps, unsigned depth, int line, int column, struct toml_value **ret)
{
	const char *open = ps->p;
	int r = 0;
	/* Closed from the start: nothing outside the braces may add to it. */
	_cleanup_(toml_freep) struct toml_value *table =
		new_container(ps, TOML_TABLE, TABLE_INLINE, depth, open, line, column, &r);

	if (!table)
		return r;
	ps->p++;
	skip_blank(ps);
	if (ps->p < ps->end && *ps->p == '}') {
		ps->p++;
		*ret = steal_pointer(&table);
		return 0;
	}
	for (;;) {
		if (ps->p == ps->end)
			return parse_error(ps, open, -EINVAL, "unterminated inline table");
		if (at_newline(ps))
			return parse_error(ps, ps->p, -EINVAL, "an inline table must stay on one line in TOML 1.0");
		r = parse_keyval(ps, table);
		if (r < 0)
			return r;
		skip_blank(ps);
		if (ps->p == ps->end)
			return parse_error(ps, open, -EINVAL, "unterminated inline table");
		if (*ps->p == '}')
			break;
		if (at_newline(ps))
			return parse_error(ps, ps->p, -EINVAL, "an inline table must stay on one line in TOML 1.0");
		if (*ps->p != ',')
			return unexpected(ps, "',' or '}' in an inline table");
		ps->p++;
		skip_blank(ps);
		if (ps->p < ps->end && *ps->p == '}')
			return parse_error(ps, ps->p, -EINVAL, "a trailing comma is not allowed in an inline table");
	}
	ps->p++;
	*ret = steal_pointer(&table);
	return 0;
}

static int parse_value(struct parser *ps, unsigned depth, struct toml_value **ret)
{
	int line, column;

	locate(ps, ps->p, &line, &column);
	if (ps->p == ps->end || at_newline(ps) || *ps->p == '#')
		return parse_error(ps, ps->p, -EINVAL, "missing value");

	switch (*ps->p) {
	case '[':
		return parse_array(ps, depth, line, column, ret);
	case '{':
		return parse_inline_table(ps, depth, line, column, ret);
	default:
		break;
	}

	_cleanup_(toml_freep) struct toml_value *v = value_new(TOML_NONE, line, column);
	if (!v)
		return out_of_memory(ps);
	if (*ps->p == '"' || *ps->p == '\'') {
		struct strbuf text = {};
		int r = scan_string(ps, true, &text);
		if (r < 0) {
			free(text.data);
			return r;
		}
		v->type = TOML_STRING;
		v->u.string.ptr = text.data;
		v->u.string.len = text.len;
	} else {
		int r = scan_scalar(ps, v);
		if (r < 0)
			return r;
	}
	*ret = steal_pointer(&v);
	return 0;
}

/* [a.b] or [[a.b]]: finds or creates the table that keys go into next. */
static int parse_header(struct parser *ps, struct toml_value *root, struct toml_value **current)
{
	_cleanup_(key_path_clear) struct key_path key = {};
	const char *open = ps->p;
	bool array_of_tables = ps->end - open >= 2 && open[1] == '[';
	char name[128];
	int line, column;

	locate(ps, open, &line, &column);
	ps->p += array_of_tables ? 2 : 1;
	skip_blank(ps);
	int r = parse_key(ps, &key);
	if (r < 0)
		return r;
	if (array_of_tables ? ps->end - ps->p < 2 || ps->p[0] != ']' || ps->p[1] != ']'
			    : ps->p == ps->end || *ps->p != ']')
		return unexpected(ps, array_of_tables ? "']]' closing the [[header]]" : "']' closing the [header]");
	ps->p += array_of_tables ? 2 : 1;

	struct toml_value *table = root;
	for (size_t i = 0; i + 1 < key.len; i++) {
		struct key_part *part = &key.parts[i];
		struct toml_value *child = table_lookup(table, part->name, part->len);

		if (!child) {
			r = add_table(ps, table, part, TABLE_IMPLICIT, line, column, &child);
			if (r < 0)
				return r;
		} else if (child->type == TOML_ARRAY && child->origin == ARRAY_OF_TABLES) {
			/* [a.b] under [[a]] belongs to the latest element of a */
			child = child->u.array.items[child->u.array.len - 1];
		} else if (child->type != TOML_TABLE) {
			return already_defined(ps, &key, i + 1, child);
		} else if (child->origin == TABLE_INLINE) {
			format_key(&key, i + 1, name, sizeof(name));
			return parse_error(ps, part->at, -EINVAL, "inline table %s cannot be extended (defined at line %d)",
					   name, child->line);
		}
		table = child;
	}

	const struct key_part *last = &key.parts[key.len - 1];
	struct toml_value *existing = table_lookup(table, last->name, last->len);
	format_key(&key, key.len, name, sizeof(name));

	if (!array_of_tables) {
		if (!existing)
			return add_table(ps, table, last, TABLE_HEADER, line, column, current);
		if (existing->type == TOML_TABLE && existing->origin == TABLE_IMPLICIT) {
			existing->origin = TABLE_HEADER;
			existing->line = line;
			existing->column = column;
			*current = existing;
			return 0;
		}
		if (existing->type == TOML_TABLE && existing->origin == TABLE_HEADER)
			return parse_error(ps, open, -EINVAL, "table [%s] is already defined at line %d",
					   name, existing->line);
		if (existing->type == TOML_TABLE && existing->origin == TABLE_DOTTED)
			return parse_error(ps, open, -EINVAL, "table [%s] was already defined by dotted keys at line %d",
					   name, existing->line);
		if (existing->type == TOML_TABLE)
			return parse_error(ps, open, -EINVAL, "inline table %s cannot be extended (defined at line %d)",
					   name, existing->line);
		if (existing->type == TOML_ARRAY && existing->origin == ARRAY_OF_TABLES)
			return parse_error(ps, open, -EINVAL, "[%s] conflicts with the array of tables [[%s]] at line %d",
					   name, name, existing->line);
		return already_defined(ps, &key, key.len, existing);
	}

	if (!existing) {
		existing = new_container(ps, TOML_ARRAY, ARRAY_OF_TABLES, table->depth + 1u, last->at, line, column, &r);
		if (!existing)
			return r;
		r = insert_value(ps, table, last, existing);
		if (r < 0)
			return r;
	} else if (existing->type != TOML_ARRAY || existing->origin != ARRAY_OF_TABLES) {
		if (existing->type == TOML_ARRAY)
			return parse_error(ps, open, -EINVAL, "[[%s]] cannot append to the static array defined at line %d",
					   name, existing->line);
		return parse_error(ps, open, -EINVAL, "[[%s]] conflicts with the %s defined at line %d",
				   name, toml_type_name(existing->type), existing->line);
	}

	struct toml_value *element =
		new_container(ps, TOML_TABLE, TABLE_HEADER, existing->depth + 1u, last->at, line, column, &r);
	if (!element)
		return r;
	if (array_push(existing, element) < 0) {
		toml_free(element);
		return out_of_memory(ps);
	}
	*current = element;
	return 0;
}

/* After an expression only a comment may follow on its line. */
static int end_of_line(struct parser *ps, const char *after_what)
{
	skip_blank(ps);
	if (ps->p < ps->end && *ps->p == '#') {
		int r = skip_comment(ps);
		if (r < 0)
			return r;
	}
	if (ps->p == ps->end)
		return 0;
	if (at_newline(ps)) {
		ps->p += *ps->p == '\r' ? 2 : 1;
		return 0;
	}
	char what[64];
	describe_char(ps->p, ps->end, what, sizeof(what));
	return parse_error(ps, ps->p, -EINVAL, "expected a newline after %s, found %s", after_what, what);
}

static int parse_document(struct parser *ps, struct toml_value *root)
{
	struct toml_value *current = root;

	for (;;) {
		int r;

		skip_blank(ps);
		if (ps->p == ps->end)
			return 0;
		if (at_newline(ps)) {
			ps->p += *ps->p == '\r' ? 2 : 1;
			continue;
		}
		if (*ps->p == '#') {
			r = skip_comment(ps);
		} else if (*ps->p == '[') {
			r = parse_header(ps, root, &current);
			if (r >= 0)
				r = end_of_line(ps, "a table header");
		} else {
			r = parse_keyval(ps, current);
			if (r >= 0)
				r = end_of_line(ps, "a value");
		}
		if (r < 0)
			return r;
	}
}

static int parse_buffer(const char *text, size_t len, struct toml_value **ret, struct toml_error *err)
{
	struct parser ps = { .err = err };
	int r;

	if (!text && len)
		return parse_error(&ps, NULL, -EINVAL, "no input");
	if (len > INT_MAX)  /* line and column numbers are ints */
		return parse_error(&ps, NULL, -EFBIG, "input larger than %d bytes", INT_MAX);
	ps.start = text ? text : "";
	ps.end = ps.start + len;
	/* A UTF-8 byte order mark may open the document, and nowhere else. */
	if (len >= 3 && memcmp(ps.start, "\xEF\xBB\xBF", 3) == 0)
		ps.start += 3;
	ps.p = ps.start;

	r = check_utf8(&ps);
	if (r < 0)
		return r;

	_cleanup_(toml_freep) struct toml_value *root = value_new(TOML_TABLE, 1, 1);
	if (!root)
		return out_of_memory(&ps);
	root->origin = TABLE_HEADER;
	root->depth = 1;

	r = parse_document(&ps, root);
	if (ps.c_locale)
		freelocale(ps.c_locale);
	if (r < 0)
		return r;
	*ret = steal_pointer(&root);
	return 0;
}

struct toml_value *toml_parse(const char *text, size_t len, struct toml_error *err)
{
	struct toml_value *root = NULL;
	int r = parse_buffer(text, len, &root, err);

	if (r < 0) {
		errno = -r;
		return NULL;
	}
	return root;
}

static int io_error(struct toml_error *err, int code, const char *what)
{
	if (err) {
		err->line = err->column = 0;
		snprintf(err->msg, sizeof(err->msg), "%s: %s", what, strerror(-code));
	}
	return code;
}

int toml_parse_file(const char *path, struct toml_value **ret, struct toml_error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	_cleanup_free_ char *data = NULL;
	size_t len = 0, cap = 0;

	if (fd < 0)
		return io_error(err, -errno, "cannot open");
	/* Read to EOF rather than trust st_size: pipes and /proc files have none. */
	for (;;) {
		if (len == cap) {
			/* one byte past the limit tells a file of exactly the limit from a bigger one */
			if (cap > TOML_MAX_FILE_SIZE)
				return io_error(err, -EFBIG, "cannot read");
			cap = cap ? 2 * cap : 4096;
			if (cap > TOML_MAX_FILE_SIZE + 1)
				cap = TOML_MAX_FILE_SIZE + 1;
			char *grown = realloc(data, cap);
			if (!grown)
				return io_error(err, -ENOMEM, "cannot read");
			data = grown;
		}
		ssize_t n = read(fd, data + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return io_error(err, -errno, "cannot read");
		if (n == 0)
			break;
		len += (size_t)n;
	}
	return parse_buffer(data, len, ret, err);
}
