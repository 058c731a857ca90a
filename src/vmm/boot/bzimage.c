/* bzImage through the 64-bit boot protocol (Documentation/arch/x86/boot.rst). */
#include "vmm/boot/boot.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* offsets in the file and in boot_params ("the zero page") */
#define HDR_SETUP_SECTS 0x1f1
#define HDR_BOOT_FLAG 0x1fe
#define HDR_JUMP 0x200
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_HEAP_END_PTR 0x224
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_XLOADFLAGS 0x236
#define ZP_E820_ENTRIES 0x1e8
#define ZP_E820_TABLE 0x2d0
#define LOADED_HIGH 0x01
#define CAN_USE_HEAP 0x80
#define XLF_KERNEL_64 0x01
#define ZERO_PAGE_SIZE 4096
#define SETUP_MAX 0x8000           /* setup code stays below 32 KiB */


static uint16_t get16(const uint8_t *p, size_t off) { uint16_t v; memcpy(&v, p + off, 2); return v; }
static uint32_t get32(const uint8_t *p, size_t off) { uint32_t v; memcpy(&v, p + off, 4); return v; }
static void put16(uint8_t *p, size_t off, uint16_t v) { memcpy(p + off, &v, 2); }
static void put32(uint8_t *p, size_t off, uint32_t v) { memcpy(p + off, &v, 4); }

bool bzimage_detect(int fd)
{
	uint8_t magic[4];
	return pread(fd, magic, 4, HDR_MAGIC) == 4 && memcmp(magic, "HdrS", 4) == 0;
}

int bzimage_load(const struct guest_memory *m, int fd, uint64_t file_size, struct boot_info *ret,
		 struct capsa_error *err)
{
	*ret = (struct boot_info){ .entry = BOOT_ENTRY_LINUX64 };
	uint8_t *hdr = ret->bz_setup;
	if (pread(fd, hdr, 1024, 0) != 1024 || get16(hdr, HDR_BOOT_FLAG) != 0xaa55)
		return capsa_error_set(err, -ENOEXEC, "bzImage without the 0xAA55 boot flag");
	uint16_t version = get16(hdr, HDR_VERSION);
	if (version < 0x20c || !(get16(hdr, HDR_XLOADFLAGS) & XLF_KERNEL_64) || !(hdr[HDR_LOADFLAGS] & LOADED_HIGH))
		return capsa_error_set(err, -ENOEXEC, "bzImage (boot protocol %u.%02u) has no 64-bit entry point",
				       version >> 8, version & 0xff);
	unsigned setup_sects = hdr[HDR_SETUP_SECTS] ? hdr[HDR_SETUP_SECTS] : 4;
	uint64_t setup_size = (setup_sects + 1ULL) * 512;
	/* the header ends at 0x202 + the jump's offset byte */
	ret->bz_header_end = 0x202 + hdr[HDR_JUMP + 1];
	if (setup_size > SETUP_MAX || setup_size >= file_size || ret->bz_header_end > sizeof(ret->bz_setup))
		return capsa_error_set(err, -ENOEXEC, "bzImage setup of %llu bytes is inconsistent with the file",
				       (unsigned long long)setup_size);
	uint64_t kernel_size = file_size - setup_size;
	int r = boot_read_into_guest(m, fd, setup_size, BOOT_HIMEM_START, kernel_size, "bzImage kernel", err);
	if (r < 0)
		return r;
	ret->entry_addr = BOOT_HIMEM_START + 0x200;
	ret->kernel_end = BOOT_HIMEM_START + kernel_size;
	ret->initrd_max = get32(hdr, HDR_INITRD_ADDR_MAX);
	return 0;
}

static int write_page_tables(const struct guest_memory *m)
{
	/* identity map of the first GiB with 2 MiB pages: enough for the decompressor */
	uint64_t pml4 = BOOT_PDPT_ADDR | 0x3, pdpt = BOOT_PD_ADDR | 0x3;
	if (guest_mem_write(m, BOOT_PML4_ADDR, &pml4, 8) < 0 || guest_mem_write(m, BOOT_PDPT_ADDR, &pdpt, 8) < 0)
		return -EFAULT;
	for (uint64_t i = 0; i < 512; i++) {
		uint64_t pde = (i << 21) | 0x83;   /* present, writable, 2 MiB page */
		if (guest_mem_write(m, BOOT_PD_ADDR + i * 8, &pde, 8) < 0)
			return -EFAULT;
	}
	/* null, null, 64-bit code (0x10), data (0x18): the selectors boot.rst asks for */
	uint64_t gdt[4] = { 0, 0, 0x00af9b000000ffffULL, 0x00cf93000000ffffULL };
	return guest_mem_write(m, BOOT_GDT_ADDR, gdt, sizeof(gdt));
}

int bzimage_setup(const struct guest_memory *m, const struct boot_info *info, struct capsa_error *err)
{
	uint8_t zp[ZERO_PAGE_SIZE] = { 0 };
	memcpy(zp + HDR_SETUP_SECTS, info->bz_setup + HDR_SETUP_SECTS, info->bz_header_end - HDR_SETUP_SECTS);
	zp[HDR_TYPE_OF_LOADER] = 0xff;
	zp[HDR_LOADFLAGS] |= CAN_USE_HEAP;
	put16(zp, HDR_HEAP_END_PTR, 0xfe00);
	put32(zp, HDR_CMD_LINE_PTR, BOOT_CMDLINE_ADDR);
	put32(zp, HDR_RAMDISK_IMAGE, (uint32_t)info->initrd_addr);
	put32(zp, HDR_RAMDISK_SIZE, (uint32_t)info->initrd_size);
	struct e820_entry e820[E820_MAX];
	unsigned n;
	boot_e820(m, e820, &n);
	zp[ZP_E820_ENTRIES] = (uint8_t)n;
	for (unsigned i = 0; i < n; i++) {
		/* packed: addr, size, type = 20 bytes */
		memcpy(zp + ZP_E820_TABLE + 20 * i, &e820[i].addr, 8);
		memcpy(zp + ZP_E820_TABLE + 20 * i + 8, &e820[i].size, 8);
		memcpy(zp + ZP_E820_TABLE + 20 * i + 16, &e820[i].type, 4);
	}
	if (guest_mem_write(m, BOOT_ZERO_PAGE_ADDR, zp, sizeof(zp)) < 0 || write_page_tables(m) < 0)
		return capsa_error_set(err, -EFAULT, "no room for the boot parameters (guest memory too small)");
	return 0;
}
