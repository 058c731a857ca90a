/* Bare TOML scalars: booleans, integers, floats, dates and times. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE  /* strtod_l */
#endif

#include "common/toml-internal.h"

#include "common/cleanup.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_digit_in_base(char c, int base)
{
	switch (base) {
	case 2:
		return c == '0' || c == '1';
	case 8:
		return c >= '0' && c <= '7';
	case 16:
		return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
	default:
		return is_digit(c);
	}
}

static int digit_value(char c)
{
	if (is_digit(c))
		return c - '0';
	return (c | 0x20) - 'a' + 10;
}

/* The characters a number, boolean, inf or nan can be made of. */
static bool is_token_char(char c)
{
	return is_bare_key_char(c) || c == '.' || c == '+';
}

static int bad_char(struct parser *ps, const char *at, const char *where)
{
	char what[64];

	describe_char(at, ps->end, what, sizeof(what));
	return parse_error(ps, at, -EINVAL, "unexpected %s in %s", what, where);
}

/*
 * Digits with single underscores between them: digit *( [_] digit ).
 * *q is where they start; on success it is moved past them.
 */
static int scan_digits(struct parser *ps, const char **q, const char *end, int base, const char *where)
{
	const char *s = *q;

	if (s == end || !is_digit_in_base(*s, base)) {
		if (s < end && *s == '_')
			return parse_error(ps, s, -EINVAL, "an underscore in %s must be between digits", where);
		return parse_error(ps, s, -EINVAL, "expected a digit in %s", where);
	}
	while (s < end) {
		if (is_digit_in_base(*s, base)) {
			s++;
		} else if (*s == '_') {
			if (s + 1 == end || !is_digit_in_base(s[1], base))
				return parse_error(ps, s, -EINVAL, "an underscore in %s must be between digits", where);
			s++;
		} else {
			break;
		}
	}
	*q = s;
	return 0;
}

/* Value of validated digits (underscores skipped); -ERANGE past 64 bits. */
static int digits_value(const char *s, const char *end, int base, uint64_t limit, uint64_t *ret)
{
	uint64_t v = 0;

	for (; s < end; s++) {
		if (*s == '_')
			continue;
		uint64_t d = (uint64_t)digit_value(*s);
		if (v > (limit - d) / (uint64_t)base)
			return -ERANGE;
		v = v * (uint64_t)base + d;
	}
	*ret = v;
	return 0;
}

static int scan_prefixed_integer(struct parser *ps, const char *start, const char *end, struct toml_value *v)
{
	/* start is on the "0x", "0o" or "0b" */
	int base = start[1] == 'x' ? 16 : start[1] == 'o' ? 8 : 2;
	const char *where = base == 16 ? "a hexadecimal integer" : base == 8 ? "an octal integer" : "a binary integer";
	const char *q = start + 2;
	uint64_t magnitude;

	int r = scan_digits(ps, &q, end, base, where);
	if (r < 0)
		return r;
	if (q != end)
		return bad_char(ps, q, where);
	if (digits_value(start + 2, end, base, INT64_MAX, &magnitude) < 0)
		return parse_error(ps, start, -EINVAL, "integer does not fit in 64 bits");
	v->type = TOML_INTEGER;
	v->u.integer = (int64_t)magnitude;
	return 0;
}

static int scan_float_value(struct parser *ps, const char *start, const char *end, struct toml_value *v)
{
	/* strtod wants the digits without underscores */
	_cleanup_free_ char *plain = malloc((size_t)(end - start) + 1);
	size_t n = 0;

	if (!plain)
		return parse_error(ps, NULL, -ENOMEM, "out of memory");
	for (const char *s = start; s < end; s++)
		if (*s != '_')
			plain[n++] = *s;
	plain[n] = '\0';

	if (!ps->c_locale) {
		ps->c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
		if (!ps->c_locale)
			return parse_error(ps, NULL, -ENOMEM, "out of memory");
	}
	errno = 0;
	double d = strtod_l(plain, NULL, ps->c_locale);
	/* underflow to a subnormal or zero is fine, overflow to infinity is not */
	if (errno == ERANGE && isinf(d))
		return parse_error(ps, start, -EINVAL, "float is too large for 64 bits");
	v->type = TOML_FLOAT;
	v->u.floating = d;
	return 0;
}

