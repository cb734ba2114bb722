/*
 * kjump: the test tool of the kexec-jump hibernation prototype (issue 9),
 * run inside the QEMU guests of mkimage/kjump-run.sh. Static, no libraries
 * beyond libc. Not the product: the agent will do this in Swift; this
 * proves the kernel side and measures it. docs/KEXEC-JUMP.md describes the
 * flow and the image this writes.
 *
 *   kjump back                 in B: jump back to A (kexec_jump_back_entry=)
 *   kjump save DEV [--skip-free]
 *                              in B: save A's RAM (fr.aram= on B's command
 *                              line) to DEV; with --skip-free, leave out
 *                              A's buddy-free pages (fr.vmci= locates A's
 *                              vmcoreinfo)
 *   kjump free                 in B: count A's free pages, save nothing
 *   kjump restore DEV          in C: kexec_load A's RAM as segments, enter A
 *   kjump stub-restore DEV STUB ADDR
 *                              in C: load STUB (a flat binary) and the
 *                              image as one segment at physical ADDR; the
 *                              stub puts the pages in place and enters A
 *
 * Every kexec step prints one "kjump: " line; errors exit 1 with the errno.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kexec.h>
#include <linux/reboot.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <lz4.h>
#include <stddef.h>

#include "kjump-image.h"

#define PAGE ((uint64_t)4096)

static void die(const char *fmt, ...)
{
	va_list ap;
	int e = errno;
	fputs("kjump: error: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (e)
		printf(" (errno %d: %s)", e, strerror(e));
	putchar('\n');
	fflush(stdout);
	exit(1);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *xmalloc(size_t n)
{
	void *p = calloc(1, n);
	if (!p)
		die("out of memory for %zu bytes", n);
	return p;
}

static void pread_all(int fd, void *buf, size_t len, uint64_t off, const char *what)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, off + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("read %s at 0x%" PRIx64, what, off + done);
		done += n;
	}
}

static void pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done, off + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("write at 0x%" PRIx64, off + done);
		done += n;
	}
}

/* The value of NAME=... on /proc/cmdline, or NULL. */
static char *cmdline_value(const char *name)
{
	static char line[4096];
	size_t nl = strlen(name);
	int fd = open("/proc/cmdline", O_RDONLY);
	if (fd < 0)
		die("open /proc/cmdline");
	ssize_t n = read(fd, line, sizeof line - 1);
	close(fd);
	if (n <= 0)
		die("read /proc/cmdline");
	line[n] = 0;
	for (char *p = strtok(line, " \n"); p; p = strtok(NULL, " \n"))
		if (strncmp(p, name, nl) == 0 && p[nl] == '=')
			return strdup(p + nl + 1);
	return NULL;
}

static long kexec_load(uint64_t entry, unsigned long n, struct kexec_segment *segs, unsigned long flags)
{
	return syscall(SYS_kexec_load, entry, n, segs, flags);
}

static void kexec_now(void)
{
	sync();
	printf("kjump: reboot(LINUX_REBOOT_CMD_KEXEC)\n");
	fflush(stdout);
	syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_KEXEC, NULL);
	die("reboot(LINUX_REBOOT_CMD_KEXEC) returned");
}

static uint64_t jump_back_entry(void)
{
	char *v = cmdline_value("kexec_jump_back_entry");
	if (!v)
		die("no kexec_jump_back_entry= on the command line: not started by a kexec jump");
	return strtoull(v, NULL, 0);
}

/* The last page of the highest "System RAM" range of /proc/iomem. */
static uint64_t last_ram_page(void)
{
	FILE *f = fopen("/proc/iomem", "r");
	char line[256];
	uint64_t best = 0;
	if (!f)
		die("open /proc/iomem");
	while (fgets(line, sizeof line, f)) {
		unsigned long long s, e;
		if (line[0] != ' ' && strstr(line, ": System RAM") && sscanf(line, "%llx-%llx", &s, &e) == 2)
			if (e > best)
				best = e;
	}
	fclose(f);
	if (best < PAGE)
		die("no System RAM in /proc/iomem (run as root)");
	return ((best + 1) & ~(PAGE - 1)) - PAGE;
}

/* B: the jump back. One zero page as the only segment, placed in B's own
 * RAM; with KEXEC_PRESERVE_CONTEXT relocate_kernel swaps it in, calls A's
 * re-entry point, and A's relocate_kernel returns into A. */
