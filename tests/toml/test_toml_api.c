/* Unit tests of the TOML parser's C API. */
#include "common/toml.h"

#include "common/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static void toml_freep(struct toml_value **v)
{
	toml_free(*v);
}
#define _cleanup_toml_ _cleanup_(toml_freep)

static struct toml_value *parse_ok(const char *text)
{
	struct toml_error err = {};
	struct toml_value *doc = toml_parse(text, strlen(text), &err);

	if (!doc)
		fail_msg("unexpected parse error: %s\n--- input ---\n%s", err.msg, text);
	return doc;
}

/* Parses text expecting failure; returns the error for inspection. */
static struct toml_error parse_fail(const char *text)
{
	struct toml_error err = {};
	struct toml_value *doc = toml_parse(text, strlen(text), &err);

	if (doc) {
		toml_free(doc);
		fail_msg("parse unexpectedly succeeded:\n%s", text);
	}
	assert_int_equal(errno, EINVAL);
	return err;
}

static void test_nested_lookup(void **state)
{
	(void)state;
	_cleanup_toml_ struct toml_value *doc = parse_ok(
		"title = \"capsa\"\n"
		"[server]\n"
		"listen.address = \"0.0.0.0\"\n"
		"listen.port = 8080\n"
		"[server.tls]\n"
		"enabled = true\n"
		"[[mount]]\n"
		"source = \"/a\"\n"
		"[[mount]]\n"
		"source = \"/b\"\n"
		"options = [\"ro\", \"nosuid\"]\n");

	assert_int_equal(toml_type(doc), TOML_TABLE);
	assert_string_equal(toml_string(toml_table_get(doc, "title")), "capsa");

	const struct toml_value *server = toml_table_get(doc, "server");
	assert_int_equal(toml_type(server), TOML_TABLE);
	const struct toml_value *listen = toml_table_get(server, "listen");
	assert_int_equal(toml_integer(toml_table_get(listen, "port")), 8080);
	assert_int_equal(toml_integer(toml_get_path(doc, "server.listen.port")), 8080);
	assert_true(toml_bool(toml_get_path(doc, "server.tls.enabled")));
	assert_string_equal(toml_string(toml_get_path(doc, "server.listen.address")), "0.0.0.0");

	/* missing keys and paths through non-tables give NULL */
	assert_null(toml_table_get(doc, "nope"));
	assert_null(toml_get_path(doc, "server.listen.port.x"));
	assert_null(toml_get_path(doc, "server..port"));
	assert_null(toml_get_path(doc, "title.x"));

	const struct toml_value *mounts = toml_table_get(doc, "mount");
	assert_int_equal(toml_type(mounts), TOML_ARRAY);
	assert_int_equal(toml_array_size(mounts), 2);
	assert_string_equal(toml_string(toml_table_get(toml_array_at(mounts, 1), "source")), "/b");
	const struct toml_value *options = toml_table_get(toml_array_at(mounts, 1), "options");
	assert_int_equal(toml_array_size(options), 2);
	assert_string_equal(toml_string(toml_array_at(options, 1)), "nosuid");
	assert_null(toml_array_at(options, 2));

	/* keys come back in the order they were defined */
	assert_int_equal(toml_table_size(doc), 3);
	assert_string_equal(toml_table_key_at(doc, 0), "title");
	assert_string_equal(toml_table_key_at(doc, 1), "server");
	assert_string_equal(toml_table_key_at(doc, 2), "mount");
	assert_ptr_equal(toml_table_value_at(doc, 1), server);
	assert_null(toml_table_key_at(doc, 3));
	assert_null(toml_table_value_at(doc, 3));
}

