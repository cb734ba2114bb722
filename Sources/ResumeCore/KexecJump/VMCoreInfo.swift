/// Kernel A's vmcoreinfo note, as the hibernate kernel B reads it from A's
/// memory: the few facts B needs to save A (its release and build id, and
/// where A's struct pages are, to tell free pages), read the way
/// makedumpfile reads a vmcore (kernel/vmcore_info.c, 6.12).
public struct VMCoreInfo: Sendable, Equatable {
    public var release: String
    public var buildID: [UInt8]
    /// Where free pages can be told, or nil when a field is missing or has
    /// a value this code does not handle (then every page is saved).
    public var pages: StructPages?

    public struct StructPages: Sendable, Equatable {
        /// SYMBOL(vmemmap): the virtual base of the struct page array.
        public var vmemmap: UInt64
        /// SYMBOL(init_top_pgt), physical: A's kernel page table root.
        public var pageTableRoot: UInt64
        public var fiveLevel: Bool
        /// SIZE(page), OFFSET(page._mapcount) (the page_type union),
        /// OFFSET(page.private) (a free block's order).
        public var structSize: UInt64, typeOffset: UInt64, privateOffset: UInt64
        /// NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE), as the 32-bit page_type holds it.
        public var buddyType: UInt32
        /// The largest order a free block can have (NUMBER(MAX_PAGE_ORDER), else 10).
        public var maxOrder: UInt64
        /// Where pages on per-CPU free lists can be told, or nil (then they are saved).
        public var freeLists: FreeListFields?
    }

    /// OFFSET(page.lru), OFFSET(page._refcount), OFFSET(page.mapping):
    /// what tells a page on a per-CPU free list (`FreePageScan`).
    public struct FreeListFields: Sendable, Equatable {
        public var lruOffset: UInt64, refcountOffset: UInt64, mappingOffset: UInt64
    }

    /// The largest note B reads (6.12's is under 4 KiB: VMCOREINFO_BYTES).
    public static let maxNoteBytes: UInt64 = 64 << 10