static int cmd_back(void)
{
	uint64_t jbe = jump_back_entry();
	uint64_t dest = last_ram_page();
	void *page = xmalloc(PAGE);
	struct kexec_segment seg = { page, PAGE, (void *)dest, PAGE };
	printf("kjump: jump back to A at 0x%" PRIx64 " (segment: 1 page at 0x%" PRIx64 ")\n", jbe, dest);
	if (kexec_load(jbe, 1, &seg, KEXEC_PRESERVE_CONTEXT | KEXEC_ARCH_DEFAULT) != 0)
		die("kexec_load(jump back)");
	kexec_now();
	return 1;
}

/* ---- A's RAM and vmcoreinfo, as B sees them through /dev/mem ---- */

struct ranges {
	unsigned n;
	struct kjump_range r[KJUMP_MAX_RANGES];
};

/* fr.aram=START-END,START-END (inclusive ends, as /proc/iomem). */
static void parse_ranges(struct ranges *rs)
{
	char *v = cmdline_value("fr.aram");
	if (!v)
		die("no fr.aram= on the command line (A's RAM ranges)");
	rs->n = 0;
	for (char *p = strtok(v, ","); p; p = strtok(NULL, ",")) {
		unsigned long long s, e;
		if (sscanf(p, "%llx-%llx", &s, &e) != 2 || e < s)
			die("fr.aram: bad range '%s'", p);
		if (rs->n == KJUMP_MAX_RANGES)
			die("fr.aram: more than %d ranges", KJUMP_MAX_RANGES);
		if (s % PAGE || (e + 1) % PAGE)
			die("fr.aram: range '%s' not page aligned", p);
		rs->r[rs->n].start = s;
		rs->r[rs->n].pages = (e + 1 - s) / PAGE;
		rs->n++;
	}
}

struct vmci {
	uint64_t vmemmap, init_top_pgt, phys_base;
	uint64_t page_size, off_mapcount, off_private, off_flags;
	uint64_t buddy_value;
	char release[65];
};

static uint64_t vmci_get(const char *text, const char *key, int base, int required)
{
	const char *p = strstr(text, key);
	if (!p) {
		if (required)
			die("vmcoreinfo has no %s", key);
		return 0;
	}
	return strtoull(p + strlen(key), NULL, base);
}

/* fr.vmci=PHYS-SIZE: A's /sys/kernel/vmcoreinfo (the note's address and
 * size); the text starts after the 12-byte note header and the name. */
static void read_vmcoreinfo(int mem, struct vmci *v)
{
	char *arg = cmdline_value("fr.vmci");
	unsigned long long pa, size;
	if (!arg || sscanf(arg, "%llx-%llx", &pa, &size) != 2 || size > 65536)
		die("no usable fr.vmci=PHYS-SIZE on the command line");
	char *note = xmalloc(size + 1);
	pread_all(mem, note, size, pa, "vmcoreinfo");
	uint32_t namesz, descsz;
	memcpy(&namesz, note, 4);
	memcpy(&descsz, note + 4, 4);
	size_t off = 12 + ((namesz + 3) & ~3u);
	if (off + descsz > size || strncmp(note + 12, "VMCOREINFO", 10) != 0)
		die("fr.vmci: no VMCOREINFO note at 0x%llx", pa);
	char *text = note + off;
	text[descsz] = 0;
	v->vmemmap = vmci_get(text, "SYMBOL(vmemmap)=", 16, 1);
	v->init_top_pgt = vmci_get(text, "SYMBOL(init_top_pgt)=", 16, 1);
	v->phys_base = vmci_get(text, "NUMBER(phys_base)=", 10, 1);
	v->page_size = vmci_get(text, "SIZE(page)=", 10, 1);
	v->off_flags = vmci_get(text, "OFFSET(page.flags)=", 10, 1);
	v->off_mapcount = vmci_get(text, "OFFSET(page._mapcount)=", 10, 1);
	v->off_private = vmci_get(text, "OFFSET(page.private)=", 10, 1);
	/* NUMBER() prints a C int: PGTY_buddy << 24 comes out negative */
	v->buddy_value = (uint32_t)vmci_get(text, "NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)=", 10, 1);
	const char *rel = strstr(text, "OSRELEASE=");
	if (rel)
		sscanf(rel + 10, "%64s", v->release);
	printf("kjump: A's vmcoreinfo: release %s, vmemmap 0x%" PRIx64 ", struct page %" PRIu64
	       " bytes, page_type at %" PRIu64 ", buddy 0x%" PRIx64 "\n",
	       v->release, v->vmemmap, v->page_size, v->off_mapcount, v->buddy_value);
}

