/// The pages of a loaded kexec image, read from the kernel's memory: the
/// list a `struct kimage` starts at its `head` (include/linux/kexec.h,
/// kernel/kexec_core.c). Each entry is a physical address with a flag in
/// its low bits: a destination (where the next source pages go), a source
/// page, the next page of entries, or the end.
///
/// Why A reads this: after a KEXEC_PRESERVE_CONTEXT jump comes
/// back, relocate_kernel has swapped every destination page with its source
/// page, so the hibernate kernel's pages are in A's source pages, not in its
/// window. Destination page N of the window holds, in A, the bytes of its
/// source page.
public enum KexecImageList {
    static let destination: UInt64 = 0x1, indirection: UInt64 = 0x2, done: UInt64 = 0x4, source: UInt64 = 0x8
    /// `struct kimage`: head at 0, entry at 8, last_entry at 16, start at 24.
    public static let startOffset: UInt64 = 24

    /// The loaded image's `struct kimage` words (head, entry, last_entry,
    /// start), from the kernel variable `kexec_image` at virtual address
    /// `symbol` (KASLR applied): its pointer and the struct read through
    /// the kernel's page tables (`translate`).
    public static func loaded(symbol: UInt64, translate: (UInt64) throws -> UInt64?,
                              read: (UInt64, UnsafeMutableRawBufferPointer) throws -> Void) throws -> [UInt64] {
        guard let at = try translate(symbol) else { throw FormatError.field("kexec_image", "\(hexAddress(symbol)) is not mapped") }
        var pointer: UInt64 = 0
        try withUnsafeMutableBytes(of: &pointer) { try read(at, $0) }
        guard pointer != 0 else { throw FormatError.field("kexec_image", "is NULL (no kexec image loaded)") }
        guard let kimage = try translate(pointer) else { throw FormatError.field("kexec_image", "points at \(hexAddress(pointer)), not mapped") }
        var words = [UInt64](repeating: 0, count: 4)
        try words.withUnsafeMutableBytes { try read(kimage, $0) }
        return words
    }

    /// Destination page -> source page, walking from `head` through at most
    /// `limit` entries (a list longer than that, or without its end, is refused).
    public static func sources(head: UInt64, limit: Int = 1 << 22,
                               read: (UInt64, UnsafeMutableRawBufferPointer) throws -> Void) throws(FormatError) -> [UInt64: UInt64] {
        let pageMask = ~(ImageHeader.pageSize - 1)
        var map: [UInt64: UInt64] = [:]
        var entry = head, dest: UInt64 = 0
        var page: UInt64 = 0, slot: UInt64 = 0
        var entryBytes: UInt64 = 0
        for _ in 0..<limit {
            if entry & done != 0 { return map }
            if entry & indirection != 0 {
                page = entry & pageMask
                slot = 0
            } else {
                if entry & destination != 0 { dest = entry & pageMask }
                if entry & source != 0 {
                    map[dest] = entry & pageMask
                    dest += ImageHeader.pageSize
                }
                slot += 1
            }
            guard page != 0, slot < ImageHeader.pageSize / 8 else { throw .field("kexec image list", "an entry outside any list page") }
            do {
                try withUnsafeMutableBytes(of: &entryBytes) { try read(page + slot * 8, $0) }
            } catch {
                throw .field("kexec image list", "unreadable at \(page + slot * 8)")
            }
            entry = UInt64(littleEndian: entryBytes)
            if entry == 0 { return map }
        }
        throw .field("kexec image list", "longer than \(limit) entries")
    }
}