    /// Parses the note bytes (an ELF note: namesz, descsz, type, "VMCOREINFO", text).
    public static func parse(note: [UInt8]) throws(FormatError) -> VMCoreInfo {
        func u32(_ at: Int) -> UInt32 {
            UInt32(note[at]) | UInt32(note[at + 1]) << 8 | UInt32(note[at + 2]) << 16 | UInt32(note[at + 3]) << 24
        }
        guard note.count >= 24 else { throw .field("vmcoreinfo", "note of \(note.count) bytes is too short") }
        let nameSize = Int(u32(0)), descSize = Int(u32(4))
        let textStart = 12 + ((nameSize + 3) & ~3)
        guard nameSize == 11, Array(note[12..<22]) == Array("VMCOREINFO".utf8),
              descSize <= note.count, textStart <= note.count - descSize else {
            throw .field("vmcoreinfo", "no VMCOREINFO note at the address given")
        }
        var values: [String: String] = [:]
        for line in note[textStart..<(textStart + descSize)].split(separator: 0x0A) {
            guard let eq = line.firstIndex(of: 0x3D) else { continue }
            values[String(decoding: line[..<eq], as: UTF8.self)] = String(decoding: line[(eq + 1)...], as: UTF8.self)
        }
        guard let release = values["OSRELEASE"], !release.isEmpty, release.utf8.count < 128,
              release.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw .field("vmcoreinfo", "has no printable OSRELEASE")
        }
        guard let idText = values["BUILD-ID"], let id = hexBytes(idText), !id.isEmpty, id.count <= ImageHeader.buildIDCapacity else {
            throw .field("vmcoreinfo", "has no BUILD-ID (the kernel must be linked with a build id)")
        }
        return VMCoreInfo(release: release, buildID: id, pages: structPages(values))
    }

    static func structPages(_ v: [String: String]) -> StructPages? {
        func hex(_ key: String) -> UInt64? { v[key].flatMap { parseHex($0) } }
        func dec(_ key: String) -> Int64? { v[key].flatMap { Int64($0) } }
        guard v["PAGESIZE"] == "4096",
              let vmemmap = hex("SYMBOL(vmemmap)"), let topVirtual = hex("SYMBOL(init_top_pgt)"),
              let physBase = dec("NUMBER(phys_base)"), let size = dec("SIZE(page)"),
              let typeOffset = dec("OFFSET(page._mapcount)"), let privateOffset = dec("OFFSET(page.private)"),
              let buddy = dec("NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)"),
              topVirtual >= 0xffff_ffff_8000_0000, size > 0, size <= 256, 4096 % size == 0,
              typeOffset >= 0, typeOffset + 4 <= size, privateOffset >= 0, privateOffset + 8 <= size else { return nil }
        let maxOrder = dec("NUMBER(MAX_PAGE_ORDER)") ?? 10
        guard (0...20).contains(maxOrder) else { return nil }
        // __START_KERNEL_map: the kernel image's virtual base on x86-64.
        let root = topVirtual &- 0xffff_ffff_8000_0000 &+ UInt64(bitPattern: physBase)
        var lists: FreeListFields?
        if let lru = dec("OFFSET(page.lru)"), let refcount = dec("OFFSET(page._refcount)"), let mapping = dec("OFFSET(page.mapping)"),
           dec("OFFSET(list_head.next)") ?? 0 == 0, dec("OFFSET(list_head.prev)") ?? 8 == 8,
           lru >= 0, lru % 8 == 0, lru + 16 <= size, refcount >= 0, refcount + 4 <= size, mapping >= 0, mapping + 8 <= size {
            lists = FreeListFields(lruOffset: UInt64(lru), refcountOffset: UInt64(refcount), mappingOffset: UInt64(mapping))
        }
        return StructPages(vmemmap: vmemmap, pageTableRoot: root, fiveLevel: dec("NUMBER(pgtable_l5_enabled)") == 1,
                           structSize: UInt64(size), typeOffset: UInt64(typeOffset), privateOffset: UInt64(privateOffset),
                           // NUMBER() prints a C int: PGTY_buddy << 24 comes out negative.
                           buddyType: UInt32(truncatingIfNeeded: buddy), maxOrder: UInt64(maxOrder), freeLists: lists)
    }

    static func hexBytes(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        var i = 0
        while i < digits.count {
            guard let pair = UInt8(String(decoding: digits[i..<(i + 2)], as: UTF8.self), radix: 16) else { return nil }
            out.append(pair)
            i += 2
        }
        return out
    }
}

/// Tells A's free pages from its struct pages, as the kernel's own
/// snapshot leaves them out (it drains the per-CPU lists into the buddy
/// allocator first; B cannot, so it reads both):
/// - the head page of a free buddy block has page_type PGTY_buddy and the
///   block's order in page->private; the block's other pages carry no mark;
/// - a page on a per-CPU free list has no type, reference count 0 and no
///   mapping, and sits on a list (page->lru) whose every other member is
///   such a page and whose one node outside the struct page array is the
///   list's head. The list is what tells it: the pages after the first of a
///   high-order allocation without __GFP_COMP (kernel stacks, DMA buffers)
///   look the same but are on no list (their lru was poisoned when they
///   left one). Leaving those out, without the list check, was tried and A
///   did not come back. Of a high-order block on a per-CPU list only its
///   first page is known free; the rest are saved.
/// Reads A's memory through `read` (physical address, bytes), walking A's
/// page tables to find the struct pages, as makedumpfile does from a vmcore.
public struct FreePageScan {
    public typealias PhysicalRead = (_ address: UInt64, _ into: UnsafeMutableRawBufferPointer) throws -> Void
    let info: VMCoreInfo.StructPages
    let read: PhysicalRead
    private var cachedVirtualPage: UInt64 = .max
    private let cache = ScratchBuffer(count: 4096)
    /// Of the pages `markFree` left out, how many were on per-CPU free lists.
    public private(set) var onPerCPULists: UInt64 = 0