/* Translate one of A's kernel virtual addresses through A's page tables
 * (4-level; 1 GiB and 2 MiB leaves). Returns ~0 when unmapped. */
static uint64_t a_vtop(int mem, const struct vmci *v, uint64_t va)
{
	const uint64_t M = 0x000ffffffffff000ULL;
	uint64_t e, table = v->init_top_pgt - 0xffffffff80000000ULL + v->phys_base;
	pread_all(mem, &e, 8, table + ((va >> 39) & 511) * 8, "pgd");
	if (!(e & 1))
		return ~0ULL;
	pread_all(mem, &e, 8, (e & M) + ((va >> 30) & 511) * 8, "pud");
	if (!(e & 1))
		return ~0ULL;
	if (e & 0x80)
		return (e & 0x000fffffc0000000ULL) + (va & 0x3fffffff);
	pread_all(mem, &e, 8, (e & M) + ((va >> 21) & 511) * 8, "pmd");
	if (!(e & 1))
		return ~0ULL;
	if (e & 0x80)
		return (e & 0x000fffffffe00000ULL) + (va & 0x1fffff);
	pread_all(mem, &e, 8, (e & M) + ((va >> 12) & 511) * 8, "pte");
	if (!(e & 1))
		return ~0ULL;
	return (e & M) + (va & 0xfff);
}

/* A's struct page of PFN into OUT (v->page_size bytes); 0 if unmapped. One
 * vmemmap page is cached: consecutive pfns read it once. */
static int a_struct_page(int mem, const struct vmci *v, uint64_t pfn, uint8_t *out)
{
	static uint8_t cache[PAGE];
	static uint64_t cached_va = ~0ULL;
	uint64_t va = v->vmemmap + pfn * v->page_size;
	uint64_t va_page = va & ~(PAGE - 1);
	if (va_page != cached_va) {
		uint64_t pa = a_vtop(mem, v, va_page);
		if (pa == ~0ULL)
			return 0;
		pread_all(mem, cache, PAGE, pa, "vmemmap");
		cached_va = va_page;
	}
	memcpy(out, cache + (va - va_page), v->page_size);
	return 1;
}

static void map_clear(uint8_t *map, uint64_t bit) { map[bit / 8] &= ~(1u << (bit % 8)); }
static int map_test(const uint8_t *map, uint64_t bit) { return map[bit / 8] >> (bit % 8) & 1; }

/* Clear in MAP (one bit per page of the ranges, in order) the pages A's
 * buddy allocator holds free: the head page of a free block has page_type
 * PGTY_buddy (6.12: page_type >> 24 == 0xf0, vmcoreinfo's
 * PAGE_BUDDY_MAPCOUNT_VALUE) and the block's order in page->private; the
 * block's other pages are not marked. Returns the number of free pages. */
static uint64_t mark_free_pages(int mem, const struct vmci *v, const struct ranges *rs, uint8_t *map)
{
	uint64_t free_pages = 0, bit0 = 0;
	uint8_t sp[256];
	if (v->page_size > sizeof sp || PAGE % v->page_size)
		die("struct page of %" PRIu64 " bytes: not handled", v->page_size);
	for (unsigned i = 0; i < rs->n; i++) {
		uint64_t pfn0 = rs->r[i].start / PAGE, k = 0;
		while (k < rs->r[i].pages) {
			uint32_t type;
			uint64_t order;
			if (!a_struct_page(mem, v, pfn0 + k, sp)) {
				k++;
				continue;
			}
			memcpy(&type, sp + v->off_mapcount, 4);
			memcpy(&order, sp + v->off_private, 8);
			if ((type & 0xff000000u) != v->buddy_value || order > 10) {
				k++;
				continue;
			}
			uint64_t n = 1ULL << order;
			if (n > rs->r[i].pages - k)
				n = rs->r[i].pages - k;
			for (uint64_t j = 0; j < n; j++)
				map_clear(map, bit0 + k + j);
			free_pages += n;
			k += n;
		}
		bit0 += rs->r[i].pages;
	}
	return free_pages;
}

static uint64_t round_page(uint64_t n) { return (n + PAGE - 1) & ~(PAGE - 1); }

