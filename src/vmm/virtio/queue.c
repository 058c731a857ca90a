#include "vmm/virtio/queue.h"

#include <errno.h>
#include <linux/virtio_ring.h>
#include <string.h>

static inline uint16_t load16_acquire(const void *p)
{
	return __atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE);
}

static inline uint16_t load16(const void *p)
{
	return __atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED);
}

static bool is_power_of_2(unsigned n)
{
	return n && !(n & (n - 1));
}

void virtq_reset(struct virtq *q)
{
	uint16_t num_max = q->num_max;
	*q = (struct virtq){ .num_max = num_max, .num = num_max };
}

int virtq_activate(struct virtq *q, const struct guest_memory *m, struct capsa_error *err)
{
	q->active = false;
	if (!is_power_of_2(q->num) || q->num > q->num_max)
		return capsa_error_set(err, -EINVAL, "queue size %u is not a power of two up to %u", q->num, q->num_max);
	uint64_t n = q->num;
	struct { const char *what; uint64_t gpa, len, align; void **ret; } parts[] = {
		{ "descriptor table", q->desc_gpa, 16 * n, 16, &q->desc },
		{ "available ring", q->avail_gpa, 6 + 2 * n, 2, &q->avail },
		{ "used ring", q->used_gpa, 6 + 8 * n, 4, &q->used },
	};
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (parts[i].gpa % parts[i].align)
			return capsa_error_set(err, -EINVAL, "%s at 0x%llx is not %llu-byte aligned", parts[i].what,
					       (unsigned long long)parts[i].gpa, (unsigned long long)parts[i].align);
		void *p = guest_mem_ptr(m, parts[i].gpa, parts[i].len);
		if (!p)
			return capsa_error_set(err, -EFAULT, "%s at 0x%llx (%llu bytes) is outside guest memory",
					       parts[i].what, (unsigned long long)parts[i].gpa,
					       (unsigned long long)parts[i].len);
		*parts[i].ret = p;
	}
	q->last_avail = 0;
	q->used_idx = load16((uint8_t *)q->used + 2);
	q->active = true;
	return 0;
}

static struct vring_desc read_desc(const struct virtq *q, uint16_t i)
{
	struct vring_desc d;
	/* one copy: the guest may rewrite the table while we look at it */
	memcpy(&d, (const uint8_t *)q->desc + 16 * (size_t)i, sizeof(d));
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return d;
}

int virtq_parse_chain(const struct virtq *q, const struct guest_memory *m, uint16_t head, struct virtq_chain *c,
		      struct capsa_error *err)
{
	c->head = head;
	c->n_out = c->n_in = 0;
	c->out_len = c->in_len = 0;
	if (head >= q->num)
		return capsa_error_set(err, -EINVAL, "chain head %u is not below the queue size %u", head, q->num);
	uint16_t i = head;
	/* a chain visits each descriptor at most once, so more than num steps is a loop */
	for (unsigned steps = 0;; steps++) {
		if (steps >= q->num)
			return capsa_error_set(err, -ELOOP, "descriptor chain from %u loops (more than %u links)", head, q->num);
		if (c->n_out + c->n_in >= VIRTQ_MAX_CHAIN)
			return capsa_error_set(err, -E2BIG, "descriptor chain from %u is longer than %u", head, VIRTQ_MAX_CHAIN);
		struct vring_desc d = read_desc(q, i);
		if (d.flags & VRING_DESC_F_INDIRECT)
			return capsa_error_set(err, -EINVAL, "descriptor %u is indirect, which was not negotiated", i);
		bool writable = d.flags & VRING_DESC_F_WRITE;
		if (!writable && c->n_in)
			return capsa_error_set(err, -EINVAL, "descriptor %u is device-readable after a writable one", i);
		void *p = guest_mem_ptr(m, d.addr, d.len);
		if (!p)
			return capsa_error_set(err, -EFAULT, "descriptor %u: 0x%llx+%u is outside guest memory", i,
					       (unsigned long long)d.addr, d.len);
		uint64_t *total = writable ? &c->in_len : &c->out_len;
		*total += d.len;   /* at most VIRTQ_MAX_CHAIN * 4 GiB: no overflow in 64 bits */
		if (*total > UINT32_MAX)
			return capsa_error_set(err, -EOVERFLOW, "descriptor chain from %u is longer than 4 GiB", head);
		c->iov[c->n_out + c->n_in] = (struct iovec){ .iov_base = p, .iov_len = d.len };
		if (writable)
			c->n_in++;
		else
			c->n_out++;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		if (d.next >= q->num)
			return capsa_error_set(err, -EINVAL, "descriptor %u: next %u is not below the queue size %u", i,
					       d.next, q->num);
		i = d.next;
	}
}

bool virtq_has_avail(const struct virtq *q)
{
	return q->active && load16_acquire((const uint8_t *)q->avail + 2) != q->last_avail;
}

int virtq_pop(struct virtq *q, const struct guest_memory *m, struct virtq_chain *c, struct capsa_error *err)
{
	if (!q->active)
		return 0;
	uint16_t avail_idx = load16_acquire((const uint8_t *)q->avail + 2);
	if (avail_idx == q->last_avail)
		return 0;
	if ((uint16_t)(avail_idx - q->last_avail) > q->num)
		return capsa_error_set(err, -EINVAL, "available index %u is more than %u ahead of %u", avail_idx, q->num,
				       q->last_avail);
	uint16_t head = load16((const uint8_t *)q->avail + 4 + 2 * (size_t)(q->last_avail % q->num));
	int r = virtq_parse_chain(q, m, head, c, err);
	if (r < 0)
		return r;
	q->last_avail++;
	return 1;
}

void virtq_unpop(struct virtq *q)
{
	q->last_avail--;
}

void virtq_push(struct virtq *q, uint16_t head, uint32_t len)
{
	if (!q->active)
		return;
	struct vring_used_elem *e = (struct vring_used_elem *)((uint8_t *)q->used + 4) + q->used_idx % q->num;
	e->id = head;
	e->len = len;
	q->used_idx++;
	__atomic_store_n((uint16_t *)((uint8_t *)q->used + 2), q->used_idx, __ATOMIC_RELEASE);
}

bool virtq_wants_interrupt(const struct virtq *q)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return !(load16(q->avail) & VRING_AVAIL_F_NO_INTERRUPT);
}

static uint64_t chain_copy(const struct iovec *iov, unsigned n, uint64_t offset, void *buf, uint64_t len, bool to_chain)
{
	uint64_t done = 0;
	for (unsigned i = 0; i < n && done < len; i++) {
		if (offset >= iov[i].iov_len) {
			offset -= iov[i].iov_len;
			continue;
		}
		uint64_t chunk = iov[i].iov_len - offset;
		if (chunk > len - done)
			chunk = len - done;
		if (to_chain)
			memcpy((uint8_t *)iov[i].iov_base + offset, (const uint8_t *)buf + done, chunk);
		else
			memcpy((uint8_t *)buf + done, (const uint8_t *)iov[i].iov_base + offset, chunk);
		done += chunk;
		offset = 0;
	}
	return done;
}

uint64_t virtq_chain_read(const struct virtq_chain *c, uint64_t offset, void *buf, uint64_t len)
{
	return chain_copy(c->iov, c->n_out, offset, buf, len, false);
}

uint64_t virtq_chain_write(const struct virtq_chain *c, uint64_t offset, const void *buf, uint64_t len)
{
	return chain_copy(c->iov + c->n_out, c->n_in, offset, (void *)buf, len, true);
}
