/*
 * Split virtqueues (virtio 1.x, section 2.7), read from guest memory that
 * the guest may change at any moment. Every index, address and length is
 * checked and every descriptor is read once into a local copy, so a hostile
 * driver can make a chain fail but cannot make the VMM touch memory outside
 * the guest or loop forever. No KVM here: unit tests and the fuzzer drive
 * this code with a plain buffer as guest memory.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "common/error.h"
#include "vmm/memory.h"

/* The longest chain accepted; longer ones are a guest fault. */
#define VIRTQ_MAX_CHAIN 64

struct virtq {
	/* programmed by the driver through the transport */
	uint16_t num;
	uint16_t num_max;
	bool ready;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	/* device side state, valid once activated */
	bool active;
	uint16_t last_avail;
	uint16_t used_idx;
	void *desc, *avail, *used;   /* host pointers, range-checked at activation */
};

struct virtq_chain {
	uint16_t head;
	unsigned n_out, n_in;        /* device-readable segments come first, then writable ones */
	struct iovec iov[VIRTQ_MAX_CHAIN];
	uint64_t out_len, in_len;    /* totals; each fits in 32 bits by construction */
};

/* Checks the layout the driver programmed and resolves the rings. */
int virtq_activate(struct virtq *q, const struct guest_memory *m, struct capsa_error *err);
void virtq_reset(struct virtq *q);

/* Follows the chain starting at head (the fuzzed part). */
int virtq_parse_chain(const struct virtq *q, const struct guest_memory *m, uint16_t head, struct virtq_chain *c,
		      struct capsa_error *err);
/* 1 and the next chain, 0 when the driver has made none available, < 0 on a guest fault. */
int virtq_pop(struct virtq *q, const struct guest_memory *m, struct virtq_chain *c, struct capsa_error *err);
/* Is a chain waiting? (A fault shows on the next pop.) */
bool virtq_has_avail(const struct virtq *q);
/* Puts back the chain popped last, unused (the device found nothing to put in it). */
void virtq_unpop(struct virtq *q);
/* Returns a chain to the driver with len bytes written. */
void virtq_push(struct virtq *q, uint16_t head, uint32_t len);
/* Whether the driver wants an interrupt for used buffers. */
bool virtq_wants_interrupt(const struct virtq *q);

/* Copies out of / into a chain's device-readable / writable segments; returns bytes copied. */
uint64_t virtq_chain_read(const struct virtq_chain *c, uint64_t offset, void *buf, uint64_t len);
uint64_t virtq_chain_write(const struct virtq_chain *c, uint64_t offset, const void *buf, uint64_t len);
