#include "hypervisor/hypervisor.h"

#include <string.h>

#include "common/cleanup.h"

static const struct hypervisor_ops *const drivers[] = {
	&qemu_ops,
};

const struct hypervisor_ops *hypervisor_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(drivers); i++)
		if (!strcmp(drivers[i]->name, name))
			return drivers[i];
	return NULL;
}
