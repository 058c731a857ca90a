/*
 * Port I/O and MMIO address spaces: devices register a range and two
 * callbacks, and vCPU exits are dispatched by address. No central switch.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define BUS_MAX_DEVICES 16

typedef void (*bus_read_fn)(void *opaque, uint64_t offset, void *data, unsigned len);
typedef void (*bus_write_fn)(void *opaque, uint64_t offset, const void *data, unsigned len);

struct bus_range {
	uint64_t base, len;
	bus_read_fn read;
	bus_write_fn write;
	void *opaque;
};

struct bus {
	struct bus_range ranges[BUS_MAX_DEVICES];
	unsigned n;
};

/* -EEXIST on overlap, -ENOSPC when full. */
int bus_register(struct bus *b, uint64_t base, uint64_t len, bus_read_fn read, bus_write_fn write, void *opaque);
/* false when no device claims the access (reads then see all ones). */
bool bus_access(const struct bus *b, uint64_t addr, void *data, unsigned len, bool is_write);
