/*
 * libFuzzer target: descriptor-chain parsing. The input is the guest's
 * memory (rings, table, buffers); the first bytes pick the queue size and
 * ring addresses. Every chain the input makes available is popped, read,
 * written and pushed; ASan and UBSan catch any access outside guest memory.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/virtio/queue.h"

#define MEM_SIZE 8192

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 8)
		return 0;
	uint8_t *mem = calloc(1, MEM_SIZE);
	if (!mem)
		return 0;
	memcpy(mem, data + 8, size - 8 < MEM_SIZE ? size - 8 : MEM_SIZE);
	struct guest_memory m;
	guest_mem_from_buffer(&m, mem, MEM_SIZE);
	struct virtq q = {
		.num_max = 256,
		.num = (uint16_t)(data[0] | data[1] << 8),
		.desc_gpa = (uint64_t)data[2] << 6 | (uint64_t)(data[3] & 0x80) << 56,
		.avail_gpa = (uint64_t)data[4] << 5,
		.used_gpa = (uint64_t)data[5] << 5 | data[6],
	};
	if (virtq_activate(&q, &m, NULL) == 0) {
		struct virtq_chain c;
		uint8_t scratch[256];
		for (int i = 0; i < 512 && virtq_pop(&q, &m, &c, NULL) == 1; i++) {
			virtq_chain_read(&c, data[7], scratch, sizeof(scratch));
			virtq_chain_write(&c, data[7], scratch, sizeof(scratch));
			virtq_push(&q, c.head, (uint32_t)c.in_len);
			virtq_wants_interrupt(&q);
		}
	}
	free(mem);
	return 0;
}