static uint64_t header_sum(const struct kjump_header *h)
{
	return kjump_sum(h, offsetof(struct kjump_header, header_sum), KJUMP_SUM_SEED);
}

/* B: save A. Reads A's RAM through /dev/mem (A's RAM is not System RAM in
 * B, so read_mem maps it page by page), compresses each saved page with
 * LZ4, and writes header, map, lengths and data to DEV, then fsyncs. */
static int cmd_save(const char *dev, int skip_free, int count_only)
{
	static struct kjump_header h;
	struct ranges rs;
	struct vmci v = { 0 };
	double t0 = now();
	uint64_t jbe = jump_back_entry();
	parse_ranges(&rs);
	int mem = open("/dev/mem", O_RDONLY);
	if (mem < 0)
		die("open /dev/mem");

	memset(&h, 0, sizeof h);
	memcpy(h.magic, KJUMP_MAGIC, 8);
	h.jump_back_entry = jbe;
	h.nranges = rs.n;
	for (unsigned i = 0; i < rs.n; i++) {
		h.ranges[i] = rs.r[i];
		h.pages_total += rs.r[i].pages;
	}
	h.map_off = PAGE;
	h.map_bytes = round_page((h.pages_total + 7) / 8);
	uint8_t *map = xmalloc(h.map_bytes);
	memset(map, 0xff, (h.pages_total + 7) / 8);
	if (h.pages_total % 8)
		map[h.pages_total / 8] = (1u << (h.pages_total % 8)) - 1;

	uint64_t free_pages = 0;
	if (skip_free || count_only) {
		read_vmcoreinfo(mem, &v);
		snprintf(h.release, sizeof h.release, "%s", v.release);
		double tf = now();
		free_pages = mark_free_pages(mem, &v, &rs, map);
		printf("kjump: A has %" PRIu64 " pages in %u ranges, %" PRIu64 " free (%.1f%%), %" PRIu64
		       " in use (%" PRIu64 " MiB); free-page scan %.2f s\n",
		       h.pages_total, rs.n, free_pages, 100.0 * free_pages / h.pages_total,
		       h.pages_total - free_pages, (h.pages_total - free_pages) * PAGE >> 20, now() - tf);
		if (count_only)
			return 0;
		h.flags |= KJUMP_F_SKIP_FREE;
	}
	h.pages_saved = h.pages_total - free_pages;
	h.len_off = h.map_off + h.map_bytes;
	h.len_bytes = round_page(h.pages_saved * 2);
	h.data_off = h.len_off + h.len_bytes;
	uint16_t *lens = xmalloc(h.len_bytes);

	int out = open(dev, O_RDWR);
	if (out < 0)
		die("open %s", dev);
	/* Data goes out in 4 MiB blocks; a compressed page may take up to
	 * LZ4_COMPRESSBOUND(4096) but is stored raw when it does not shrink. */
	const size_t OUTBUF = 4 << 20, CHUNK = 1 << 20;
	uint8_t *obuf = xmalloc(OUTBUF + PAGE), *ibuf = xmalloc(CHUNK);
	size_t ofill = 0;
	uint64_t opos = h.data_off, bit = 0, saved = 0;
	uint64_t dsum = KJUMP_SUM_SEED;
	for (unsigned i = 0; i < rs.n; i++) {
		for (uint64_t off = 0; off < rs.r[i].pages * PAGE; off += CHUNK) {
			size_t len = rs.r[i].pages * PAGE - off < CHUNK ? rs.r[i].pages * PAGE - off : CHUNK;
			uint64_t npg = len / PAGE, first = bit;
			int any = 0;
			for (uint64_t p = 0; p < npg; p++)
				any |= map_test(map, first + p);
			bit += npg;
			if (!any)
				continue;
			pread_all(mem, ibuf, len, rs.r[i].start + off, "A's RAM");
			for (uint64_t p = 0; p < npg; p++) {
				if (!map_test(map, first + p))
					continue;
				int n = LZ4_compress_default((char *)ibuf + p * PAGE, (char *)obuf + ofill, PAGE, PAGE - 1);
				if (n <= 0) {
					memcpy(obuf + ofill, ibuf + p * PAGE, PAGE);
					n = PAGE;
				}
				lens[saved++] = n;
				ofill += n;
				if (ofill >= OUTBUF) {
					size_t whole = ofill & ~(size_t)7;
					dsum = kjump_sum(obuf, whole, dsum);
					pwrite_all(out, obuf, whole, opos);
					opos += whole;
					memmove(obuf, obuf + whole, ofill - whole);
					ofill -= whole;
				}
			}
		}
	}
	if (saved != h.pages_saved)
		die("saved %" PRIu64 " pages, expected %" PRIu64, saved, h.pages_saved);
	/* The tail, zero-padded to 8 bytes for the sum (and to a page). */
	size_t tail = (ofill + 7) & ~(size_t)7;
	memset(obuf + ofill, 0, tail - ofill);
	dsum = kjump_sum(obuf, tail, dsum);
	pwrite_all(out, obuf, tail, opos);
	h.data_bytes = opos + tail - h.data_off;
	h.data_sum = dsum;
	h.map_sum = kjump_sum(map, h.map_bytes, KJUMP_SUM_SEED);
	h.len_sum = kjump_sum(lens, h.len_bytes, KJUMP_SUM_SEED);
	pwrite_all(out, map, h.map_bytes, h.map_off);
	pwrite_all(out, lens, h.len_bytes, h.len_off);
	if (fsync(out) != 0)
		die("fsync %s", dev);
	/* The header last, after everything it vouches for is on disk. */
	h.header_sum = header_sum(&h);
	uint8_t *hp = xmalloc(PAGE);
	memcpy(hp, &h, sizeof h);
	pwrite_all(out, hp, PAGE, 0);
	if (fsync(out) != 0)
		die("fsync %s", dev);
	close(out);
	double dt = now() - t0;
	printf("kjump: saved A (entry 0x%" PRIx64 "): %" PRIu64 " of %" PRIu64 " pages, %" PRIu64
	       " MiB of RAM as %" PRIu64 " MiB in %.2f s\n",
	       jbe, h.pages_saved, h.pages_total, h.pages_saved * PAGE >> 20,
	       (h.data_off + h.data_bytes) >> 20, dt);
	return 0;
}