static void test_many_keys_keep_order(void **state)
{
	(void)state;
	enum { N = 2000 };
	size_t size = N * 32;
	_cleanup_free_ char *text = malloc(size);
	size_t len = 0;

	assert_non_null(text);
	/* enough keys to go past the linear scan into the hash index */
	for (int i = 0; i < N; i++)
		len += (size_t)snprintf(text + len, size - len, "key%d = %d\n", (i * 7919) % N, i);

	struct toml_error err = {};
	_cleanup_toml_ struct toml_value *doc = toml_parse(text, len, &err);
	assert_non_null(doc);
	assert_int_equal(toml_table_size(doc), N);
	for (int i = 0; i < N; i++) {
		char key[32];
		snprintf(key, sizeof(key), "key%d", (i * 7919) % N);
		assert_string_equal(toml_table_key_at(doc, (size_t)i), key);
		assert_int_equal(toml_integer(toml_table_get(doc, key)), i);
		assert_int_equal(toml_line(toml_table_get(doc, key)), i + 1);
	}
}

static void test_wrong_type_getters(void **state)
{
	(void)state;
	_cleanup_toml_ struct toml_value *doc = parse_ok(
		"s = \"text\"\n"
		"i = 42\n"
		"f = 1.5\n"
		"b = true\n"
		"d = 1979-05-27\n"
		"a = [1]\n"
		"t = {}\n");
	const struct toml_value *s = toml_table_get(doc, "s");
	const struct toml_value *i = toml_table_get(doc, "i");
	const struct toml_value *f = toml_table_get(doc, "f");
	const struct toml_value *b = toml_table_get(doc, "b");
	const struct toml_value *d = toml_table_get(doc, "d");
	const struct toml_value *a = toml_table_get(doc, "a");
	const struct toml_value *t = toml_table_get(doc, "t");

	assert_int_equal(toml_type(s), TOML_STRING);
	assert_int_equal(toml_type(i), TOML_INTEGER);
	assert_int_equal(toml_type(f), TOML_FLOAT);
	assert_int_equal(toml_type(b), TOML_BOOL);
	assert_int_equal(toml_type(d), TOML_DATE_LOCAL);
	assert_int_equal(toml_type(a), TOML_ARRAY);
	assert_int_equal(toml_type(t), TOML_TABLE);

	/* each getter on the wrong type gives its neutral value */
	assert_null(toml_string(i));
	assert_int_equal(toml_string_len(i), 0);
	assert_int_equal(toml_integer(s), 0);
	assert_int_equal(toml_integer(f), 0);   /* no silent float -> int conversion */
	assert_true(toml_float(i) == 0.0);      /* nor int -> float */
	assert_false(toml_bool(s));
	assert_false(toml_bool(i));
	assert_null(toml_datetime_text(s));
	assert_null(toml_datetime(i));
	assert_int_equal(toml_array_size(t), 0);
	assert_null(toml_array_at(t, 0));
	assert_int_equal(toml_table_size(a), 0);
	assert_null(toml_table_get(a, "x"));
	assert_null(toml_table_get(s, "x"));

	/* NULL is a value of no type */
	assert_int_equal(toml_type(NULL), TOML_NONE);
	assert_null(toml_string(NULL));
	assert_int_equal(toml_integer(NULL), 0);
	assert_null(toml_table_get(NULL, "x"));
	assert_null(toml_table_get(doc, NULL));
	assert_int_equal(toml_line(NULL), 0);

	assert_string_equal(toml_type_name(toml_type(s)), "string");
	assert_string_equal(toml_type_name(TOML_DATETIME), "offset date-time");
	assert_string_equal(toml_type_name((enum toml_type)99), "unknown");
}

