#include "vmm/memory.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/cleanup.h"

int guest_mem_create(struct guest_memory *m, unsigned size_mib, struct capsa_error *err)
{
	*m = (struct guest_memory){ .memfd = -1 };
	if (size_mib < 16 || size_mib > GUEST_MEM_MAX_MIB)
		return capsa_error_set(err, -EINVAL, "memory %u MiB is out of range (16 to %u MiB)", size_mib,
				       GUEST_MEM_MAX_MIB);
	uint64_t size = (uint64_t)size_mib << 20;
	_cleanup_close_ int fd = memfd_create("capsa-guest", MFD_CLOEXEC);
	if (fd < 0)
		return capsa_error_errno(err, -errno, "memfd_create for guest memory");
	if (ftruncate(fd, (off_t)size) < 0)
		return capsa_error_errno(err, -errno, "sizing guest memory to %u MiB", size_mib);
	/* MAP_NORESERVE: the guest touches what it uses; untouched RAM costs nothing */
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	if (p == MAP_FAILED)
		return capsa_error_errno(err, -errno, "mapping %u MiB of guest memory", size_mib);
	m->base = p;
	m->size = size;
	m->memfd = steal_fd(&fd);
	uint64_t low = size < GUEST_MMIO_HOLE_START ? size : GUEST_MMIO_HOLE_START;
	m->regions[0] = (struct guest_region){ .gpa = 0, .size = low, .hva = m->base };
	m->n_regions = 1;
	if (size > low) {
		m->regions[1] = (struct guest_region){ .gpa = GUEST_HIGH_RAM_START, .size = size - low, .hva = m->base + low };
		m->n_regions = 2;
	}
	return 0;
}

void guest_mem_from_buffer(struct guest_memory *m, void *buf, uint64_t size)
{
	*m = (struct guest_memory){ .memfd = -1, .base = buf, .size = size, .n_regions = 1 };
	m->regions[0] = (struct guest_region){ .gpa = 0, .size = size, .hva = buf };
}

void guest_mem_destroy(struct guest_memory *m)
{
	if (m->memfd >= 0) {
		munmap(m->base, m->size);
		close(m->memfd);
	}
	*m = (struct guest_memory){ .memfd = -1 };
}

void *guest_mem_ptr(const struct guest_memory *m, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < m->n_regions; i++) {
		const struct guest_region *r = &m->regions[i];
		/* written so that no sum can overflow */
		if (gpa >= r->gpa && gpa - r->gpa <= r->size && len <= r->size - (gpa - r->gpa))
			return r->hva + (gpa - r->gpa);
	}
	return NULL;
}

int guest_mem_write(const struct guest_memory *m, uint64_t gpa, const void *data, uint64_t len)
{
	void *p = guest_mem_ptr(m, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(p, data, len);
	return 0;
}

uint64_t guest_mem_low_end(const struct guest_memory *m)
{
	return m->regions[0].size;
}