/* ---- C: read and check an image ---- */

struct image {
	struct kjump_header h;
	uint8_t *map;
	uint16_t *lens;
	uint8_t *data;
};

static void read_image(const char *dev, struct image *im, int want_data)
{
	uint8_t *hp = xmalloc(PAGE);
	int fd = open(dev, O_RDONLY);
	if (fd < 0)
		die("open %s", dev);
	pread_all(fd, hp, PAGE, 0, "header");
	memcpy(&im->h, hp, sizeof im->h);
	struct kjump_header *h = &im->h;
	if (memcmp(h->magic, KJUMP_MAGIC, 8) != 0)
		die("%s: no image (magic)", dev);
	if (header_sum(h) != h->header_sum)
		die("%s: header checksum mismatch", dev);
	if (h->nranges == 0 || h->nranges > KJUMP_MAX_RANGES || h->map_off != PAGE ||
	    h->map_bytes != round_page((h->pages_total + 7) / 8) || h->len_off != h->map_off + h->map_bytes ||
	    h->len_bytes != round_page(h->pages_saved * 2) || h->data_off != h->len_off + h->len_bytes ||
	    h->data_bytes > h->pages_saved * PAGE + 8)
		die("%s: inconsistent header", dev);
	im->map = xmalloc(h->map_bytes);
	im->lens = xmalloc(h->len_bytes);
	pread_all(fd, im->map, h->map_bytes, h->map_off, "map");
	pread_all(fd, im->lens, h->len_bytes, h->len_off, "lengths");
	if (kjump_sum(im->map, h->map_bytes, KJUMP_SUM_SEED) != h->map_sum)
		die("%s: page map checksum mismatch", dev);
	if (kjump_sum(im->lens, h->len_bytes, KJUMP_SUM_SEED) != h->len_sum)
		die("%s: length table checksum mismatch", dev);
	uint64_t total = 0, saved = 0;
	for (uint64_t b = 0; b < h->pages_total; b++)
		saved += map_test(im->map, b);
	for (uint64_t i = 0; i < h->pages_saved; i++) {
		if (im->lens[i] == 0 || im->lens[i] > PAGE)
			die("%s: page %" PRIu64 ": bad length %u", dev, i, im->lens[i]);
		total += im->lens[i];
	}
	if (saved != h->pages_saved || h->data_bytes != ((total + 7) & ~(uint64_t)7))
		die("%s: map, lengths and data disagree", dev);
	if (want_data) {
		im->data = xmalloc(round_page(h->data_bytes));
		pread_all(fd, im->data, h->data_bytes, h->data_off, "data");
		if (kjump_sum(im->data, h->data_bytes, KJUMP_SUM_SEED) != h->data_sum)
			die("%s: data checksum mismatch", dev);
	}
	close(fd);
	printf("kjump: image on %s checks: A's entry 0x%" PRIx64 ", %u ranges, %" PRIu64 " of %" PRIu64
	       " pages saved, %" PRIu64 " MiB of data\n",
	       dev, h->jump_back_entry, h->nranges, h->pages_saved, h->pages_total, h->data_bytes >> 20);
}

