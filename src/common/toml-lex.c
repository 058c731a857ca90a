/* The TOML lexer: positions and errors, UTF-8, whitespace, comments, strings. */
#include "common/toml-internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void locate(struct parser *ps, const char *at, int *line, int *column)
{
	/* Positions are asked for in input order, so resume from the last one;
	 * only an error may look back, and then a rescan is affordable. */
	if (!ps->located_at || at < ps->located_at) {
		ps->located_at = ps->start;
		ps->located_line = 1;
		ps->located_column = 1;
	}
	for (const char *q = ps->located_at; q < at; q++) {
		if (*q == '\n') {
			ps->located_line++;
			ps->located_column = 1;
		} else if (((unsigned char)*q & 0xC0) != 0x80) {
			ps->located_column++;  /* count characters, not UTF-8 bytes */
		}
	}
	ps->located_at = at;
	*line = ps->located_line;
	*column = ps->located_column;
}

int parse_error(struct parser *ps, const char *at, int code, const char *fmt, ...)
{
	struct toml_error *err = ps->err;

	if (!err)
		return code;

	char what[sizeof(err->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);

	if (!at) {
		err->line = err->column = 0;
		snprintf(err->msg, sizeof(err->msg), "%s", what);
		return code;
	}
	locate(ps, at, &err->line, &err->column);
	/* msg has room for the prefix plus what; cut what, not the position */
	int n = snprintf(err->msg, sizeof(err->msg), "line %d, column %d: ", err->line, err->column);
	if (n > 0 && (size_t)n < sizeof(err->msg)) {
		size_t room = sizeof(err->msg) - (size_t)n - 1;
		size_t len = strnlen(what, room);
		memcpy(err->msg + n, what, len);
		err->msg[(size_t)n + len] = '\0';
	}
	return code;
}

/* Length of the UTF-8 sequence at q, or 0 when it is not valid UTF-8. */
static size_t utf8_sequence(const unsigned char *q, const unsigned char *end)
{
	unsigned char c = q[0];
	size_t need;
	unsigned char lo = 0x80, hi = 0xBF;  /* allowed range of the second byte */

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		need = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 3;
		if (c == 0xE0)
			lo = 0xA0;  /* overlong */
		else if (c == 0xED)
			hi = 0x9F;  /* UTF-16 surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 4;
		if (c == 0xF0)
			lo = 0x90;  /* overlong */
		else if (c == 0xF4)
			hi = 0x8F;  /* beyond U+10FFFF */
	} else {
		return 0;
	}
	if ((size_t)(end - q) < need || q[1] < lo || q[1] > hi)
		return 0;
	for (size_t i = 2; i < need; i++)
		if ((q[i] & 0xC0) != 0x80)
			return 0;
	return need;
}

int check_utf8(struct parser *ps)
{
	const unsigned char *q = (const unsigned char *)ps->start;
	const unsigned char *end = (const unsigned char *)ps->end;

	while (q < end) {
		size_t n = utf8_sequence(q, end);
		if (!n)
			return parse_error(ps, (const char *)q, -EINVAL,
					   "invalid UTF-8 byte 0x%02X", q[0]);
		q += n;
	}
	return 0;
}

static uint32_t decode_utf8(const unsigned char *q, size_t n)
{
	static const unsigned char lead_mask[] = { 0, 0x7F, 0x1F, 0x0F, 0x07 };
	uint32_t cp = q[0] & lead_mask[n];

	for (size_t i = 1; i < n; i++)
		cp = (cp << 6) | (q[i] & 0x3F);
	return cp;
}

void describe_char(const char *at, const char *end, char *buf, size_t size)
{
	const unsigned char *q = (const unsigned char *)at;

	if (at >= end) {
		snprintf(buf, size, "end of input");
		return;
	}
	if (*q == '\n') {
		snprintf(buf, size, "a newline");
	} else if (*q == '\r') {
		snprintf(buf, size, "a carriage return");
	} else if (*q == '\t') {
		snprintf(buf, size, "a tab");
	} else if (*q >= 0x20 && *q < 0x7F) {
		snprintf(buf, size, "'%c'", *q);
	} else {
		size_t n = utf8_sequence(q, (const unsigned char *)end);
		if (!n)
			snprintf(buf, size, "byte 0x%02X", *q);
		else if (n == 1)
			snprintf(buf, size, "control character U+%04X", *q);
		else
			snprintf(buf, size, "'%.*s' (U+%04X)", (int)n, at, (unsigned)decode_utf8(q, n));
	}
}

bool is_bare_key_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

