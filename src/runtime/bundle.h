/* An OCI bundle: config.json checked enough to refuse a bad one before anything starts. */
#pragma once

#include <jansson.h>

#include "common/error.h"

struct bundle {
	char *dir;        /* absolute */
	char *rootfs;     /* absolute */
	json_t *spec;
};

int bundle_load(const char *dir, struct bundle *ret, struct capsa_error *err);
void bundle_clear(struct bundle *b);

/* VM size for the spec: the configured defaults plus linux.resources (see docs/oci.md). */
void bundle_vm_size(const json_t *spec, unsigned default_vcpus, unsigned max_vcpus, unsigned default_memory_mib,
		    unsigned *ret_vcpus, unsigned *ret_memory_mib);
