/*
 * The restore stub: freestanding, position independent (only rip-relative
 * references; mkimage/kjump-build.sh checks there are no absolute
 * relocations), run by C's kexec after C has stopped. It puts each saved
 * page of A in place (LZ4 block or raw) and returns A's re-entry point.
 * Progress goes to params->status and, as single characters, to COM1.
 */
#include <stddef.h>
#include <stdint.h>

#include "kjump-image.h"

extern char _start[];

_Static_assert(offsetof(struct kjump_stub_params, scratch_off) == 0x38, "stub-entry.S reads it there");

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void putc_serial(char c)
{
	for (int i = 0; i < 100000 && !(inb(0x3f8 + 5) & 0x20); i++)
		;
	outb(0x3f8, c);
}

static void puts_serial(const char *s)
{
	while (*s)
		putc_serial(*s++);
}

static void put_hex(uint64_t v)
{
	for (int i = 60; i >= 0; i -= 4)
		putc_serial("0123456789abcdef"[(v >> i) & 15]);
}

static void copy(uint8_t *d, const uint8_t *s, uint64_t n)
{
	uint64_t q = n / 8, r = n % 8;
	__asm__ volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(q) : : "memory");
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(r) : : "memory");
}

/* Copy LEN bytes from OFF bytes back (the match may overlap its output).
 * Word at a time where that is the same as byte at a time: a run of one
 * byte (zero pages: off 1) is a fill, and off >= 8 never reads a word it
 * is writing. Under TCG this is what makes the stub fast. */
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

/* One LZ4 block (the format of lz4's lz4_Block_format.md) into exactly
 * KJUMP_PAGE bytes at DST; 0 on success, -1 on any malformed input. */
static int lz4_page(const uint8_t *src, uint64_t slen, uint8_t *dst)
{
	const uint8_t *ip = src, *iend = src + slen;
	uint8_t *op = dst, *oend = dst + KJUMP_PAGE;
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
		if (ip == iend)	/* the last sequence has literals only */
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
static uint64_t build_page_tables(struct kjump_stub_params *p, uint8_t *base)
{
	uint64_t *pml4 = (uint64_t *)(base + p->scratch_off + 0x10000);
	uint64_t *pdpt = pml4 + 512;
	uint64_t *pd = pdpt + 512;
	uint64_t gib = p->map_limit >> 30;
	for (uint64_t i = 0; i < 512 * (2 + gib); i++)
		pml4[i] = 0;
	pml4[0] = (uint64_t)pdpt | 0x3;			/* present, writable */
	for (uint64_t g = 0; g < gib; g++) {
		pdpt[g] = (uint64_t)(pd + 512 * g) | 0x3;
		for (uint64_t i = 0; i < 512; i++)
			pd[512 * g + i] = ((g << 30) + (i << 21)) | 0x83; /* 2 MiB leaf */
	}
	return (uint64_t)pml4;
}

uint64_t stub_main(struct kjump_stub_params *p)
{
	uint8_t *base = (uint8_t *)_start;
	puts_serial("kjump-stub: start\r\n");
	if (p->magic != KJUMP_STUB_MAGIC || p->nranges > KJUMP_MAX_RANGES || (p->map_limit >> 30) > 64 ||
	    (uint64_t)(base + p->scratch_off) + p->scratch_bytes > p->map_limit) {
		puts_serial("kjump-stub: bad parameters\r\n");
		return 0;
	}
	uint64_t cr3 = build_page_tables(p, base);
	__asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");
	p->status = 1;

	const uint8_t *map = base + p->map_off;
	const uint16_t *lens = (const uint16_t *)(base + p->len_off);
	const uint8_t *data = base + p->data_off, *dend = data + p->data_bytes;
	uint64_t bit = 0, saved = 0;
	for (uint64_t r = 0; r < p->nranges; r++) {
		uint8_t *dst = (uint8_t *)p->ranges[r].start;
		for (uint64_t k = 0; k < p->ranges[r].pages; k++, bit++, dst += KJUMP_PAGE) {
			if (!(map[bit / 8] >> (bit % 8) & 1))
				continue;
			uint64_t n = lens[saved++];
			if (n > (uint64_t)(dend - data) ||
			    (n == KJUMP_PAGE ? (copy(dst, data, n), 0) : lz4_page(data, n, dst)) != 0) {
				puts_serial("kjump-stub: bad page at ");
				put_hex((uint64_t)dst);
				puts_serial("\r\n");
				p->status = 0xbad;
				return 0;
			}
			data += n;
		}
		putc_serial('.');
	}
	p->status = 2;
	puts_serial("\r\nkjump-stub: ");
	put_hex(saved);
	puts_serial(" pages in place, entering A at ");
	put_hex(p->jump_back_entry);
	puts_serial("\r\n");
	return p->jump_back_entry;
}
