/* The value tree: allocation, tables with an order-keeping hash index, getters. */
#include "common/toml-internal.h"

#include "common/cleanup.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* Below this many keys a linear scan beats hashing. */
#define TABLE_LINEAR_MAX 8

struct toml_value *value_new(enum toml_type type, int line, int column)
{
	struct toml_value *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->type = type;
	v->line = line;
	v->column = column;
	return v;
}

void toml_free(struct toml_value *v)
{
	if (!v)
		return;
	switch (v->type) {
	case TOML_STRING:
		free(v->u.string.ptr);
		break;
	case TOML_ARRAY:
		for (size_t i = 0; i < v->u.array.len; i++)
			toml_free(v->u.array.items[i]);
		free(v->u.array.items);
		break;
	case TOML_TABLE:
		for (size_t i = 0; i < v->u.table.len; i++) {
			free(v->u.table.entries[i].key);
			toml_free(v->u.table.entries[i].value);
		}
		free(v->u.table.entries);
		free(v->u.table.slots);
		break;
	default:
		break;
	}
	free(v);
}

static void toml_freep(struct toml_value **v)
{
	toml_free(*v);
}

#define ROTL64(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

static void sip_round(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = ROTL64(v[1], 13) ^ v[0];
	v[0] = ROTL64(v[0], 32);
	v[2] += v[3];
	v[3] = ROTL64(v[3], 16) ^ v[2];
	v[0] += v[3];
	v[3] = ROTL64(v[3], 21) ^ v[0];
	v[2] += v[1];
	v[1] = ROTL64(v[1], 17) ^ v[2];
	v[2] = ROTL64(v[2], 32);
}

/*
 * SipHash-1-3 under a random per-table key: keys chosen to collide in an
 * unkeyed hash would turn a big table quadratic; these cannot be chosen.
 */
