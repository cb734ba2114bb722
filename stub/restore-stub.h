/*
 * The restore stub's parameters: the contract between the agent (which
 * lays out the stub's one kexec segment, Sources/ResumeBoot/Restore/
 * MemoryRestore.swift) and the stub (restore-stub.c). Little-endian x86-64.
 *
 * The segment, at physical BASE, entered at BASE by the boot kernel C's
 * relocate_kernel after C has stopped:
 *
 *   [stub code, padded to a page][params page][page map][chunk sizes]
 *   [stored chunks][scratch: stack, page tables, one chunk's decode buffer]
 *
 * Every offset is from BASE. The stored chunks may lie outside the segment
 * instead (data_addr, physical): a confined C writes them into held-back
 * memory, in pages kernel A left free, so kexec_load need not copy them;
 * the stub never writes a page there. The agent has checked every chunk (hashes,
 * LZ4, sizes) and the map against the image's entries before loading this;
 * the stub still bounds every read and write and stops on COM1 with a
 * message rather than write a page out of place.
 */
#ifndef FASTRESUME_RESTORE_STUB_H
#define FASTRESUME_RESTORE_STUB_H
#include <stdint.h>

#define FR_STUB_MAGIC 0x3230425554535246ULL /* "FRSTUB02" */
#define FR_STUB_MAX_RANGES 15
#define FR_PAGE 4096u

struct fr_stub_range {
	uint64_t start;  /* physical, page aligned */
	uint64_t pages;  /* pages in the range (its bits in the map) */
	uint64_t chunks; /* chunks holding its saved pages */
};

struct fr_stub_params {
	uint64_t magic;         /* 0x00 */
	uint64_t entry;         /* 0x08 A's re-entry point */
	uint64_t map_limit;     /* 0x10 identity-map [0, map_limit), 1 GiB multiple */
	uint64_t scratch_off;   /* 0x18 (entry.S reads it here) */
	uint64_t scratch_bytes; /* 0x20 */
	uint64_t map_off;       /* 0x28 one bit per page of the ranges */
	uint64_t chunks_off;    /* 0x30 per chunk: u32 stored size, u32 raw size */
	uint64_t chunk_count;   /* 0x38 */
	uint64_t data_off;      /* 0x40 the stored chunks, back to back (0 with data_addr) */
	uint64_t data_bytes;    /* 0x48 */
	uint64_t chunk_size;    /* 0x50 the largest raw size (the decode buffer) */
	uint64_t nranges;       /* 0x58 */
	struct fr_stub_range ranges[FR_STUB_MAX_RANGES]; /* 0x60 */
	uint64_t status;        /* 0x1c8 progress, for a debugger */
	uint64_t segment_bytes; /* 0x1d0 the whole segment: never written */
	uint64_t data_addr;     /* 0x1d8 0, or the stored chunks' physical address: never written */
};

/* Puts A's pages in place from the segment at BASE (its params page P);
 * returns A's re-entry point, or 0 after a message (params->status 0xbad). */
uint64_t fr_stub_run(uint8_t *base, struct fr_stub_params *p);

#endif
