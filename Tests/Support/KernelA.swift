import ResumeCore

/// A small kernel A as the hibernate kernel B sees it through /dev/mem:
/// 4 MiB of RAM at 1 MiB, its page tables, its struct pages (64 bytes
/// each, at the 6.12 offsets) mapped at SYMBOL(vmemmap) by a 2 MiB leaf,
/// its RAM in the direct map by a 1 GiB leaf, free buddy blocks, a per-CPU
/// free list (and lists and pages that only look like one), and its
/// vmcoreinfo note. Each used page holds a
/// pattern of its own address, so a restore can be checked page by page.
public struct KernelA {
    public static let ramStart: UInt64 = 0x10_0000
    public static let ramPages: UInt64 = 1024
    public static let release = "6.1.0-test-amd64"
    public static let buildID: [UInt8] = (0..<20).map { UInt8($0 * 11 + 1) }
    public static let noteAddress: UInt64 = 0x11_0000
    public static let reentry: UInt64 = 0x11_80f2
    /// One free block of order 8 (256 pages) at 3 MiB, and one of order 0.
    public static let freeBlocks: [(pfn: UInt64, order: UInt64)] = [(0x300, 8), (0x4f0, 0)]
    /// A per-CPU free list: its head in the direct map, its pages in ring order.
    public static let perCPUList: (head: UInt64, pfns: [UInt64]) = (0x12_4100, [0x400, 0x4a0, 0x401])
    /// Pages that look free but are on no free list: one whose lru points
    /// into the list above (stale), one with poisoned links, and two on a
    /// list with a page in use (reference count 1).
    public static let lookFreeButUsed: [UInt64] = [0x402, 0x403, 0x410]
    static let directMap: UInt64 = 0xffff_8880_0000_0000
    static let directPUD: UInt64 = 0x12_3000

    static let vmemmap: UInt64 = 0xffff_ea00_0000_0000
    static let pgd: UInt64 = 0x12_0000, pud: UInt64 = 0x12_1000, pmd: UInt64 = 0x12_2000
    static let structPages: UInt64 = 0x20_0000

    public var memory: MemoryImage

    public static var ramEnd: UInt64 { ramStart + ramPages * 4096 }
    /// A's real-mode trampoline (`resume_agent.jump_trampoline=98000-9efff`).
    public static let trampolinePFNs: Range<UInt64> = 0x98..<0x9f
    public static var savedPages: UInt64 { ramPages - freeBlocks.reduce(0) { $0 + (1 << $1.order) } - UInt64(perCPUList.pfns.count) }

    public init(vmcoreinfoExtra: String = "") {
        memory = MemoryImage([UInt8](repeating: 0, count: Int(Self.ramEnd)))
        for pfn in Array(Self.trampolinePFNs) + Array((Self.ramStart / 4096)..<(Self.ramEnd / 4096)) where !Self.isFree(pfn) {
            Self.pattern(pfn).withUnsafeBytes { try! memory.write($0, at: pfn * 4096) }
        }
        func put64(_ address: UInt64, _ value: UInt64) {
            withUnsafeBytes(of: value.littleEndian) { try! memory.write($0, at: address) }
        }
        // Page tables: vmemmap -> a 2 MiB leaf at structPages.
        for table in [Self.pgd, Self.pud, Self.pmd] {
            [UInt8](repeating: 0, count: 4096).withUnsafeBytes { try! memory.write($0, at: table) }
        }
        put64(Self.pgd + ((Self.vmemmap >> 39) & 511) * 8, Self.pud | 0x63)
        put64(Self.pud + ((Self.vmemmap >> 30) & 511) * 8, Self.pmd | 0x63)
        put64(Self.pmd + ((Self.vmemmap >> 21) & 511) * 8, Self.structPages | 0xe3)
        [UInt8](repeating: 0, count: 4096).withUnsafeBytes { try! memory.write($0, at: Self.directPUD) }
        put64(Self.pgd + ((Self.directMap >> 39) & 511) * 8, Self.directPUD | 0x63)
        put64(Self.directPUD, 0xe3)
        // Struct pages: zero, except free block heads (page_type at 48, order at 40).
        [UInt8](repeating: 0, count: Int(Self.ramEnd / 4096) * 64).withUnsafeBytes { try! memory.write($0, at: Self.structPages) }
        for (pfn, order) in Self.freeBlocks {
            withUnsafeBytes(of: UInt32(0xf000_0000 | 0x80).littleEndian) { try! memory.write($0, at: Self.structPages + pfn * 64 + 48) }
            put64(Self.structPages + pfn * 64 + 40, order)
        }
        // Pages with no type (_mapcount -1 at 48), reference count 0 (at
        // 52), no mapping (at 24), linked by their lru (at 8).
        func lru(_ pfn: UInt64) -> UInt64 { Self.vmemmap + pfn * 64 + 8 }
        func looksFree(_ pfn: UInt64, next: UInt64, prev: UInt64, refcount: UInt32 = 0) {
            withUnsafeBytes(of: UInt32(0xffff_ffff)) { try! memory.write($0, at: Self.structPages + pfn * 64 + 48) }
            withUnsafeBytes(of: refcount.littleEndian) { try! memory.write($0, at: Self.structPages + pfn * 64 + 52) }
            put64(Self.structPages + pfn * 64 + 8, next)
            put64(Self.structPages + pfn * 64 + 16, prev)
        }
        func ring(head: UInt64, _ pfns: [UInt64], refcounts: [UInt32]) {
            let nodes = [Self.directMap + head] + pfns.map(lru)
            for i in nodes.indices {
                let next = nodes[(i + 1) % nodes.count], prev = nodes[(i + nodes.count - 1) % nodes.count]
                if i == 0 {
                    put64(head, next)
                    put64(head + 8, prev)
                } else {
                    looksFree(pfns[i - 1], next: next, prev: prev, refcount: refcounts[i - 1])
                }
            }
        }
        ring(head: Self.perCPUList.head, Self.perCPUList.pfns, refcounts: [0, 0, 0])
        looksFree(0x402, next: lru(0x400), prev: Self.directMap + Self.perCPUList.head)
        looksFree(0x403, next: 0xdead_0000_0000_0100, prev: 0xdead_0000_0000_0122)
        ring(head: 0x12_4200, [0x410, 0x411], refcounts: [0, 1])
        let text = """
        OSRELEASE=\(Self.release)
        BUILD-ID=\(Self.buildID.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined())
        PAGESIZE=4096
        SYMBOL(init_top_pgt)=ffffffff80120000
        SYMBOL(vmemmap)=ffffea0000000000
        SIZE(page)=64
        OFFSET(page.flags)=0
        OFFSET(page._mapcount)=48
        OFFSET(page.private)=40
        OFFSET(page.lru)=8
        OFFSET(page._refcount)=52
        OFFSET(page.mapping)=24
        NUMBER(phys_base)=0
        NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)=-268435456
        NUMBER(MAX_PAGE_ORDER)=10
        \(vmcoreinfoExtra)
        """
        let desc = Array(text.utf8)
        var note: [UInt8] = []
        for v in [UInt32(11), UInt32(desc.count), UInt32(0)] { withUnsafeBytes(of: v.littleEndian) { note += $0 } }
        note += Array("VMCOREINFO".utf8) + [0, 0]
        note += desc
        note.withUnsafeBytes { try! memory.write($0, at: Self.noteAddress) }
        Self.noteSize = UInt64(note.count)
    }