static void test_error_positions(void **state)
{
	(void)state;
	struct toml_error err;

	err = parse_fail("a = 1\nb = \"x\\q\"\n");
	assert_int_equal(err.line, 2);
	assert_int_equal(err.column, 7);
	assert_string_equal(err.msg, "line 2, column 7: invalid escape sequence '\\q'");

	/* columns count characters, not bytes: "é" and "日本" are one column each */
	err = parse_fail("k = \"é日本\\q\"\n");
	assert_int_equal(err.line, 1);
	assert_int_equal(err.column, 9);

	err = parse_fail("# comment\n\n[table]\nkey = \n");
	assert_string_equal(err.msg, "line 4, column 7: missing value");

	err = parse_fail("a = [1, 2,\n  3,,]\n");
	assert_int_equal(err.line, 2);
	assert_int_equal(err.column, 5);

	err = parse_fail("s = \"unterminated\n");
	assert_string_equal(err.msg, "line 1, column 5: unterminated string");

	err = parse_fail("x = 1979-02-29\n");
	assert_int_equal(err.line, 1);
	assert_int_equal(err.column, 13);
	assert_non_null(strstr(err.msg, "day 29 is out of range"));

	/* CRLF files count lines the same way */
	err = parse_fail("a = 1\r\nb = 2\r\nc = @\r\n");
	assert_string_equal(err.msg, "line 3, column 5: expected a value, found '@'");

	/* a bare CR is not a newline */
	err = parse_fail("a = 1\rb = 2\n");
	assert_int_equal(err.line, 1);
	assert_int_equal(err.column, 6);

	/* invalid UTF-8 is reported where it is */
	err = parse_fail("a = 1\nb = \"\xC3\x28\"\n");
	assert_string_equal(err.msg, "line 2, column 6: invalid UTF-8 byte 0xC3");

	/* the BOM is not a column */
	err = parse_fail("\xEF\xBB\xBFx = ?\n");
	assert_int_equal(err.column, 5);
}

static void test_integers(void **state)
{
	(void)state;
	_cleanup_toml_ struct toml_value *doc = parse_ok(
		"max = 9223372036854775807\n"
		"min = -9223372036854775808\n"
		"hex = 0x7FFF_FFFF_FFFF_FFFF\n"
		"oct = 0o777\n"
		"bin = 0b1010\n"
		"under = 1_000_000\n"
		"neg0 = -0\n");

	assert_true(toml_integer(toml_table_get(doc, "max")) == INT64_MAX);
	assert_true(toml_integer(toml_table_get(doc, "min")) == INT64_MIN);
	assert_true(toml_integer(toml_table_get(doc, "hex")) == INT64_MAX);
	assert_int_equal(toml_integer(toml_table_get(doc, "oct")), 0777);
	assert_int_equal(toml_integer(toml_table_get(doc, "bin")), 10);
	assert_int_equal(toml_integer(toml_table_get(doc, "under")), 1000000);
	assert_int_equal(toml_integer(toml_table_get(doc, "neg0")), 0);

	struct toml_error err = parse_fail("x = 9223372036854775808\n");
	assert_string_equal(err.msg, "line 1, column 5: integer does not fit in 64 bits");
	parse_fail("x = -9223372036854775809\n");
	parse_fail("x = 0x8000000000000000\n");
	parse_fail("x = 0xFFFFFFFFFFFFFFFF\n");
	parse_fail("x = 0b1" "0000000000000000000000000000000000000000000000000000000000000000\n");
	parse_fail("x = 99999999999999999999999999999999999999\n");
	parse_fail("x = 1__0\n");
	parse_fail("x = 012\n");
	parse_fail("x = +0x10\n");
}

static void test_floats(void **state)
{
	(void)state;
	_cleanup_toml_ struct toml_value *doc = parse_ok(
		"a = 3.14\n"
		"b = -1e-3\n"
		"c = 6.626e-34\n"
		"d = inf\n"
		"e = -inf\n"
		"f = nan\n"
		"g = 1_000.000_1\n"
		"h = 5e+22\n"
		"tiny = 1e-400\n");

	assert_true(toml_float(toml_table_get(doc, "a")) == 3.14);
	assert_true(toml_float(toml_table_get(doc, "b")) == -1e-3);
	assert_true(toml_float(toml_table_get(doc, "c")) == 6.626e-34);
	assert_true(isinf(toml_float(toml_table_get(doc, "d"))) && toml_float(toml_table_get(doc, "d")) > 0);
	assert_true(isinf(toml_float(toml_table_get(doc, "e"))) && toml_float(toml_table_get(doc, "e")) < 0);
	assert_true(isnan(toml_float(toml_table_get(doc, "f"))));
	assert_true(toml_float(toml_table_get(doc, "g")) == 1000.0001);
	assert_true(toml_float(toml_table_get(doc, "h")) == 5e22);
	assert_true(toml_float(toml_table_get(doc, "tiny")) == 0.0);  /* underflow rounds to zero */

	struct toml_error err = parse_fail("x = 1e400\n");
	assert_non_null(strstr(err.msg, "too large"));
	parse_fail("x = 1.\n");
	parse_fail("x = .5\n");
	parse_fail("x = 1e\n");
	parse_fail("x = Inf\n");
	parse_fail("x = 1.5_\n");
}