void describe_key(const char *key, size_t len, char *buf, size_t size)
{
	/* Bare keys print as they are, others quoted; long keys are cut. */
	enum { MAX_SHOWN = 64 };
	bool bare = len > 0;
	size_t o = 0;

	for (size_t i = 0; i < len; i++)
		if (!is_bare_key_char(key[i]))
			bare = false;
	if (!bare && o + 1 < size)
		buf[o++] = '"';
	for (size_t i = 0; i < len && o + 8 < size; i++) {
		unsigned char c = (unsigned char)key[i];
		if (i == MAX_SHOWN) {
			o += (size_t)snprintf(buf + o, size - o, "...");
			break;
		}
		if (c < 0x20 || c == 0x7F)
			o += (size_t)snprintf(buf + o, size - o, "\\u%04X", c);
		else if (c == '"' || c == '\\')
			o += (size_t)snprintf(buf + o, size - o, "\\%c", c);
		else
			buf[o++] = (char)c;
	}
	if (!bare && o + 1 < size)
		buf[o++] = '"';
	if (size)
		buf[o < size ? o : size - 1] = '\0';
}

void skip_blank(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
		ps->p++;
}

bool at_newline(const struct parser *ps)
{
	const char *p = ps->p;

	return p < ps->end && (*p == '\n' || (*p == '\r' && ps->end - p >= 2 && p[1] == '\n'));
}

/* TOML forbids these in strings and comments: C0 controls but tab, and DEL. */
static bool is_forbidden_control(char c)
{
	return ((unsigned char)c < 0x20 && c != '\t') || c == 0x7F;
}

int skip_comment(struct parser *ps)
{
	/* ps->p is on the '#'; stop before the newline */
	for (ps->p++; ps->p < ps->end && !at_newline(ps); ps->p++) {
		if (is_forbidden_control(*ps->p)) {
			char what[64];
			describe_char(ps->p, ps->end, what, sizeof(what));
			return parse_error(ps, ps->p, -EINVAL, "%s is not allowed in a comment", what);
		}
	}
	return 0;
}

static int strbuf_add(struct parser *ps, struct strbuf *sb, const char *data, size_t n)
{
	if (sb->len + n + 1 > sb->cap) {
		size_t cap = sb->cap ? sb->cap : 32;
		while (cap < sb->len + n + 1)
			cap *= 2;
		char *grown = realloc(sb->data, cap);
		if (!grown)
			return parse_error(ps, NULL, -ENOMEM, "out of memory");
		sb->data = grown;
		sb->cap = cap;
	}
	memcpy(sb->data + sb->len, data, n);
	sb->len += n;
	sb->data[sb->len] = '\0';
	return 0;
}

static int unterminated(struct parser *ps, const char *open, bool multiline)
{
	return parse_error(ps, open, -EINVAL, "unterminated %sstring", multiline ? "multi-line " : "");
}