static int scan_number(struct parser *ps, const char *start, const char *end, struct toml_value *v)
{
	const char *q = start;
	bool negative = false, has_sign = false;

	if (*q == '+' || *q == '-') {
		negative = *q == '-';
		has_sign = true;
		q++;
	}
	if (end - q == 3 && (memcmp(q, "inf", 3) == 0 || memcmp(q, "nan", 3) == 0)) {
		v->type = TOML_FLOAT;
		v->u.floating = q[0] == 'i' ? INFINITY : NAN;
		if (negative)
			v->u.floating = -v->u.floating;
		return 0;
	}
	if (q == end || !is_digit(*q)) {
		if (q < end && *q == '_')
			return parse_error(ps, q, -EINVAL, "a number cannot start with an underscore");
		return parse_error(ps, start, -EINVAL, "invalid value '%.*s'",
				   (int)(end - start > 40 ? 40 : end - start), start);
	}
	if (q[0] == '0' && end - q >= 2 && (q[1] == 'x' || q[1] == 'o' || q[1] == 'b')) {
		if (has_sign)
			return parse_error(ps, start, -EINVAL, "a sign is not allowed on hexadecimal, octal or binary integers");
		return scan_prefixed_integer(ps, q, end, v);
	}

	const char *digits = q;
	int r = scan_digits(ps, &q, end, 10, "a number");
	if (r < 0)
		return r;
	if (digits[0] == '0' && q - digits > 1)
		return parse_error(ps, digits, -EINVAL, "leading zeros are not allowed in numbers");

	bool is_float = false;
	if (q < end && *q == '.') {
		is_float = true;
		q++;
		r = scan_digits(ps, &q, end, 10, "the fraction of a float");
		if (r < 0)
			return r;
	}
	if (q < end && (*q == 'e' || *q == 'E')) {
		is_float = true;
		q++;
		if (q < end && (*q == '+' || *q == '-'))
			q++;
		r = scan_digits(ps, &q, end, 10, "the exponent of a float");
		if (r < 0)
			return r;
	}
	if (q != end)
		return bad_char(ps, q, "a number");
	if (is_float)
		return scan_float_value(ps, start, end, v);

	uint64_t magnitude;
	uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	if (digits_value(digits, end, 10, limit, &magnitude) < 0)
		return parse_error(ps, start, -EINVAL, "integer does not fit in 64 bits");
	v->type = TOML_INTEGER;
	/* negate in unsigned arithmetic: -(2^63) has no positive counterpart */
	v->u.integer = negative ? (int64_t)(0 - magnitude) : (int64_t)magnitude;
	return 0;
}

/* Two or four digits at q, all inside the input; -1 when they are not there. */
static int fixed_digits(const struct parser *ps, const char *q, int count)
{
	int v = 0;

	if (ps->end - q < count)
		return -1;
	for (int i = 0; i < count; i++) {
		if (!is_digit(q[i]))
			return -1;
		v = v * 10 + (q[i] - '0');
	}
	return v;
}

static bool char_at(const struct parser *ps, const char *q, char c)
{
	return q < ps->end && *q == c;
}

static int days_in_month(int year, int month)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

static int scan_date(struct parser *ps, const char *q, struct toml_datetime *dt)
{
	dt->year = fixed_digits(ps, q, 4);
	dt->month = char_at(ps, q + 4, '-') ? fixed_digits(ps, q + 5, 2) : -1;
	dt->day = char_at(ps, q + 7, '-') ? fixed_digits(ps, q + 8, 2) : -1;
	if (dt->year < 0 || dt->month < 0 || dt->day < 0)
		return parse_error(ps, q, -EINVAL, "invalid date, expected YYYY-MM-DD");
	if (dt->month < 1 || dt->month > 12)
		return parse_error(ps, q + 5, -EINVAL, "month %02d is out of range", dt->month);
	if (dt->day < 1 || dt->day > days_in_month(dt->year, dt->month))
		return parse_error(ps, q + 8, -EINVAL, "day %02d is out of range for %04d-%02d",
				   dt->day, dt->year, dt->month);
	return 0;
}

/* HH:MM:SS[.fraction]; *q is moved past it, the fraction's digits land in frac. */
static int scan_time(struct parser *ps, const char **q, struct toml_datetime *dt, char frac[10])
{
	const char *s = *q;

	dt->hour = fixed_digits(ps, s, 2);
	dt->minute = char_at(ps, s + 2, ':') ? fixed_digits(ps, s + 3, 2) : -1;
	dt->second = char_at(ps, s + 5, ':') ? fixed_digits(ps, s + 6, 2) : -1;
	if (dt->hour < 0 || dt->minute < 0 || dt->second < 0)
		return parse_error(ps, s, -EINVAL, "invalid time, expected HH:MM:SS");
	if (dt->hour > 23)
		return parse_error(ps, s, -EINVAL, "hour %02d is out of range", dt->hour);
	if (dt->minute > 59)
		return parse_error(ps, s + 3, -EINVAL, "minute %02d is out of range", dt->minute);
	if (dt->second > 60)  /* 60: a leap second, as RFC 3339 allows */
		return parse_error(ps, s + 6, -EINVAL, "second %02d is out of range", dt->second);
	s += 8;

	frac[0] = '\0';
	dt->nanosecond = 0;
	if (char_at(ps, s, '.')) {
		const char *digits = ++s;
		while (s < ps->end && is_digit(*s))
			s++;
		if (s == digits)
			return parse_error(ps, digits, -EINVAL, "expected digits after '.' in a time");
		/* Beyond nanoseconds the spec asks to truncate, not round. */
		size_t kept = (size_t)(s - digits) > 9 ? 9 : (size_t)(s - digits);
		memcpy(frac, digits, kept);
		frac[kept] = '\0';
		for (size_t i = 0; i < 9; i++)
			dt->nanosecond = dt->nanosecond * 10 + (i < kept ? digits[i] - '0' : 0);
	}
	*q = s;
	return 0;
}