static void test_floats_ignore_locale(void **state)
{
	(void)state;
	/* A caller may have switched to a locale whose decimal point is ','. */
	const char *locales[] = { "de_DE.UTF-8", "fr_FR.UTF-8", "de_DE", "ru_RU.UTF-8" };
	const char *old = setlocale(LC_NUMERIC, NULL);
	char saved[128];
	bool switched = false;

	/* no heap here: skip() longjmps past any cleanup */
	snprintf(saved, sizeof(saved), "%s", old ? old : "C");
	for (size_t i = 0; i < ARRAY_SIZE(locales) && !switched; i++)
		switched = setlocale(LC_NUMERIC, locales[i]) != NULL;
	if (!switched)
		skip();

	struct toml_value *doc = parse_ok("pi = 3.25\n");
	double pi = toml_float(toml_table_get(doc, "pi"));
	toml_free(doc);
	setlocale(LC_NUMERIC, saved);
	assert_true(pi == 3.25);
}

static void test_duplicates_and_redefinitions(void **state)
{
	(void)state;
	struct toml_error err;

	err = parse_fail("name = \"a\"\nname = \"b\"\n");
	assert_string_equal(err.msg, "line 2, column 1: duplicate key name (first defined at line 1)");
	err = parse_fail("name = 1\n\"name\" = 2\n");
	assert_int_equal(err.line, 2);
	err = parse_fail("a.b = 1\na.b = 2\n");
	assert_non_null(strstr(err.msg, "duplicate key a.b"));
	err = parse_fail("[t]\n[t]\n");
	assert_string_equal(err.msg, "line 2, column 1: table [t] is already defined at line 1");
	err = parse_fail("[t]\nx.y = 1\n[t.x]\n");
	assert_non_null(strstr(err.msg, "dotted keys"));
	err = parse_fail("t = {a = 1}\n[t]\n");
	assert_non_null(strstr(err.msg, "inline table"));
	parse_fail("t = {a = 1}\nt.b = 2\n");
	parse_fail("a = [1]\n[[a]]\n");
	parse_fail("[[a]]\n[a]\n");
	parse_fail("[a.b]\n[a]\nb.c = 1\n");
	parse_fail("a = 1\na.b = 2\n");

	/* and what stays allowed */
	toml_free(parse_ok("[a.b.c]\n[a]\nx = 1\n"));
	toml_free(parse_ok("[fruit]\napple.color = \"red\"\n[fruit.apple.texture]\nsmooth = true\n"));
	toml_free(parse_ok("[[a]]\n[a.b]\n[[a]]\n[a.b]\n"));
}

static void test_value_positions(void **state)
{
	(void)state;
	_cleanup_toml_ struct toml_value *doc = parse_ok(
		"# header comment\n"
		"top = 1\n"
		"\n"
		"[section]\n"
		"  nested.key = \"v\"\n"
		"list = [\n"
		"  10,\n"
		"  20,\n"
		"]\n"
		"[[items]]\n"
		"[[items]]\n");

	const struct toml_value *top = toml_table_get(doc, "top");
	assert_int_equal(toml_line(top), 2);
	assert_int_equal(toml_column(top), 1);
	const struct toml_value *section = toml_table_get(doc, "section");
	assert_int_equal(toml_line(section), 4);
	const struct toml_value *key = toml_get_path(doc, "section.nested.key");
	assert_int_equal(toml_line(key), 5);
	assert_int_equal(toml_column(key), 3);
	assert_int_equal(toml_line(toml_get_path(doc, "section.nested")), 5);
	const struct toml_value *list = toml_get_path(doc, "section.list");
	assert_int_equal(toml_line(list), 6);
	assert_int_equal(toml_line(toml_array_at(list, 1)), 8);
	assert_int_equal(toml_column(toml_array_at(list, 1)), 3);
	const struct toml_value *items = toml_get_path(doc, "section.items");
	assert_null(items);  /* [[items]] is a top-level table array */
	items = toml_table_get(doc, "items");
	assert_int_equal(toml_line(toml_array_at(items, 0)), 10);
	assert_int_equal(toml_line(toml_array_at(items, 1)), 11);
}

