/*
 * The prototype's image of A's RAM (docs/KEXEC-JUMP.md, "The prototype's
 * image"), shared by kjump.c (writes it in B, reads it in C) and stub.c
 * (the freestanding restore stub). Little-endian x86-64 only; every region
 * starts on a page boundary of the image.
 *
 *   [header page][page map][length table][data]
 *
 * page map: one bit per page of A's ranges, in range order, LSB first;
 *           1 = saved, 0 = free in A (buddy allocator), not saved
 * lengths:  one u16 per saved page: 4096 = stored as is, else the length
 *           of its LZ4 block
 * data:     the saved pages, in order, each as its length says
 */
#ifndef KJUMP_IMAGE_H
#define KJUMP_IMAGE_H
#include <stdint.h>

#define KJUMP_MAGIC "FRKJUMP1"
#define KJUMP_MAX_RANGES 32
#define KJUMP_PAGE 4096u

struct kjump_range {
	uint64_t start; /* physical, page aligned */
	uint64_t pages;
};

struct kjump_header {
	char magic[8];
	uint64_t jump_back_entry; /* A's re-entry point (physical) */
	uint32_t nranges;
	uint32_t flags;		/* KJUMP_F_* */
	uint64_t pages_total;	/* sum of ranges[].pages */
	uint64_t pages_saved;	/* 1 bits in the map */
	uint64_t map_off, map_bytes;
	uint64_t len_off, len_bytes;
	uint64_t data_off, data_bytes;
	uint64_t map_sum, len_sum, data_sum; /* kjump_sum of each region */
	char release[65];	/* A's kernel release (vmcoreinfo), or "" */
	char pad[7];
	struct kjump_range ranges[KJUMP_MAX_RANGES];
	/* kjump_sum of everything above; the header page is zero after it */
	uint64_t header_sum;
};

#define KJUMP_F_SKIP_FREE 1u

/* FNV-1a over 64-bit words; LEN a multiple of 8. */
static inline uint64_t kjump_sum(const void *p, uint64_t len, uint64_t h)
{
	const uint64_t *w = (const uint64_t *)p;
	for (uint64_t i = 0; i < len / 8; i++)
		h = (h ^ w[i]) * 0x100000001b3ULL;
	return h;
}
#define KJUMP_SUM_SEED 0xcbf29ce484222325ULL

/*
 * The stub's segment, as kjump stub-restore lays it out at physical BASE:
 *
 *   [stub code, padded to a page][params page][map][lengths][data][scratch]
 *
 * The stub is entered at BASE (its first byte) by C's relocate_kernel:
 * 64-bit mode, C's identity page tables, interrupts off. It moves its stack
 * into scratch, builds identity page tables there (2 MiB pages over
 * [0, map_limit)), switches to them, writes every saved page of A in
 * place, and calls A's jump_back_entry. Offsets below are from BASE.
 */
#define KJUMP_STUB_MAGIC 0x4255545350554a4bULL /* "KJUPSTUB" */
struct kjump_stub_params {
	uint64_t magic;
	uint64_t jump_back_entry;
	uint64_t map_limit;	/* identity-map [0, map_limit), 1 GiB multiple */
	uint64_t map_off, len_off, data_off, data_bytes;
	uint64_t scratch_off, scratch_bytes;
	uint64_t nranges;
	struct kjump_range ranges[KJUMP_MAX_RANGES];
	uint64_t status;	/* the stub's progress, for a debugger */
};

#endif
