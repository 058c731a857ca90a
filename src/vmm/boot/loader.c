#include "vmm/boot/boot.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"

#define PAGE_SIZE 4096ULL

int boot_read_into_guest(const struct guest_memory *m, int fd, uint64_t off, uint64_t gpa, uint64_t len,
			 const char *what, struct capsa_error *err)
{
	uint8_t *p = guest_mem_ptr(m, gpa, len);
	if (!p)
		return capsa_error_set(err, -E2BIG, "%s (%llu bytes at 0x%llx) does not fit in guest memory", what,
				       (unsigned long long)len, (unsigned long long)gpa);
	uint64_t done = 0;
	while (done < len) {
		ssize_t n = pread(fd, p + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return capsa_error_errno(err, -errno, "reading %s", what);
		if (n == 0)
			return capsa_error_set(err, -EINVAL, "%s is truncated", what);
		done += (uint64_t)n;
	}
	return 0;
}

int boot_e820(const struct guest_memory *m, struct e820_entry *table, unsigned *ret_n)
{
	unsigned n = 0;
	table[n++] = (struct e820_entry){ 0, BOOT_EBDA_START, E820_RAM };
	table[n++] = (struct e820_entry){ BOOT_EBDA_START, 0xa0000 - BOOT_EBDA_START, E820_RESERVED };
	uint64_t low_end = guest_mem_low_end(m);
	if (low_end > BOOT_HIMEM_START)
		table[n++] = (struct e820_entry){ BOOT_HIMEM_START, low_end - BOOT_HIMEM_START, E820_RAM };
	if (m->n_regions > 1)
		table[n++] = (struct e820_entry){ m->regions[1].gpa, m->regions[1].size, E820_RAM };
	*ret_n = n;
	return 0;
}

static int open_regular(const char *path, const char *what, uint64_t *ret_size, struct capsa_error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return capsa_error_errno(err, -errno, "opening %s '%s'", what, path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return capsa_error_errno(err, -errno, "stat %s '%s'", what, path);
	if (!S_ISREG(st.st_mode))
		return capsa_error_set(err, -EINVAL, "%s '%s' is not a regular file", what, path);
	if (st.st_size == 0)
		return capsa_error_set(err, -EINVAL, "%s '%s' is empty", what, path);
	*ret_size = (uint64_t)st.st_size;
	return steal_fd(&fd);
}

static int load_initrd(const struct guest_memory *m, const char *path, struct boot_info *info, struct capsa_error *err)
{
	uint64_t size;
	_cleanup_close_ int fd = open_regular(path, "initrd", &size, err);
	if (fd < 0)
		return fd;
	uint64_t top = guest_mem_low_end(m);
	if (info->initrd_max && top > info->initrd_max + 1)
		top = info->initrd_max + 1;
	/* at the top of low RAM, page aligned, above the kernel */
	if (size > top || ((top - size) & ~(PAGE_SIZE - 1)) < info->kernel_end)
		return capsa_error_set(err, -E2BIG, "initrd '%s' (%llu bytes) does not fit above the kernel in guest memory",
				       path, (unsigned long long)size);
	uint64_t addr = (top - size) & ~(PAGE_SIZE - 1);
	/* gzip, xz, zstd or a cpio archive: anything else the kernel would reject much later */
	uint8_t magic[6] = { 0 };
	if (pread(fd, magic, sizeof(magic), 0) != (ssize_t)sizeof(magic) ||
	    !(memcmp(magic, "070701", 6) == 0 || memcmp(magic, "070702", 6) == 0 || (magic[0] == 0x1f && magic[1] == 0x8b) ||
	      memcmp(magic, "\xfd" "7zXZ", 5) == 0 || memcmp(magic, "\x28\xb5\x2f\xfd", 4) == 0))
		return capsa_error_set(err, -EINVAL, "initrd '%s' is not a cpio archive (plain, gzip, xz or zstd)", path);
	int r = boot_read_into_guest(m, fd, 0, addr, size, "initrd", err);
	if (r < 0)
		return r;
	info->initrd_addr = addr;
	info->initrd_size = size;
	return 0;
}

int boot_load(const struct guest_memory *m, const char *kernel, const char *initrd, const char *cmdline,
	      unsigned ncpus, struct boot_info *ret, struct capsa_error *err)
{
	struct boot_info info = { 0 };
	size_t cmdline_len = strlen(cmdline);
	if (cmdline_len >= BOOT_CMDLINE_MAX)
		return capsa_error_set(err, -E2BIG, "kernel command line is %zu bytes, more than %d", cmdline_len,
				       BOOT_CMDLINE_MAX - 1);
	uint64_t size;
	_cleanup_close_ int fd = open_regular(kernel, "kernel", &size, err);
	if (fd < 0)
		return fd;
	int r = bzimage_detect(fd) ? bzimage_load(m, fd, size, &info, err) : pvh_load(m, fd, size, &info, err);
	if (r < 0) {
		capsa_error_prefix(err, "kernel '%s'", kernel);
		return r;
	}
	if (initrd && (r = load_initrd(m, initrd, &info, err)) < 0)
		return r;
	if ((r = guest_mem_write(m, BOOT_CMDLINE_ADDR, cmdline, cmdline_len + 1)) < 0)
		return capsa_error_set(err, r, "no room for the command line");
	if ((r = mptable_setup(m, ncpus, err)) < 0)
		return r;
	r = info.entry == BOOT_ENTRY_PVH ? pvh_setup(m, &info, err) : bzimage_setup(m, &info, err);
	if (r < 0)
		return r;
	*ret = info;
	return 0;
}