static void test_strings(void **state)
{
	(void)state;
	_cleanup_toml_ struct toml_value *doc = parse_ok(
		"nul = \"a\\u0000b\"\n"
		"esc = \"tab\\there \\\"q\\\" \\U0001F600 \\u00e9\"\n"
		"lit = 'C:\\path'\n"
		"ml = \"\"\"\n"
		"one\\\n"
		"     two\r\n"
		"three\"\"\"\"\"\n"
		"mll = '''\n"
		"raw \\n'''\n"
		"\"key\\u0000x\" = 1\n");

	const struct toml_value *nul = toml_table_get(doc, "nul");
	assert_int_equal(toml_string_len(nul), 3);
	assert_memory_equal(toml_string(nul), "a\0b", 4);
	assert_string_equal(toml_string(toml_table_get(doc, "esc")), "tab\there \"q\" \xF0\x9F\x98\x80 \xC3\xA9");
	assert_string_equal(toml_string(toml_table_get(doc, "lit")), "C:\\path");
	/* the first newline is trimmed, a line-ending backslash eats whitespace,
	 * CRLF reads as LF, two quotes may precede the closing delimiter */
	assert_string_equal(toml_string(toml_table_get(doc, "ml")), "onetwo\nthree\"\"");
	assert_string_equal(toml_string(toml_table_get(doc, "mll")), "raw \\n");

	/* keys with NUL are reachable by length */
	assert_int_equal(toml_table_key_len_at(doc, 5), 5);
	assert_non_null(toml_table_getn(doc, "key\0x", 5));
	assert_null(toml_table_get(doc, "key"));

	struct toml_error err = parse_fail("s = \"\\uD800\"\n");
	assert_non_null(strstr(err.msg, "surrogate"));
	parse_fail("s = \"\\U00110000\"\n");
	parse_fail("s = \"\\u12\"\n");
	parse_fail("s = \"a\tb\x01\"\n");
	parse_fail("s = 'a\x7f'\n");
	parse_fail("\"\"\"key\"\"\" = 1\n");
}

static void test_datetimes(void **state)
{
	(void)state;
	_cleanup_toml_ struct toml_value *doc = parse_ok(
		"odt = 1979-05-27 07:32:00.999999999999z\n"
		"off = 1979-05-27T00:32:00-07:30\n"
		"ldt = 1979-05-27t07:32:00\n"
		"ld = 2024-02-29\n"
		"lt = 23:59:60.5\n"
		"y2k = 2000-02-29\n");

	const struct toml_value *odt = toml_table_get(doc, "odt");
	assert_int_equal(toml_type(odt), TOML_DATETIME);
	/* normalised, fraction truncated to nanoseconds */
	assert_string_equal(toml_datetime_text(odt), "1979-05-27T07:32:00.999999999Z");
	assert_int_equal(toml_datetime(odt)->nanosecond, 999999999);
	assert_int_equal(toml_datetime(odt)->offset_minutes, 0);

	const struct toml_value *off = toml_table_get(doc, "off");
	assert_string_equal(toml_datetime_text(off), "1979-05-27T00:32:00-07:30");
	assert_int_equal(toml_datetime(off)->offset_minutes, -450);

	const struct toml_value *ldt = toml_table_get(doc, "ldt");
	assert_int_equal(toml_type(ldt), TOML_DATETIME_LOCAL);
	assert_string_equal(toml_datetime_text(ldt), "1979-05-27T07:32:00");

	const struct toml_value *ld = toml_table_get(doc, "ld");
	assert_int_equal(toml_type(ld), TOML_DATE_LOCAL);
	assert_int_equal(toml_datetime(ld)->year, 2024);
	assert_int_equal(toml_datetime(ld)->month, 2);
	assert_int_equal(toml_datetime(ld)->day, 29);

	const struct toml_value *lt = toml_table_get(doc, "lt");
	assert_int_equal(toml_type(lt), TOML_TIME_LOCAL);
	assert_string_equal(toml_datetime_text(lt), "23:59:60.5");
	assert_int_equal(toml_datetime(lt)->nanosecond, 500000000);

	parse_fail("d = 2023-02-29\n");
	parse_fail("d = 1900-02-29\n");
	parse_fail("d = 2023-04-31\n");
	parse_fail("d = 2023-13-01\n");
	parse_fail("d = 24:00:00\n");
	parse_fail("d = 12:00\n");
	parse_fail("d = 2023-01-01T12:00:00+24:00\n");
	parse_fail("d = 2023-01-01T\n");
}

