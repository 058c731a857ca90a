#include "vmm/bus.h"

#include <errno.h>
#include <string.h>

int bus_register(struct bus *b, uint64_t base, uint64_t len, bus_read_fn read, bus_write_fn write, void *opaque)
{
	if (b->n >= BUS_MAX_DEVICES)
		return -ENOSPC;
	for (unsigned i = 0; i < b->n; i++)
		if (base < b->ranges[i].base + b->ranges[i].len && b->ranges[i].base < base + len)
			return -EEXIST;
	b->ranges[b->n++] = (struct bus_range){ base, len, read, write, opaque };
	return 0;
}

bool bus_access(const struct bus *b, uint64_t addr, void *data, unsigned len, bool is_write)
{
	for (unsigned i = 0; i < b->n; i++) {
		const struct bus_range *r = &b->ranges[i];
		if (addr < r->base || addr - r->base >= r->len)
			continue;
		/* an access that straddles the end of a device is not that device's */
		if (len > r->len - (addr - r->base))
			break;
		if (is_write) {
			if (r->write)
				r->write(r->opaque, addr - r->base, data, len);
		} else if (r->read) {
			r->read(r->opaque, addr - r->base, data, len);
		} else {
			memset(data, 0xff, len);
		}
		return true;
	}
	if (!is_write)
		memset(data, 0xff, len);
	return false;
}