static int control_in_string(struct parser *ps, const char *at)
{
	char what[64];

	describe_char(at, ps->end, what, sizeof(what));
	return parse_error(ps, at, -EINVAL, "%s is not allowed in a string", what);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int add_codepoint(struct parser *ps, struct strbuf *out, uint32_t cp)
{
	char utf8[4];
	size_t n;

	if (cp < 0x80) {
		utf8[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		utf8[0] = (char)(0xC0 | (cp >> 6));
		utf8[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		utf8[0] = (char)(0xE0 | (cp >> 12));
		utf8[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		utf8[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		utf8[0] = (char)(0xF0 | (cp >> 18));
		utf8[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		utf8[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		utf8[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	return strbuf_add(ps, out, utf8, n);
}

/* *q is on a backslash in a basic string; decodes one escape and moves past it. */
static int scan_escape(struct parser *ps, const char **q, struct strbuf *out)
{
	const char *slash = *q;
	static const char simple_from[] = "btnfr\"\\";
	static const char simple_to[] = "\b\t\n\f\r\"\\";

	if (ps->end - slash < 2)
		return parse_error(ps, slash, -EINVAL, "incomplete escape sequence at end of input");

	char kind = slash[1];
	const char *simple = kind ? strchr(simple_from, kind) : NULL;
	if (simple) {
		*q = slash + 2;
		return strbuf_add(ps, out, &simple_to[simple - simple_from], 1);
	}
	if (kind != 'u' && kind != 'U') {
		if (kind > 0x20 && kind < 0x7F)
			return parse_error(ps, slash, -EINVAL, "invalid escape sequence '\\%c'", kind);
		char what[64];
		describe_char(slash + 1, ps->end, what, sizeof(what));
		return parse_error(ps, slash, -EINVAL, "invalid escape sequence: backslash followed by %s", what);
	}

	int digits = kind == 'u' ? 4 : 8;
	uint32_t cp = 0;
	for (int i = 0; i < digits; i++) {
		const char *h = slash + 2 + i;
		int d = h < ps->end ? hex_digit(*h) : -1;
		if (d < 0)
			return parse_error(ps, slash, -EINVAL, "'\\%c' must be followed by %d hexadecimal digits",
					   kind, digits);
		cp = (cp << 4) | (uint32_t)d;
	}
	if (cp >= 0xD800 && cp <= 0xDFFF)
		return parse_error(ps, slash, -EINVAL, "escape '\\%c%0*X' is a UTF-16 surrogate, not a character",
				   kind, digits, (unsigned)cp);
	if (cp > 0x10FFFF)
		return parse_error(ps, slash, -EINVAL, "escape '\\%c%0*X' is beyond U+10FFFF",
				   kind, digits, (unsigned)cp);
	*q = slash + 2 + digits;
	return add_codepoint(ps, out, cp);
}

/* Single-line basic or literal string; ps->p is just past the opening quote. */
static int scan_single_line(struct parser *ps, const char *open, struct strbuf *out)
{
	char quote = *open;
	const char *q = ps->p, *run = q;

	for (;;) {
		if (q == ps->end || *q == '\n' || (*q == '\r' && ps->end - q >= 2 && q[1] == '\n'))
			return unterminated(ps, open, false);
		if (*q == quote) {
			int r = strbuf_add(ps, out, run, (size_t)(q - run));
			ps->p = q + 1;
			return r;
		}
		if (*q == '\\' && quote == '"') {
			int r = strbuf_add(ps, out, run, (size_t)(q - run));
			if (r < 0)
				return r;
			r = scan_escape(ps, &q, out);
			if (r < 0)
				return r;
			run = q;
			continue;
		}
		if (is_forbidden_control(*q))
			return control_in_string(ps, q);
		q++;
	}
}

/* Multi-line basic or literal string; ps->p is past the opening delimiter. */
static int scan_multi_line(struct parser *ps, const char *open, struct strbuf *out)
{
	char quote = *open;
	const char *q = ps->p, *run = q;
	int r;

	for (;;) {
		if (q == ps->end)
			return unterminated(ps, open, true);

		if (*q == quote) {
			size_t n = 0;
			while (q + n < ps->end && q[n] == quote)
				n++;
			if (n < 3) {
				q += n;  /* one or two quotes are content */
				continue;
			}
			/* Up to two quotes may sit just inside the closing delimiter. */
			if (n > 5)
				return parse_error(ps, q, -EINVAL, "%zu quotes in a row: at most 5 may end a multi-line string", n);
			r = strbuf_add(ps, out, run, (size_t)(q - run) + n - 3);
			ps->p = q + n;
			return r;
		}

		if (*q == '\\' && quote == '"') {
			r = strbuf_add(ps, out, run, (size_t)(q - run));
			if (r < 0)
				return r;
			/* A backslash ending a line swallows all whitespace and newlines after it. */
			const char *after = q + 1;
			while (after < ps->end && (*after == ' ' || *after == '\t'))
				after++;
			if (after < ps->end && (*after == '\n' || (*after == '\r' && ps->end - after >= 2 && after[1] == '\n'))) {
				while (after < ps->end && (*after == ' ' || *after == '\t' || *after == '\n' ||
							   (*after == '\r' && ps->end - after >= 2 && after[1] == '\n')))
					after++;
				q = run = after;
				continue;
			}
			r = scan_escape(ps, &q, out);
			if (r < 0)
				return r;
			run = q;
			continue;
		}

		if (*q == '\r' && ps->end - q >= 2 && q[1] == '\n') {
			/* CRLF reads as LF, so values do not depend on how the file was saved */
			r = strbuf_add(ps, out, run, (size_t)(q - run));
			if (r < 0)
				return r;
			r = strbuf_add(ps, out, "\n", 1);
			if (r < 0)
				return r;
			q += 2;
			run = q;
			continue;
		}
		if (*q != '\n' && is_forbidden_control(*q))
			return control_in_string(ps, q);
		q++;
	}
}

int scan_string(struct parser *ps, bool allow_multiline, struct strbuf *out)
{
	const char *open = ps->p;
	char quote = *open;
	bool multiline = ps->end - open >= 3 && open[1] == quote && open[2] == quote;

	int r = strbuf_add(ps, out, "", 0);  /* even "" gets a buffer */
	if (r < 0)
		return r;
	if (!multiline) {
		ps->p = open + 1;
		return scan_single_line(ps, open, out);
	}
	if (!allow_multiline)
		return parse_error(ps, open, -EINVAL, "a multi-line string cannot be a key");
	ps->p = open + 3;
	/* A newline right after the opening delimiter is not part of the string. */
	if (at_newline(ps))
		ps->p += *ps->p == '\r' ? 2 : 1;
	return scan_multi_line(ps, open, out);
}