    public init(info: VMCoreInfo.StructPages, read: @escaping PhysicalRead) {
        self.info = info
        self.read = read
    }

    /// Clears the bits of `map` whose pages are free in A; returns how many.
    public mutating func markFree(in map: inout PageMap) throws -> UInt64 {
        var free: UInt64 = 0
        let entry = ScratchBuffer(count: Int(info.structSize))
        let topPFN = map.ranges.map { $0.end / ImageHeader.pageSize }.max() ?? 0
        var notOnAFreeList = Set<UInt64>()
        for (r, range) in map.ranges.enumerated() {
            let firstPFN = range.start / ImageHeader.pageSize
            var k: UInt64 = 0
            while k < range.pages {
                defer { k += 1 }
                guard map.isSaved(map.firstBit[r] + k), try structPage(firstPFN + k, into: entry.memory) else { continue }
                let type = entry.memory.loadUnaligned(fromByteOffset: Int(info.typeOffset), as: UInt32.self)
                let order = entry.memory.loadUnaligned(fromByteOffset: Int(info.privateOffset), as: UInt64.self)
                if type & 0xFF00_0000 == info.buddyType, order <= info.maxOrder {
                    let block = min(UInt64(1) << order, range.pages - k)
                    for p in 0..<block where map.isSaved(map.firstBit[r] + k + p) {
                        map.markFree(map.firstBit[r] + k + p)
                        free += 1
                    }
                    k += block - 1
                } else if let fields = info.freeLists, Self.looksFree(entry.memory, fields, type: type),
                          !notOnAFreeList.contains(firstPFN + k) {
                    let (members, isFreeList) = try freeList(from: firstPFN + k, fields, topPFN: topPFN)
                    guard isFreeList else {
                        // Its members need not be walked again.
                        notOnAFreeList.formUnion(members + [firstPFN + k])
                        continue
                    }
                    for pfn in members {
                        guard let bit = map.bit(of: pfn * ImageHeader.pageSize), map.isSaved(bit) else { continue }
                        map.markFree(bit)
                        free += 1
                        onPerCPULists += 1
                    }
                }
            }
        }
        return free
    }

    /// No page type, reference count 0, no mapping: what a page on a
    /// per-CPU free list looks like (and not only such a page).
    static func looksFree(_ page: UnsafeMutableRawBufferPointer, _ fields: VMCoreInfo.FreeListFields, type: UInt32) -> Bool {
        type == 0xFFFF_FFFF
            && page.loadUnaligned(fromByteOffset: Int(fields.refcountOffset), as: UInt32.self) == 0
            && page.loadUnaligned(fromByteOffset: Int(fields.mappingOffset), as: UInt64.self) == 0
    }

    /// The pages met on the list `pfn`'s page->lru is on, and whether that
    /// list is a free list: a ring whose links agree both ways, with one
    /// head outside the struct page array, every other node a page that
    /// `looksFree` (when it is not, the caller saves the page). Walks at
    /// most `topPFN` + 1 nodes.
    mutating func freeList(from pfn: UInt64, _ fields: VMCoreInfo.FreeListFields, topPFN: UInt64) throws -> ([UInt64], Bool) {
        let structPagesEnd = info.vmemmap &+ topPFN &* info.structSize
        let entry = ScratchBuffer(count: Int(info.structSize))
        /// A node's (next, prev), and the page it is the lru of (nil for a head).
        func node(_ address: UInt64) throws -> (next: UInt64, prev: UInt64, pfn: UInt64?)? {
            guard address & 7 == 0, address >= 0xffff_8000_0000_0000 else { return nil }
            if address >= info.vmemmap, address < structPagesEnd {
                let offset = address - info.vmemmap
                guard offset % info.structSize == fields.lruOffset else { return nil }
                let page = offset / info.structSize
                guard try structPage(page, into: entry.memory) else { return nil }
                let type = entry.memory.loadUnaligned(fromByteOffset: Int(info.typeOffset), as: UInt32.self)
                guard Self.looksFree(entry.memory, fields, type: type) else { return nil }
                let at = Int(fields.lruOffset)
                return (entry.memory.loadUnaligned(fromByteOffset: at, as: UInt64.self),
                        entry.memory.loadUnaligned(fromByteOffset: at + 8, as: UInt64.self), page)
            }
            var words: (UInt64, UInt64) = (0, 0)
            for (i, word) in [address, address + 8].enumerated() {
                guard let physical = try translate(word) else { return nil }
                var value: UInt64 = 0
                try withUnsafeMutableBytes(of: &value) { try read(physical, $0) }
                if i == 0 { words.0 = value } else { words.1 = value }
            }
            return (words.0, words.1, nil)
        }
        let first = info.vmemmap &+ pfn &* info.structSize &+ fields.lruOffset
        var members: [UInt64] = []
        var heads = 0
        var current = first
        guard var here = try node(current) else { return ([], false) }
        for _ in 0...topPFN {
            if let page = here.pfn { members.append(page) } else { heads += 1 }
            guard heads <= 1, let next = try node(here.next), next.prev == current else { return (members, false) }
            current = here.next
            here = next
            if current == first { return (members, heads == 1) }
        }
        return (members, false)
    }