static char *put_number(char *o, int v, int width)
{
	for (int i = width - 1; i >= 0; i--, v /= 10)
		o[i] = (char)('0' + v % 10);
	return o + width;
}

/* The normalised text: 'T' between date and time, 'Z' upper case. */
static void format_datetime(struct toml_value *v, const char *frac, bool zulu)
{
	const struct toml_datetime *dt = &v->u.datetime.parts;
	char *o = v->u.datetime.text;

	if (v->type != TOML_TIME_LOCAL) {
		o = put_number(o, dt->year, 4);
		*o++ = '-';
		o = put_number(o, dt->month, 2);
		*o++ = '-';
		o = put_number(o, dt->day, 2);
	}
	if (v->type == TOML_DATETIME || v->type == TOML_DATETIME_LOCAL)
		*o++ = 'T';
	if (v->type != TOML_DATE_LOCAL) {
		o = put_number(o, dt->hour, 2);
		*o++ = ':';
		o = put_number(o, dt->minute, 2);
		*o++ = ':';
		o = put_number(o, dt->second, 2);
		if (*frac) {
			*o++ = '.';
			size_t n = strlen(frac);
			memcpy(o, frac, n);
			o += n;
		}
	}
	if (v->type == TOML_DATETIME) {
		if (zulu) {
			*o++ = 'Z';
		} else {
			int off = dt->offset_minutes;
			*o++ = off < 0 ? '-' : '+';
			off = off < 0 ? -off : off;
			o = put_number(o, off / 60, 2);
			*o++ = ':';
			o = put_number(o, off % 60, 2);
		}
	}
	*o = '\0';
}

static int scan_datetime(struct parser *ps, struct toml_value *v)
{
	struct toml_datetime *dt = &v->u.datetime.parts;
	const char *q = ps->p;
	char frac[10] = "";
	bool zulu = false;
	int r;

	memset(dt, 0, sizeof(*dt));
	if (char_at(ps, q + 2, ':')) {
		v->type = TOML_TIME_LOCAL;
		r = scan_time(ps, &q, dt, frac);
		if (r < 0)
			return r;
		goto done;
	}

	r = scan_date(ps, q, dt);
	if (r < 0)
		return r;
	q += 10;
	/* A space separates date and time only when a time follows: a date
	 * may just as well be followed by a space and a comment. */
	bool has_time = char_at(ps, q, 'T') || char_at(ps, q, 't') ||
			(char_at(ps, q, ' ') && fixed_digits(ps, q + 1, 2) >= 0 && char_at(ps, q + 3, ':'));
	if (!has_time) {
		v->type = TOML_DATE_LOCAL;
		goto done;
	}
	q++;
	r = scan_time(ps, &q, dt, frac);
	if (r < 0)
		return r;

	v->type = TOML_DATETIME;
	if (char_at(ps, q, 'Z') || char_at(ps, q, 'z')) {
		zulu = true;
		q++;
	} else if (char_at(ps, q, '+') || char_at(ps, q, '-')) {
		int sign = *q == '-' ? -1 : 1;
		int hours = fixed_digits(ps, q + 1, 2);
		int minutes = char_at(ps, q + 3, ':') ? fixed_digits(ps, q + 4, 2) : -1;
		if (hours < 0 || minutes < 0)
			return parse_error(ps, q, -EINVAL, "invalid UTC offset, expected +HH:MM or -HH:MM");
		if (hours > 23 || minutes > 59)
			return parse_error(ps, q, -EINVAL, "UTC offset %.6s is out of range", q);
		dt->offset_minutes = sign * (hours * 60 + minutes);
		q += 6;
	} else {
		v->type = TOML_DATETIME_LOCAL;
	}
done:
	format_datetime(v, frac, zulu);
	ps->p = q;
	return 0;
}

int scan_scalar(struct parser *ps, struct toml_value *v)
{
	const char *start = ps->p;

	/* 1979-05-27... and 07:32:00... are told apart from numbers up front */
	if (fixed_digits(ps, start, 4) >= 0 && char_at(ps, start + 4, '-'))
		return scan_datetime(ps, v);
	if (fixed_digits(ps, start, 2) >= 0 && char_at(ps, start + 2, ':'))
		return scan_datetime(ps, v);

	const char *end = start;
	while (end < ps->end && is_token_char(*end))
		end++;
	if (end == start) {
		char what[64];
		describe_char(start, ps->end, what, sizeof(what));
		return parse_error(ps, start, -EINVAL, "expected a value, found %s", what);
	}
	ps->p = end;

	if ((end - start == 4 && memcmp(start, "true", 4) == 0) ||
	    (end - start == 5 && memcmp(start, "false", 5) == 0)) {
		v->type = TOML_BOOL;
		v->u.boolean = *start == 't';
		return 0;
	}
	return scan_number(ps, start, end, v);
}
