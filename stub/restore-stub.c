/*
 * The restore stub: freestanding, position independent (only rip-relative
 * references: stub/build.sh refuses anything else), run by the boot kernel
 * C's kexec after C has stopped. For each chunk of the image it copies or
 * LZ4-decodes the chunk, then puts its pages at the physical addresses the
 * page map gives, and finally returns A's re-entry point (entry.S calls it).
 * Progress goes to params->status and, as lines, to COM1.
 *
 * Built for the host too (FR_STUB_HOST, SwiftPM's CRestoreStub): the same
 * code without port I/O and without loading CR3, so that the agent's tests
 * run this very code over the segment the agent lays out.
 */
#include <stddef.h>
#include <stdint.h>

#include "restore-stub.h"

#ifndef FR_STUB_HOST
extern char _start[];
#endif

_Static_assert(offsetof(struct fr_stub_params, scratch_off) == 0x18, "entry.S reads it there");
_Static_assert(offsetof(struct fr_stub_params, ranges) == 0x60, "the agent writes it there");
_Static_assert(offsetof(struct fr_stub_params, status) == 0x1c8, "the agent writes it there");
_Static_assert(offsetof(struct fr_stub_params, segment_bytes) == 0x1d0, "the agent writes it there");

#ifdef FR_STUB_HOST
static void put_char(char c) { (void)c; }
#define load_cr3(v) ((void)(v))
#else
static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* COM1; an absent port reads 0xff (transmitter empty): no wait. */
static void put_char(char c)
{
	for (int i = 0; i < 100000 && !(inb(0x3f8 + 5) & 0x20); i++)
		;
	outb(0x3f8, c);
}
#define load_cr3(v) __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory")
#endif

static void put_text(const char *s)
{
	while (*s)
		put_char(*s++);
}

static void put_hex(uint64_t v)
{
	put_text("0x");
	for (int i = 60; i >= 0; i -= 4)
		put_char("0123456789abcdef"[(v >> i) & 15]);
}

static void copy(uint8_t *d, const uint8_t *s, uint64_t n)
{
	uint64_t q = n / 8, r = n % 8;
	__asm__ volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(q) : : "memory");
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(r) : : "memory");
}

/* Copy LEN bytes from OFF bytes back (a match may overlap its output):
 * word at a time where that equals byte at a time (a one-byte run is a
 * fill; OFF >= 8 never reads a word it is writing). */
static uint8_t *match_copy(uint8_t *op, uint64_t off, uint64_t len)
{
	const uint8_t *m = op - off;
	if (off == 1) {
		uint64_t w = 0x0101010101010101ULL * *m;
		for (; len >= 8; len -= 8, op += 8)
			__builtin_memcpy(op, &w, 8);
	} else if (off >= 8) {
		for (; len >= 8; len -= 8, op += 8, m += 8) {
			uint64_t w;
			__builtin_memcpy(&w, m, 8);
			__builtin_memcpy(op, &w, 8);
		}
	}
	m = op - off;
	while (len--)
		*op++ = *m++;
	return op;
}

/* One LZ4 block (lz4's lz4_Block_format.md) into exactly CAP bytes at DST;
 * 0 on success, -1 on any malformed input or any other output size. */
static int lz4_block(const uint8_t *src, uint64_t slen, uint8_t *dst, uint64_t cap)
{
	const uint8_t *ip = src, *iend = src + slen;
	uint8_t *op = dst, *oend = dst + cap;
	for (;;) {
		if (ip >= iend)
			return -1;
		unsigned token = *ip++;
		uint64_t lit = token >> 4;
		if (lit == 15) {
			unsigned b;
			do {
				if (ip >= iend)
					return -1;
				b = *ip++;
				lit += b;
			} while (b == 255);
		}
		if (lit > (uint64_t)(iend - ip) || lit > (uint64_t)(oend - op))
			return -1;
		copy(op, ip, lit);
		op += lit;
		ip += lit;
		if (ip == iend) /* the last sequence has literals only */
			return op == oend ? 0 : -1;
		if (iend - ip < 2)
			return -1;
		uint64_t off = ip[0] | (uint64_t)ip[1] << 8;
		ip += 2;
		if (off == 0 || off > (uint64_t)(op - dst))
			return -1;
		uint64_t len = token & 15;
		if (len == 15) {
			unsigned b;
			do {
				if (ip >= iend)
					return -1;
				b = *ip++;
				len += b;
			} while (b == 255);
		}
		len += 4;
		if (len > (uint64_t)(oend - op))
			return -1;
		op = match_copy(op, off, len);
	}
}

/* Identity page tables over [0, map_limit) with 2 MiB pages, in scratch
 * after the stack: PML4, PDPT, then one PD per GiB. */