static void test_depth_limit(void **state)
{
	(void)state;
	/* the root is level 1, so 127 nested arrays fit and 128 do not */
	for (int n = 126; n <= 129; n++) {
		char text[600];
		size_t len = (size_t)snprintf(text, sizeof(text), "a = ");
		for (int i = 0; i < n; i++)
			text[len++] = '[';
		for (int i = 0; i < n; i++)
			text[len++] = ']';
		text[len++] = '\n';

		struct toml_error err = {};
		struct toml_value *doc = toml_parse(text, len, &err);
		if (n <= TOML_MAX_DEPTH - 1) {
			assert_non_null(doc);
			toml_free(doc);
		} else {
			assert_null(doc);
			assert_non_null(strstr(err.msg, "nesting deeper than 128 levels"));
		}
	}

	/* huge nesting fails fast instead of overflowing the stack */
	enum { HUGE = 1 << 20 };
	_cleanup_free_ char *deep = malloc(HUGE);
	assert_non_null(deep);
	memcpy(deep, "x = ", 4);
	memset(deep + 4, '{', HUGE - 4);
	struct toml_error err = {};
	assert_null(toml_parse(deep, HUGE, &err));
	memset(deep + 4, '[', HUGE - 4);
	assert_null(toml_parse(deep, HUGE, &err));

	/* tables count too, whether from headers or dotted keys */
	char header[1024] = "[";
	for (int i = 0; i < 128; i++)
		strcat(header, i ? ".t" : "t");
	strcat(header, "]\n");
	assert_null(toml_parse(header, strlen(header), &err));
	assert_non_null(strstr(err.msg, "nesting"));
}

static void test_not_nul_terminated(void **state)
{
	(void)state;
	/* the parser must stop at len: each prefix is parsed from an exact-size copy */
	const char *text = "a = \"str\"\nb = [1, 2]\nc = 1979-05-27T07:32:00Z\nd = '''x'''\n";
	size_t len = strlen(text);

	for (size_t n = 0; n <= len; n++) {
		char *copy = malloc(n ? n : 1);
		assert_non_null(copy);
		memcpy(copy, text, n);
		struct toml_error err = {};
		struct toml_value *doc = toml_parse(copy, n, &err);
		toml_free(doc);
		free(copy);
	}

	struct toml_error err = {};
	_cleanup_toml_ struct toml_value *doc = toml_parse("x = 12345", 5, &err);
	assert_non_null(doc);
	assert_int_equal(toml_integer(toml_table_get(doc, "x")), 1);

	_cleanup_toml_ struct toml_value *empty = toml_parse(NULL, 0, &err);
	assert_non_null(empty);
	assert_int_equal(toml_table_size(empty), 0);
}

static void test_long_inputs_stay_linear(void **state)
{
	(void)state;
	/* one long line of many values: column bookkeeping must not go quadratic */
	enum { N = 200000 };
	size_t size = 8 + (size_t)N * 3;
	_cleanup_free_ char *text = malloc(size);
	size_t len = 0;

	assert_non_null(text);
	len += (size_t)snprintf(text, size, "a = [");
	for (int i = 0; i < N; i++) {
		memcpy(text + len, "1, ", 3);
		len += 3;
	}
	text[len++] = ']';

	struct toml_error err = {};
	_cleanup_toml_ struct toml_value *doc = toml_parse(text, len, &err);
	assert_non_null(doc);
	const struct toml_value *a = toml_table_get(doc, "a");
	assert_int_equal(toml_array_size(a), N);
	assert_int_equal(toml_column(toml_array_at(a, N - 1)), 6 + (N - 1) * 3);
}