/* C, plain kexec_load: every range of A whole (free pages zero) as one
 * segment; the kernel stages all of it, so A's RAM must fit in half of C's. */
static int cmd_restore(const char *dev)
{
	struct image im;
	double t0 = now();
	read_image(dev, &im, 1);
	struct kjump_header *h = &im.h;
	struct kexec_segment segs[KJUMP_MAX_RANGES];
	uint64_t bit = 0, pi = 0, dpos = 0;
	if (h->nranges > 16)
		die("%u ranges: kexec_load takes at most 16 segments", h->nranges);
	double t1 = now();
	for (unsigned i = 0; i < h->nranges; i++) {
		uint64_t bytes = h->ranges[i].pages * PAGE;
		uint8_t *buf = xmalloc(bytes);
		for (uint64_t p = 0; p < h->ranges[i].pages; p++, bit++) {
			if (!map_test(im.map, bit))
				continue;
			unsigned n = im.lens[pi++];
			if (n == PAGE)
				memcpy(buf + p * PAGE, im.data + dpos, PAGE);
			else if (LZ4_decompress_safe((char *)im.data + dpos, (char *)buf + p * PAGE, n, PAGE) != (int)PAGE)
				die("page %" PRIu64 " of range %u does not decompress", p, i);
			dpos += n;
		}
		segs[i] = (struct kexec_segment){ buf, bytes, (void *)h->ranges[i].start, bytes };
	}
	double t2 = now();
	printf("kjump: read and checked in %.2f s, decompressed in %.2f s\n", t1 - t0, t2 - t1);
	if (kexec_load(h->jump_back_entry, h->nranges, segs, KEXEC_ARCH_DEFAULT) != 0)
		die("kexec_load(%u segments, entry 0x%" PRIx64 ")", h->nranges, h->jump_back_entry);
	printf("kjump: kexec_load of %u segments in %.2f s; entering A at 0x%" PRIx64 "\n", h->nranges,
	       now() - t2, h->jump_back_entry);
	kexec_now();
	return 1;
}

static uint64_t read_file(const char *path, uint8_t **out)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0)
		die("open %s", path);
	*out = xmalloc(st.st_size + 1);
	pread_all(fd, *out, st.st_size, 0, path);
	close(fd);
	return st.st_size;
}

/* The lowest run of at least NEED bytes of A's pages that the image does
 * not hold (free in A), page aligned, above 16 MiB; 0 if none. */
static uint64_t free_run(const struct image *im, uint64_t need)
{
	uint64_t bit = 0, pages = need / PAGE;
	for (unsigned i = 0; i < im->h.nranges; i++) {
		uint64_t run = 0;
		for (uint64_t p = 0; p < im->h.ranges[i].pages; p++, bit++) {
			uint64_t addr = im->h.ranges[i].start + p * PAGE;
			run = (!map_test(im->map, bit) && addr >= (16 << 20)) ? run + 1 : 0;
			if (run == pages)
				return addr + PAGE - need;
		}
	}
	return 0;
}

/* C, through the stub: one segment [stub][params][map][lengths][data]
 * [scratch] at BASE; C's kernel stages only that (the compressed image),
 * so the image, not A's RAM, must fit in half of C's RAM. BASE "auto" puts
 * it in pages that are free in A (never written by the stub). */