    /// A's struct page of `pfn`; false when A's page tables do not map it.
    mutating func structPage(_ pfn: UInt64, into out: UnsafeMutableRawBufferPointer) throws -> Bool {
        let virtual = info.vmemmap &+ pfn &* info.structSize
        let page = virtual & ~0xFFF
        if page != cachedVirtualPage {
            guard let physical = try translate(page) else { return false }
            try read(physical, cache.memory)
            cachedVirtualPage = page
        }
        let at = Int(virtual - page)
        out.copyMemory(from: UnsafeRawBufferPointer(rebasing: cache.memory[at..<(at + Int(info.structSize))]))
        return true
    }

    /// A kernel virtual address through A's page tables (4 or 5 levels;
    /// 1 GiB and 2 MiB leaves), or nil when it is not mapped.
    public func translate(_ virtual: UInt64) throws -> UInt64? {
        let addressMask: UInt64 = 0x000F_FFFF_FFFF_F000
        var table = info.pageTableRoot
        var entry: UInt64 = 0
        for shift: UInt64 in info.fiveLevel ? [48, 39, 30, 21, 12] : [39, 30, 21, 12] {
            try withUnsafeMutableBytes(of: &entry) { try read(table + ((virtual >> shift) & 511) * 8, $0) }
            guard entry & 1 == 1 else { return nil }
            let leafMask: UInt64 = (UInt64(1) << shift) - 1
            if shift == 12 || ((shift == 30 || shift == 21) && entry & 0x80 != 0) {
                return (entry & addressMask & ~leafMask) | (virtual & leafMask)
            }
            table = entry & addressMask
        }
        return nil
    }
}

/// The running kernel's own GNU build id, from /sys/kernel/notes (its
/// .notes section: ELF notes back to back), to compare with the one a
/// memory image records.
public enum KernelNotes {
    public static let path = "/sys/kernel/notes"

    public static func buildID(_ notes: [UInt8]) -> [UInt8]? {
        func u32(_ at: Int) -> Int {
            Int(UInt32(notes[at]) | UInt32(notes[at + 1]) << 8 | UInt32(notes[at + 2]) << 16 | UInt32(notes[at + 3]) << 24)
        }
        var at = 0
        while at + 12 <= notes.count {
            let nameSize = u32(at), descSize = u32(at + 4), type = u32(at + 8)
            let name = at + 12, desc = name + ((nameSize + 3) & ~3)
            guard nameSize <= 4096, descSize <= 4096, desc + descSize <= notes.count else { return nil }
            if type == 3, nameSize == 4, Array(notes[name..<(name + 4)]) == [0x47, 0x4E, 0x55, 0] { // NT_GNU_BUILD_ID, "GNU"
                return Array(notes[desc..<(desc + descSize)])
            }
            at = desc + ((descSize + 3) & ~3)
        }
        return nil
    }
}