static void test_merge(void **state)
{
	(void)state;
	_cleanup_toml_ struct toml_value *main_doc = parse_ok(
		"log = \"info\"\n"
		"[net]\n"
		"dns = [\"1.1.1.1\"]\n"
		"mtu = 1500\n");
	struct toml_value *dropin = parse_ok(
		"[net]\n"
		"mtu = 9000\n"
		"dns = [\"9.9.9.9\", \"8.8.8.8\"]\n"
		"[extra]\n"
		"x = true\n");

	assert_int_equal(toml_table_merge(main_doc, dropin), 0);
	assert_string_equal(toml_string(toml_table_get(main_doc, "log")), "info");
	assert_int_equal(toml_integer(toml_get_path(main_doc, "net.mtu")), 9000);
	/* the drop-in's line comes along with its value */
	assert_int_equal(toml_line(toml_get_path(main_doc, "net.mtu")), 2);
	/* arrays are replaced, not appended to */
	const struct toml_value *dns = toml_get_path(main_doc, "net.dns");
	assert_int_equal(toml_array_size(dns), 2);
	assert_string_equal(toml_string(toml_array_at(dns, 0)), "9.9.9.9");
	/* dst keeps its key order; new keys go last */
	assert_string_equal(toml_table_key_at(toml_table_get(main_doc, "net"), 0), "dns");
	assert_string_equal(toml_table_key_at(main_doc, 2), "extra");
	assert_true(toml_bool(toml_get_path(main_doc, "extra.x")));

	/* src is consumed even on error */
	struct toml_value *not_table = parse_ok("a = 1\n");
	assert_int_equal(toml_table_merge((struct toml_value *)toml_table_get(not_table, "a"), parse_ok("")), -EINVAL);
	toml_free(not_table);
	assert_int_equal(toml_table_merge(NULL, NULL), -EINVAL);
}

static void test_parse_file(void **state)
{
	(void)state;
	char path[] = "/tmp/test-toml-api-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *text = "[a]\nb = 1\nc = @\n";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);

	struct toml_value *doc = NULL;
	struct toml_error err = {};
	assert_int_equal(toml_parse_file(path, &doc, &err), -EINVAL);
	assert_null(doc);
	assert_int_equal(err.line, 3);
	assert_string_equal(err.msg, "line 3, column 5: expected a value, found '@'");

	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	assert_true(fd >= 0);
	text = "[a]\nb = 1\n";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(toml_parse_file(path, &doc, &err), 0);
	assert_int_equal(toml_integer(toml_get_path(doc, "a.b")), 1);
	toml_free(doc);
	unlink(path);

	memset(&err, 0, sizeof(err));
	assert_int_equal(toml_parse_file("/nonexistent/capsa.toml", &doc, &err), -ENOENT);
	assert_int_equal(err.line, 0);
	assert_non_null(strstr(err.msg, "No such file"));

	/* endless input stops at the size limit */
	assert_int_equal(toml_parse_file("/dev/zero", &doc, &err), -EFBIG);

	/* a NULL error struct is allowed */
	assert_int_equal(toml_parse_file("/nonexistent/capsa.toml", &doc, NULL), -ENOENT);
	assert_null(toml_parse("x = ", 4, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nested_lookup),
		cmocka_unit_test(test_many_keys_keep_order),
		cmocka_unit_test(test_wrong_type_getters),
		cmocka_unit_test(test_error_positions),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_floats),
		cmocka_unit_test(test_floats_ignore_locale),
		cmocka_unit_test(test_duplicates_and_redefinitions),
		cmocka_unit_test(test_value_positions),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_datetimes),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_not_nul_terminated),
		cmocka_unit_test(test_long_inputs_stay_linear),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_parse_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
