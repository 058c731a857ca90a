/* vmlinux (ELF) through the PVH entry point: the kernel's Xen PHYS32_ENTRY note. */
#include "vmm/boot/boot.h"

#include <elf.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC 0x336ec578
#define PVH_MAX_PHDRS 64

struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr, size, cmdline_paddr, reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

static int read_exact(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n = pread(fd, buf, len, (off_t)off);
	return n == (ssize_t)len ? 0 : -EINVAL;
}

/* Finds the PVH entry in a PT_NOTE segment; 0 and *ret_entry when found. */
static int find_pvh_note(int fd, const Elf64_Phdr *ph, uint64_t file_size, uint64_t *ret_entry)
{
	if (ph->p_offset > file_size || ph->p_filesz > file_size - ph->p_offset || ph->p_filesz > 1 << 20)
		return -EINVAL;
	uint8_t buf[1 << 12];
	uint64_t off = 0;
	while (off + sizeof(Elf64_Nhdr) <= ph->p_filesz) {
		Elf64_Nhdr nh;
		if (read_exact(fd, &nh, sizeof(nh), ph->p_offset + off) < 0)
			return -EINVAL;
		uint64_t name_len = ((uint64_t)nh.n_namesz + 3) & ~3ULL, desc_len = ((uint64_t)nh.n_descsz + 3) & ~3ULL;
		uint64_t next = off + sizeof(nh) + name_len + desc_len;
		if (next > ph->p_filesz)
			return -EINVAL;
		if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 && nh.n_descsz >= 4 &&
		    nh.n_descsz <= sizeof(buf) - 4 && read_exact(fd, buf, 4 + nh.n_descsz, ph->p_offset + off + sizeof(nh)) == 0 &&
		    memcmp(buf, "Xen", 4) == 0) {
			uint32_t entry;
			memcpy(&entry, buf + 4, 4);
			*ret_entry = entry;
			return 0;
		}
		off = next;
	}
	return -ENOENT;
}

int pvh_load(const struct guest_memory *m, int fd, uint64_t file_size, struct boot_info *ret, struct capsa_error *err)
{
	Elf64_Ehdr eh;
	if (read_exact(fd, &eh, sizeof(eh), 0) < 0 || memcmp(eh.e_ident, ELFMAG, SELFMAG))
		return capsa_error_set(err, -ENOEXEC, "neither an ELF vmlinux nor a bzImage");
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64)
		return capsa_error_set(err, -ENOEXEC, "not an x86_64 ELF kernel");
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > PVH_MAX_PHDRS)
		return capsa_error_set(err, -ENOEXEC, "bad ELF program headers (%u of %u bytes)", eh.e_phnum, eh.e_phentsize);
	Elf64_Phdr ph[PVH_MAX_PHDRS];
	if (eh.e_phoff > file_size || read_exact(fd, ph, eh.e_phnum * sizeof(Elf64_Phdr), eh.e_phoff) < 0)
		return capsa_error_set(err, -ENOEXEC, "ELF program headers outside the file");
	uint64_t entry = 0, end = 0;
	bool have_entry = false;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_NOTE && !have_entry)
			have_entry = find_pvh_note(fd, &ph[i], file_size, &entry) == 0;
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (ph[i].p_offset > file_size || ph[i].p_filesz > file_size - ph[i].p_offset ||
		    ph[i].p_filesz > ph[i].p_memsz)
			return capsa_error_set(err, -ENOEXEC, "ELF segment %u lies outside the file", i);
		uint8_t *dst = guest_mem_ptr(m, ph[i].p_paddr, ph[i].p_memsz);
		if (!dst || ph[i].p_paddr < BOOT_HIMEM_START)
			return capsa_error_set(err, -E2BIG, "ELF segment %u (0x%llx, %llu bytes) does not fit in guest memory", i,
					       (unsigned long long)ph[i].p_paddr, (unsigned long long)ph[i].p_memsz);
		int r = boot_read_into_guest(m, fd, ph[i].p_offset, ph[i].p_paddr, ph[i].p_filesz, "ELF segment", err);
		if (r < 0)
			return r;
		memset(dst + ph[i].p_filesz, 0, ph[i].p_memsz - ph[i].p_filesz);
		if (ph[i].p_paddr + ph[i].p_memsz > end)
			end = ph[i].p_paddr + ph[i].p_memsz;
	}
	if (!have_entry)
		return capsa_error_set(err, -ENOEXEC, "vmlinux has no PVH entry note (a kernel built without CONFIG_PVH)");
	if (!guest_mem_ptr(m, entry, 1))
		return capsa_error_set(err, -ENOEXEC, "PVH entry 0x%llx is outside guest memory", (unsigned long long)entry);
	*ret = (struct boot_info){ .entry = BOOT_ENTRY_PVH, .entry_addr = entry, .kernel_end = end };
	return 0;
}

int pvh_setup(const struct guest_memory *m, const struct boot_info *info, struct capsa_error *err)
{
	struct e820_entry e820[E820_MAX];
	unsigned n;
	boot_e820(m, e820, &n);
	uint64_t modlist = BOOT_PVH_INFO_ADDR + sizeof(struct hvm_start_info);
	uint64_t memmap = modlist + sizeof(struct hvm_modlist_entry);
	struct hvm_start_info si = {
		.magic = HVM_START_MAGIC, .version = 1, .cmdline_paddr = BOOT_CMDLINE_ADDR,
		.memmap_paddr = memmap, .memmap_entries = n,
	};
	if (info->initrd_size) {
		struct hvm_modlist_entry mod = { .paddr = info->initrd_addr, .size = info->initrd_size };
		si.nr_modules = 1;
		si.modlist_paddr = modlist;
		guest_mem_write(m, modlist, &mod, sizeof(mod));
	}
	for (unsigned i = 0; i < n; i++) {
		struct hvm_memmap_table_entry e = { .addr = e820[i].addr, .size = e820[i].size, .type = e820[i].type };
		if (guest_mem_write(m, memmap + i * sizeof(e), &e, sizeof(e)) < 0)
			return capsa_error_set(err, -EFAULT, "no room for the PVH memory map");
	}
	if (guest_mem_write(m, BOOT_PVH_INFO_ADDR, &si, sizeof(si)) < 0)
		return capsa_error_set(err, -EFAULT, "no room for the PVH start info");
	return 0;
}
