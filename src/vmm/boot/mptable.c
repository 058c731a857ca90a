/*
 * The Intel MultiProcessor table (MP spec 1.4) at the start of the EBDA:
 * without ACPI it is how Linux finds the vCPUs, the IOAPIC and the ISA
 * interrupt routing (irq N -> IOAPIC pin N, as KVM's default routing has it).
 */
#include "vmm/boot/boot.h"

#include <errno.h>
#include <string.h>

#define APIC_DEFAULT_ADDR 0xfee00000
#define IOAPIC_ADDR 0xfec00000
#define IOAPIC_PINS 24
#define MP_MAX_CPUS 8

struct __attribute__((packed)) mpf_intel {
	char signature[4];
	uint32_t physptr;
	uint8_t length, specification, checksum, feature[5];
};

struct __attribute__((packed)) mpc_table {
	char signature[4];
	uint16_t length;
	uint8_t spec, checksum;
	char oem[8], productid[12];
	uint32_t oemptr;
	uint16_t oemsize, oemcount;
	uint32_t lapic, reserved;
};

struct __attribute__((packed)) mpc_cpu {
	uint8_t type, apicid, apicver, cpuflag;
	uint32_t cpufeature, featureflag, reserved[2];
};

struct __attribute__((packed)) mpc_bus {
	uint8_t type, busid;
	char bustype[6];
};

struct __attribute__((packed)) mpc_ioapic {
	uint8_t type, apicid, apicver, flags;
	uint32_t apicaddr;
};

struct __attribute__((packed)) mpc_intsrc {
	uint8_t type, irqtype;
	uint16_t irqflag;
	uint8_t srcbus, srcbusirq, dstapic, dstirq;
};

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_INTSRC, MP_LINTSRC };
enum { MP_INT, MP_NMI, MP_SMI, MP_EXTINT };

static uint8_t checksum(const void *p, size_t len)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum += ((const uint8_t *)p)[i];
	return (uint8_t)-sum;
}

int mptable_setup(const struct guest_memory *m, unsigned ncpus, struct capsa_error *err)
{
	if (ncpus < 1 || ncpus > MP_MAX_CPUS)
		return capsa_error_set(err, -EINVAL, "%u vCPUs: the MP table takes 1 to %d", ncpus, MP_MAX_CPUS);
	uint8_t buf[1024] = { 0 };
	struct mpf_intel *mpf = (struct mpf_intel *)buf;
	struct mpc_table *table = (struct mpc_table *)(buf + sizeof(*mpf));
	size_t off = sizeof(*mpf) + sizeof(*table);
	uint8_t ioapic_id = (uint8_t)(ncpus + 1);

	for (unsigned i = 0; i < ncpus; i++) {
		struct mpc_cpu cpu = {
			.type = MP_PROCESSOR, .apicid = (uint8_t)i, .apicver = 0x14,
			.cpuflag = 1 /* enabled */ | (i == 0 ? 2 : 0) /* boot processor */,
			.cpufeature = 0x600, .featureflag = 0x201 /* FPU, APIC */,
		};
		memcpy(buf + off, &cpu, sizeof(cpu));
		off += sizeof(cpu);
	}
	struct mpc_bus bus = { .type = MP_BUS, .busid = 0, .bustype = { 'I', 'S', 'A', ' ', ' ', ' ' } };
	memcpy(buf + off, &bus, sizeof(bus));
	off += sizeof(bus);
	struct mpc_ioapic ioapic = { .type = MP_IOAPIC, .apicid = ioapic_id, .apicver = 0x11, .flags = 1,
				     .apicaddr = IOAPIC_ADDR };
	memcpy(buf + off, &ioapic, sizeof(ioapic));
	off += sizeof(ioapic);
	for (unsigned irq = 0; irq < IOAPIC_PINS; irq++) {
		struct mpc_intsrc src = { .type = MP_INTSRC, .irqtype = MP_INT, .srcbus = 0, .srcbusirq = (uint8_t)irq,
					  .dstapic = ioapic_id, .dstirq = (uint8_t)irq };
		memcpy(buf + off, &src, sizeof(src));
		off += sizeof(src);
	}
	/* local interrupts: LINT0 is the PIC's ExtINT, LINT1 NMI, on every CPU */
	struct mpc_intsrc lint0 = { .type = MP_LINTSRC, .irqtype = MP_EXTINT, .dstapic = 0, .dstirq = 0 };
	struct mpc_intsrc lint1 = { .type = MP_LINTSRC, .irqtype = MP_NMI, .dstapic = 0xff, .dstirq = 1 };
	memcpy(buf + off, &lint0, sizeof(lint0));
	off += sizeof(lint0);
	memcpy(buf + off, &lint1, sizeof(lint1));
	off += sizeof(lint1);

	memcpy(table->signature, "PCMP", 4);
	table->length = (uint16_t)(off - sizeof(*mpf));
	table->spec = 4;
	memcpy(table->oem, "CAPSA   ", 8);
	memcpy(table->productid, "CAPSA-VMM   ", 12);
	table->lapic = APIC_DEFAULT_ADDR;
	table->oemcount = (uint16_t)(ncpus + 1 + 1 + IOAPIC_PINS + 2);
	table->checksum = checksum(table, table->length);

	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = BOOT_EBDA_START + sizeof(*mpf);
	mpf->length = 1;
	mpf->specification = 4;
	mpf->checksum = checksum(mpf, sizeof(*mpf));
	if (guest_mem_write(m, BOOT_EBDA_START, buf, off) < 0)
		return capsa_error_set(err, -EFAULT, "no room for the MP table");
	return 0;
}
