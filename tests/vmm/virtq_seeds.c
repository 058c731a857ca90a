/* Writes a few well-formed guest memories for fuzz_virtq to start from. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <linux/virtio_ring.h>

static void put_desc(uint8_t *mem, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc d = { .addr = addr, .len = len, .flags = flags, .next = next };
	memcpy(mem + 0x400 + 16 * i, &d, sizeof(d));
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	for (unsigned seed = 0; seed < 4; seed++) {
		uint8_t in[8 + 8192] = { 0 };
		uint16_t num = (uint16_t)(16u << seed);
		in[0] = (uint8_t)num;
		in[1] = (uint8_t)(num >> 8);
		in[2] = 0x10;            /* desc at 0x400 */
		in[4] = 0x80;            /* avail at 0x1000 */
		in[5] = 0xa0;            /* used at 0x1400 */
		in[7] = (uint8_t)seed;
		uint8_t *mem = in + 8;
		for (unsigned i = 0; i < 4; i++) {
			unsigned head = 3 * i;
			put_desc(mem, head, 0x1800 + 64 * i, 16, VRING_DESC_F_NEXT, (uint16_t)(head + 1));
			put_desc(mem, head + 1, 0x1900 + 64 * i, 16, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, (uint16_t)(head + 2));
			put_desc(mem, head + 2, 0x1a00 + 64 * i, 32, VRING_DESC_F_WRITE, 0);
			uint16_t h = (uint16_t)head;
			memcpy(mem + 0x1000 + 4 + 2 * i, &h, 2);
		}
		uint16_t idx = 4;
		memcpy(mem + 0x1000 + 2, &idx, 2);
		char path[4096];
		snprintf(path, sizeof(path), "%s/seed-%u", argv[1], seed);
		FILE *f = fopen(path, "we");
		if (!f)
			return 1;
		fwrite(in, 1, sizeof(in), f);
		fclose(f);
	}
	return 0;
}