static uint64_t build_page_tables(const struct fr_stub_params *p, uint8_t *scratch)
{
	uint64_t *pml4 = (uint64_t *)(scratch + 0x10000);
	uint64_t *pdpt = pml4 + 512;
	uint64_t *pd = pdpt + 512;
	uint64_t gib = p->map_limit >> 30;
	for (uint64_t i = 0; i < 512 * (2 + gib); i++)
		pml4[i] = 0;
	pml4[0] = (uint64_t)pdpt | 0x3; /* present, writable */
	for (uint64_t g = 0; g < gib; g++) {
		pdpt[g] = (uint64_t)(pd + 512 * g) | 0x3;
		for (uint64_t i = 0; i < 512; i++)
			pd[512 * g + i] = ((g << 30) + (i << 21)) | 0x83; /* 2 MiB leaf */
	}
	return (uint64_t)pml4;
}

static uint64_t fail(struct fr_stub_params *p, const char *what, uint64_t at)
{
	put_text("fastresume-stub: ");
	put_text(what);
	put_text(" at ");
	put_hex(at);
	put_text("; stopped\r\n");
	p->status = 0xbad;
	return 0;
}

uint64_t fr_stub_run(uint8_t *base, struct fr_stub_params *p)
{
	uint64_t seg_end = (uint64_t)base + p->segment_bytes;
	put_text("fastresume-stub: putting kernel A's pages in place\r\n");
	if (p->magic != FR_STUB_MAGIC || p->nranges == 0 || p->nranges > FR_STUB_MAX_RANGES ||
	    (p->map_limit & ((1ULL << 30) - 1)) || (p->map_limit >> 30) == 0 || (p->map_limit >> 30) > 64 ||
	    seg_end > p->map_limit || p->scratch_off + p->scratch_bytes > p->segment_bytes ||
	    p->scratch_bytes < 0x10000 + (2 + (p->map_limit >> 30)) * FR_PAGE + p->chunk_size ||
	    (p->data_addr == 0 && p->data_off + p->data_bytes > p->scratch_off) ||
	    (p->data_addr != 0 && (p->data_off != 0 || p->data_addr > p->map_limit || p->data_bytes > p->map_limit - p->data_addr ||
				   (p->data_addr < seg_end && p->data_addr + p->data_bytes > (uint64_t)base))))
		return fail(p, "bad parameters", 0);
	uint8_t *scratch = base + p->scratch_off;
	uint8_t *buffer = scratch + 0x10000 + (2 + (p->map_limit >> 30)) * FR_PAGE;
	uint64_t cr3 = build_page_tables(p, scratch);
	load_cr3(cr3);
	p->status = 1;

	const uint8_t *map = base + p->map_off;
	const uint32_t *sizes = (const uint32_t *)(base + p->chunks_off);
	const uint8_t *data = p->data_addr ? (const uint8_t *)p->data_addr : base + p->data_off, *dend = data + p->data_bytes;
	uint64_t data_start = (uint64_t)data, data_end = (uint64_t)dend;
	uint64_t bit0 = 0, chunk = 0, placed = 0;
	for (uint64_t r = 0; r < p->nranges; r++) {
		const struct fr_stub_range *range = &p->ranges[r];
		if (range->start + range->pages * FR_PAGE > p->map_limit)
			return fail(p, "range beyond the identity map", range->start);
		uint64_t k = 0; /* the next page of the range to consider */
		for (uint64_t c = 0; c < range->chunks; c++, chunk++) {
			if (chunk >= p->chunk_count)
				return fail(p, "more chunks than loaded", chunk);
			uint64_t stored = sizes[2 * chunk], raw = sizes[2 * chunk + 1];
			if (stored == 0 || stored > raw || stored > (uint64_t)(dend - data) || raw > p->chunk_size ||
			    raw % FR_PAGE)
				return fail(p, "bad chunk", chunk);
			const uint8_t *src = data;
			if (stored != raw) {
				if (lz4_block(data, stored, buffer, raw) != 0)
					return fail(p, "chunk does not decode", chunk);
				src = buffer;
			}
			for (uint64_t j = 0; j < raw / FR_PAGE; j++, k++) {
				while (k < range->pages && !(map[(bit0 + k) / 8] >> ((bit0 + k) % 8) & 1))
					k++;
				if (k == range->pages)
					return fail(p, "more pages than the map saves", chunk);
				uint64_t dst = range->start + k * FR_PAGE;
				if (dst < seg_end && dst + FR_PAGE > (uint64_t)base)
					return fail(p, "a saved page inside the stub's segment", dst);
				if (dst < data_end && dst + FR_PAGE > data_start)
					return fail(p, "a saved page inside the stored chunks", dst);
				copy((uint8_t *)dst, src + j * FR_PAGE, FR_PAGE);
				placed++;
			}
			data += stored;
		}
		bit0 += range->pages;
		put_char('.');
	}
	p->status = 2;
	put_text("\r\nfastresume-stub: ");
	put_hex(placed);
	put_text(" pages in place, entering kernel A at ");
	put_hex(p->entry);
	put_text("\r\n");
	return p->entry;
}

#ifndef FR_STUB_HOST
uint64_t stub_main(struct fr_stub_params *p);
uint64_t stub_main(struct fr_stub_params *p) { return fr_stub_run((uint8_t *)_start, p); }
#endif