static uint64_t hash_key(const uint64_t k[2], const char *data, size_t len)
{
	const unsigned char *in = (const unsigned char *)data;
	uint64_t v[4] = {
		k[0] ^ 0x736f6d6570736575ull, k[1] ^ 0x646f72616e646f6dull,
		k[0] ^ 0x6c7967656e657261ull, k[1] ^ 0x7465646279746573ull,
	};
	uint64_t last = (uint64_t)len << 56;
	size_t whole = len - len % 8;

	for (size_t i = 0; i < whole; i += 8) {
		uint64_t m = 0;
		for (int b = 7; b >= 0; b--)
			m = (m << 8) | in[i + (size_t)b];
		v[3] ^= m;
		sip_round(v);
		v[0] ^= m;
	}
	for (size_t b = 0; b < len % 8; b++)
		last |= (uint64_t)in[whole + b] << (8 * b);
	v[3] ^= last;
	sip_round(v);
	v[0] ^= last;
	v[2] ^= 0xff;
	for (int i = 0; i < 3; i++)
		sip_round(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

static void new_hash_key(struct toml_value *table)
{
	uint64_t *k = table->u.table.hash_key;

	/* Never block: early in a guest's boot the pool may not be ready yet,
	 * and then the address and clock are a weaker but usable key. */
	if (getrandom(k, 2 * sizeof(*k), GRND_NONBLOCK) == (ssize_t)(2 * sizeof(*k)))
		return;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	k[0] = (uint64_t)(uintptr_t)table ^ ((uint64_t)now.tv_nsec << 32);
	k[1] = (uint64_t)now.tv_sec * 0x9E3779B97F4A7C15ull ^ (uint64_t)(uintptr_t)k;
}

static void index_add(const struct toml_value *table, uint32_t *slots, size_t slot_count,
		      const struct toml_entry *e, size_t entry_no)
{
	size_t mask = slot_count - 1;
	size_t i = hash_key(table->u.table.hash_key, e->key, e->key_len) & mask;

	while (slots[i])
		i = (i + 1) & mask;
	slots[i] = (uint32_t)(entry_no + 1);
}

static int index_rebuild(struct toml_value *table, size_t slot_count)
{
	uint32_t *slots = calloc(slot_count, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	if (!table->u.table.slots)
		new_hash_key(table);
	for (size_t i = 0; i < table->u.table.len; i++)
		index_add(table, slots, slot_count, &table->u.table.entries[i], i);
	free(table->u.table.slots);
	table->u.table.slots = slots;
	table->u.table.slot_count = slot_count;
	return 0;
}

/* Index of the entry for key, or -1. */
static ptrdiff_t table_find(const struct toml_value *table, const char *key, size_t key_len)
{
	const struct toml_entry *entries = table->u.table.entries;

	if (!table->u.table.slot_count) {
		for (size_t i = 0; i < table->u.table.len; i++)
			if (entries[i].key_len == key_len && memcmp(entries[i].key, key, key_len) == 0)
				return (ptrdiff_t)i;
		return -1;
	}

	size_t mask = table->u.table.slot_count - 1;
	for (size_t i = hash_key(table->u.table.hash_key, key, key_len) & mask; table->u.table.slots[i];
	     i = (i + 1) & mask) {
		size_t n = table->u.table.slots[i] - 1;
		if (entries[n].key_len == key_len && memcmp(entries[n].key, key, key_len) == 0)
			return (ptrdiff_t)n;
	}
	return -1;
}

struct toml_value *table_lookup(const struct toml_value *table, const char *key, size_t key_len)
{
	ptrdiff_t i = table_find(table, key, key_len);

	return i < 0 ? NULL : table->u.table.entries[i].value;
}

int table_insert(struct toml_value *table, char *key, size_t key_len, struct toml_value *value)
{
	size_t len = table->u.table.len;

	if (len == table->u.table.cap) {
		size_t cap = len ? 2 * len : 4;
		struct toml_entry *entries = reallocarray(table->u.table.entries, cap, sizeof(*entries));
		if (!entries)
			return -ENOMEM;
		table->u.table.entries = entries;
		table->u.table.cap = cap;
	}
	if (len + 1 > UINT32_MAX - 1)
		return -E2BIG;

	struct toml_entry *e = &table->u.table.entries[len];
	*e = (struct toml_entry) { .key = key, .key_len = key_len, .value = value };

	/* Keep the index at most half full; grow it before counting the entry in. */
	size_t slot_count = table->u.table.slot_count;
	if (slot_count && 2 * (len + 1) > slot_count) {
		table->u.table.len = len + 1;
		int r = index_rebuild(table, 2 * slot_count);
		if (r < 0) {
			table->u.table.len = len;
			return r;
		}
		return 0;
	}
	if (!slot_count && len + 1 > TABLE_LINEAR_MAX) {
		table->u.table.len = len + 1;
		int r = index_rebuild(table, 4 * TABLE_LINEAR_MAX);
		if (r < 0) {
			table->u.table.len = len;
			return r;
		}
		return 0;
	}
	if (slot_count)
		index_add(table, table->u.table.slots, slot_count, e, len);
	table->u.table.len = len + 1;
	return 0;
}

int array_push(struct toml_value *array, struct toml_value *value)
{
	if (array->u.array.len == array->u.array.cap) {
		size_t cap = array->u.array.cap ? 2 * array->u.array.cap : 4;
		struct toml_value **items = reallocarray(array->u.array.items, cap, sizeof(*items));
		if (!items)
			return -ENOMEM;
		array->u.array.items = items;
		array->u.array.cap = cap;
	}
	array->u.array.items[array->u.array.len++] = value;
	return 0;
}

enum toml_type toml_type(const struct toml_value *v)
{
	return v ? v->type : TOML_NONE;
}

const char *toml_type_name(enum toml_type type)
{
	static const char *const names[] = {
		[TOML_NONE] = "nothing",
		[TOML_TABLE] = "table",
		[TOML_ARRAY] = "array",
		[TOML_STRING] = "string",
		[TOML_INTEGER] = "integer",
		[TOML_FLOAT] = "float",
		[TOML_BOOL] = "boolean",
		[TOML_DATETIME] = "offset date-time",
		[TOML_DATETIME_LOCAL] = "local date-time",
		[TOML_DATE_LOCAL] = "local date",
		[TOML_TIME_LOCAL] = "local time",
	};

	if ((unsigned)type >= ARRAY_SIZE(names))
		return "unknown";
	return names[type];
}

int toml_line(const struct toml_value *v)
{
	return v ? v->line : 0;
}

int toml_column(const struct toml_value *v)
{
	return v ? v->column : 0;
}

const struct toml_value *toml_table_getn(const struct toml_value *table, const char *key, size_t key_len)
{
	if (!table || table->type != TOML_TABLE || !key)
		return NULL;
	return table_lookup(table, key, key_len);
}

const struct toml_value *toml_table_get(const struct toml_value *table, const char *key)
{
	return key ? toml_table_getn(table, key, strlen(key)) : NULL;
}

const struct toml_value *toml_get_path(const struct toml_value *table, const char *dotted_path)
{
	if (!dotted_path)
		return NULL;
	const struct toml_value *v = table;
	const char *part = dotted_path;
	for (;;) {
		const char *dot = strchr(part, '.');
		size_t len = dot ? (size_t)(dot - part) : strlen(part);
		v = toml_table_getn(v, part, len);
		if (!v || !dot)
			return v;
		part = dot + 1;
	}
}

size_t toml_table_size(const struct toml_value *table)
{
	return table && table->type == TOML_TABLE ? table->u.table.len : 0;
}

const char *toml_table_key_at(const struct toml_value *table, size_t i)
{
	if (i >= toml_table_size(table))
		return NULL;
	return table->u.table.entries[i].key;
}

size_t toml_table_key_len_at(const struct toml_value *table, size_t i)
{
	if (i >= toml_table_size(table))
		return 0;
	return table->u.table.entries[i].key_len;
}

const struct toml_value *toml_table_value_at(const struct toml_value *table, size_t i)
{
	if (i >= toml_table_size(table))
		return NULL;
	return table->u.table.entries[i].value;
}

size_t toml_array_size(const struct toml_value *array)
{
	return array && array->type == TOML_ARRAY ? array->u.array.len : 0;
}

const struct toml_value *toml_array_at(const struct toml_value *array, size_t i)
{
	if (i >= toml_array_size(array))
		return NULL;
	return array->u.array.items[i];
}

const char *toml_string(const struct toml_value *v)
{
	return v && v->type == TOML_STRING ? v->u.string.ptr : NULL;
}

size_t toml_string_len(const struct toml_value *v)
{
	return v && v->type == TOML_STRING ? v->u.string.len : 0;
}

int64_t toml_integer(const struct toml_value *v)
{
	return v && v->type == TOML_INTEGER ? v->u.integer : 0;
}

double toml_float(const struct toml_value *v)
{
	return v && v->type == TOML_FLOAT ? v->u.floating : 0.0;
}

bool toml_bool(const struct toml_value *v)
{
	return v && v->type == TOML_BOOL ? v->u.boolean : false;
}

static bool is_datetime(const struct toml_value *v)
{
	return v && (v->type == TOML_DATETIME || v->type == TOML_DATETIME_LOCAL ||
		     v->type == TOML_DATE_LOCAL || v->type == TOML_TIME_LOCAL);
}

const char *toml_datetime_text(const struct toml_value *v)
{
	return is_datetime(v) ? v->u.datetime.text : NULL;
}

const struct toml_datetime *toml_datetime(const struct toml_value *v)
{
	return is_datetime(v) ? &v->u.datetime.parts : NULL;
}

int toml_table_merge(struct toml_value *dst, struct toml_value *src)
{
	_cleanup_(toml_freep) struct toml_value *from_table = src;  /* consumed */

	if (!dst || dst->type != TOML_TABLE || !from_table || from_table->type != TOML_TABLE)
		return -EINVAL;

	for (size_t i = 0; i < from_table->u.table.len; i++) {
		struct toml_entry *from = &from_table->u.table.entries[i];
		ptrdiff_t at = table_find(dst, from->key, from->key_len);

		if (at < 0) {
			int r = table_insert(dst, from->key, from->key_len, from->value);
			if (r < 0)
				return r;
			from->key = NULL;
			from->value = NULL;
			continue;
		}

		struct toml_entry *to = &dst->u.table.entries[at];
		if (to->value->type == TOML_TABLE && from->value->type == TOML_TABLE) {
			int r = toml_table_merge(to->value, steal_pointer(&from->value));
			if (r < 0)
				return r;
		} else {
			/* The drop-in wins; the key keeps its place in dst's order. */
			toml_free(to->value);
			to->value = steal_pointer(&from->value);
		}
	}
	return 0;
}
