/*
 * Guest physical memory: one memfd (so it can later be shared with
 * virtiofsd) mapped into the VMM, split around the MMIO hole below 4 GiB.
 * Every guest address the VMM follows goes through guest_mem_ptr(), which
 * checks the whole range lies inside one region, with no overflow.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define GUEST_MEM_MAX_REGIONS 2
/* RAM stops here below 4 GiB; devices live above it; the rest of RAM is mapped at 4 GiB */
#define GUEST_MMIO_HOLE_START 0xd0000000ULL
#define GUEST_HIGH_RAM_START 0x100000000ULL
#define GUEST_MEM_MAX_MIB (64u * 1024u)

struct guest_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
};

struct guest_memory {
	struct guest_region regions[GUEST_MEM_MAX_REGIONS];
	unsigned n_regions;
	int memfd;          /* -1 when the memory is not a memfd (unit tests) */
	uint8_t *base;      /* the whole mapping, size bytes */
	uint64_t size;
};

/* Creates size_mib of guest RAM backed by a memfd. */
int guest_mem_create(struct guest_memory *m, unsigned size_mib, struct capsa_error *err);
/* Describes an existing buffer as guest RAM at gpa 0 (tests, fuzzing). */
void guest_mem_from_buffer(struct guest_memory *m, void *buf, uint64_t size);
void guest_mem_destroy(struct guest_memory *m);

/* Host pointer to [gpa, gpa+len) if it lies inside one region, else NULL. */
void *guest_mem_ptr(const struct guest_memory *m, uint64_t gpa, uint64_t len);
/* Copies into guest memory; -EFAULT when the range is not guest RAM. */
int guest_mem_write(const struct guest_memory *m, uint64_t gpa, const void *data, uint64_t len);
/* The end of RAM below the MMIO hole. */
uint64_t guest_mem_low_end(const struct guest_memory *m);