static int cmd_stub_restore(const char *dev, const char *stub_path, const char *base_arg)
{
	struct image im;
	double t0 = now();
	read_image(dev, &im, 1);
	struct kjump_header *h = &im.h;
	uint8_t *stub;
	uint64_t stub_len = read_file(stub_path, &stub);
	uint64_t params_off = round_page(stub_len);
	uint64_t map_off = params_off + PAGE;
	uint64_t len_off = map_off + h->map_bytes;
	uint64_t data_off = len_off + h->len_bytes;
	uint64_t scratch_off = data_off + round_page(h->data_bytes);
	uint64_t top = 0;
	for (unsigned i = 0; i < h->nranges; i++)
		if (h->ranges[i].start + h->ranges[i].pages * PAGE > top)
			top = h->ranges[i].start + h->ranges[i].pages * PAGE;
	/* scratch: 64 KiB of stack, then page tables: PML4, PDPT, one PD per GiB */
	uint64_t gib = (top + (1ULL << 30) - 1) >> 30;
	uint64_t base = strcmp(base_arg, "auto") == 0 ? 0 : strtoull(base_arg, NULL, 0);
	uint64_t scratch_bytes = 16 * PAGE + (2 + gib + 1) * PAGE;
	uint64_t seg_bytes = scratch_off + scratch_bytes;
	if (base == 0) {
		base = free_run(&im, seg_bytes + (2ULL << 20));
		if (base == 0)
			die("no run of %" PRIu64 " MiB free in A for the stub's segment", seg_bytes >> 20);
		base = (base + (2ULL << 20) - 1) & ~((2ULL << 20) - 1);
		printf("kjump: stub segment placed in A's free pages at 0x%" PRIx64 "\n", base);
	}
	if (base % PAGE)
		die("stub base 0x%" PRIx64 " not page aligned", base);
	if (base + seg_bytes > top) {
		gib = (base + seg_bytes + (1ULL << 30) - 1) >> 30;
		scratch_bytes = 16 * PAGE + (2 + gib + 1) * PAGE;
		seg_bytes = scratch_off + scratch_bytes;
	}
	uint8_t *seg = xmalloc(scratch_off);
	memcpy(seg, stub, stub_len);
	struct kjump_stub_params *pp = (struct kjump_stub_params *)(seg + params_off);
	pp->magic = KJUMP_STUB_MAGIC;
	pp->jump_back_entry = h->jump_back_entry;
	pp->map_limit = gib << 30;
	pp->map_off = map_off;
	pp->len_off = len_off;
	pp->data_off = data_off;
	pp->data_bytes = h->data_bytes;
	pp->scratch_off = scratch_off;
	pp->scratch_bytes = scratch_bytes;
	pp->nranges = h->nranges;
	memcpy(pp->ranges, h->ranges, sizeof pp->ranges);
	memcpy(seg + map_off, im.map, h->map_bytes);
	memcpy(seg + len_off, im.lens, h->len_bytes);
	memcpy(seg + data_off, im.data, h->data_bytes);
	free(im.data);
	struct kexec_segment s = { seg, scratch_off, (void *)base, seg_bytes };
	double t1 = now();
	printf("kjump: read and checked in %.2f s; stub segment %" PRIu64 " KiB at 0x%" PRIx64
	       " (stub %" PRIu64 " bytes, data %" PRIu64 " KiB), identity map to %" PRIu64 " GiB\n",
	       t1 - t0, seg_bytes >> 10, base, stub_len, h->data_bytes >> 10, gib);
	if (kexec_load(base, 1, &s, KEXEC_ARCH_DEFAULT) != 0)
		die("kexec_load(stub segment at 0x%" PRIx64 ", %" PRIu64 " bytes)", base, seg_bytes);
	printf("kjump: kexec_load in %.2f s; entering the stub, then A at 0x%" PRIx64 "\n", now() - t1,
	       h->jump_back_entry);
	kexec_now();
	return 1;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && strcmp(argv[1], "back") == 0)
		return cmd_back();
	if (argc >= 3 && strcmp(argv[1], "save") == 0)
		return cmd_save(argv[2], argc >= 4 && strcmp(argv[3], "--skip-free") == 0, 0);
	if (argc >= 2 && strcmp(argv[1], "free") == 0)
		return cmd_save(NULL, 0, 1);
	if (argc >= 3 && strcmp(argv[1], "restore") == 0)
		return cmd_restore(argv[2]);
	if (argc >= 5 && strcmp(argv[1], "stub-restore") == 0)
		return cmd_stub_restore(argv[2], argv[3], argv[4]);
	fprintf(stderr, "usage: kjump back | save DEV [--skip-free] | free | restore DEV | "
			"stub-restore DEV STUB ADDR|auto\n");
	return 2;
}