    public nonisolated(unsafe) static var noteSize: UInt64 = 0

    public static func isFree(_ pfn: UInt64) -> Bool {
        freeBlocks.contains { pfn >= $0.pfn && pfn < $0.pfn + (1 << $0.order) } || perCPUList.pfns.contains(pfn)
    }

    /// What a used page of A holds: its own address, repeated, in the
    /// pages the test writes (page tables and the note overwrite theirs).
    public static func pattern(_ pfn: UInt64) -> [UInt8] {
        (0..<4096).map { UInt8(truncatingIfNeeded: (pfn &* 2654435761) >> (UInt64($0 % 8) * 4)) }
    }

    /// The firmware memory map B and C see (sysfs files for a FakeSystem).
    public static func firmwareMap(top: UInt64 = 64 << 20) -> [String: String] {
        let entries: [(UInt64, UInt64, String)] = [(0, 0x9_fbff, "System RAM"), (0x9_fc00, 0xf_ffff, "Reserved"),
                                                    (0x10_0000, top - 1, "System RAM")]
        var files: [String: String] = [:]
        for (i, (s, e, t)) in entries.enumerated() {
            files["/sys/firmware/memmap/\(i)/start"] = "0x" + String(s, radix: 16) + "\n"
            files["/sys/firmware/memmap/\(i)/end"] = "0x" + String(e, radix: 16) + "\n"
            files["/sys/firmware/memmap/\(i)/type"] = t + "\n"
        }
        return files
    }

    public static func firmwareMapHash(top: UInt64 = 64 << 20) -> UInt64 {
        let files = firmwareMap(top: top)
        return FirmwareMemoryMap.read({ files[$0] })!.hash
    }

    /// B's command line as `resume-image hibernate --kexec-jump` writes it.
    public static func hibernateCommandLine(target: String = "/dev/vdb", then: String = "poweroff") -> String {
        "console=ttyS0 kexec_jump_back_entry=0x\(String(reentry, radix: 16)) resume_agent.jump_save=\(target) "
            + "resume_agent.jump_then=\(then) resume_agent.jump_ram=\(String(ramStart, radix: 16))-\(String(ramEnd - 1, radix: 16)) "
            + "resume_agent.jump_vmcoreinfo=0x\(String(noteAddress, radix: 16)),\(String(noteSize, radix: 16)) "
            + "resume_agent.jump_memmap=\(String(firmwareMapHash(), radix: 16))"
    }

    /// /sys/kernel/notes of a kernel with `buildID`.
    public static func kernelNotes(buildID: [UInt8] = KernelA.buildID) -> [UInt8] {
        var notes: [UInt8] = []
        for v in [UInt32(6), UInt32(4), UInt32(1)] { withUnsafeBytes(of: v.littleEndian) { notes += $0 } }
        notes += Array("Linux".utf8) + [0, 0, 0] + [1, 2, 3, 4]
        for v in [UInt32(4), UInt32(buildID.count), UInt32(3)] { withUnsafeBytes(of: v.littleEndian) { notes += $0 } }
        notes += Array("GNU".utf8) + [0] + buildID
        return notes
    }
}
