/*
 * Loading a Linux kernel into guest memory: vmlinux through its PVH entry
 * (pvh.c) or bzImage through the 64-bit boot protocol (bzimage.c), the
 * command line, the initrd, the e820 map and the MP table. Every offset and
 * size read from the kernel file is checked against the file and guest RAM.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "vmm/memory.h"

/* Guest physical layout of the boot structures (all below 1 MiB). */
#define BOOT_GDT_ADDR 0x500
#define BOOT_PVH_INFO_ADDR 0x6000
#define BOOT_ZERO_PAGE_ADDR 0x7000
#define BOOT_STACK_TOP 0x8ff0
#define BOOT_PML4_ADDR 0x9000
#define BOOT_PDPT_ADDR 0xa000
#define BOOT_PD_ADDR 0xb000
#define BOOT_CMDLINE_ADDR 0x20000
#define BOOT_CMDLINE_MAX 2048           /* the x86 kernel's COMMAND_LINE_SIZE */
#define BOOT_EBDA_START 0x9fc00         /* the MP table lives here */
#define BOOT_HIMEM_START 0x100000

enum boot_entry {
	BOOT_ENTRY_PVH,      /* 32-bit protected mode, paging off, ebx = hvm_start_info */
	BOOT_ENTRY_LINUX64,  /* long mode, identity-mapped, rsi = boot_params */
};

struct boot_info {
	enum boot_entry entry;
	uint64_t entry_addr;
	uint64_t kernel_end;      /* initrd must go above this */
	uint64_t initrd_max;      /* the highest address the initrd may reach */
	uint64_t initrd_addr, initrd_size;
	/* bzImage: the first 1 KiB of the file, whose setup header goes into boot_params */
	uint8_t bz_setup[1024];
	unsigned bz_header_end;
};

#define E820_RAM 1
#define E820_RESERVED 2
#define E820_MAX 8

struct e820_entry {
	uint64_t addr, size;
	uint32_t type;
};

/* Detects the format and loads kernel, initrd (may be NULL) and cmdline. */
int boot_load(const struct guest_memory *m, const char *kernel, const char *initrd, const char *cmdline,
	      unsigned ncpus, struct boot_info *ret, struct capsa_error *err);

/* The pieces, for loader.c */
int boot_e820(const struct guest_memory *m, struct e820_entry *table, unsigned *ret_n);
int pvh_load(const struct guest_memory *m, int fd, uint64_t file_size, struct boot_info *ret, struct capsa_error *err);
int pvh_setup(const struct guest_memory *m, const struct boot_info *info, struct capsa_error *err);
bool bzimage_detect(int fd);
int bzimage_load(const struct guest_memory *m, int fd, uint64_t file_size, struct boot_info *ret,
		 struct capsa_error *err);
int bzimage_setup(const struct guest_memory *m, const struct boot_info *info, struct capsa_error *err);
int mptable_setup(const struct guest_memory *m, unsigned ncpus, struct capsa_error *err);
/* pread of exactly len bytes at off into guest memory [gpa, gpa+len) */
int boot_read_into_guest(const struct guest_memory *m, int fd, uint64_t off, uint64_t gpa, uint64_t len,
			 const char *what, struct capsa_error *err);
