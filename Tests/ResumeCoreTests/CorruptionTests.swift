import XCTest
@testable import ResumeCore

/// Bad input: every byte that carries information is checked, and each
/// structural rule rejects with an error naming the field.
final class CorruptionTests: XCTestCase {
    func testFlippingAnyByteOfSmallImagesFailsVerify() throws {
        // Every kind in the format written today; the kernel image (the
        // largest header use) also as 1.0 and signed.
        var images = [try TestImages.kernelImage(), try TestImages.segmentsImage(), try TestImages.snapshotImage(),
                      try TestImages.memoryImage()]
        images += [try TestImages.with(.v1_0) { try TestImages.kernelImage() },
                   try TestImages.with(.signed) { try TestImages.kernelImage() }]
        for image in images {
            let good = image.bytes
            XCTAssertNil(TestImages.verifyError(good))
            for i in 0..<good.count {
                var bad = good
                bad[i] ^= 0x01
                XCTAssertNotNil(TestImages.verifyError(bad), "flipping byte \(i) went unnoticed")
            }
        }
    }

    func testTruncatedAnywhereFailsVerify() throws {
        let good = try TestImages.kernelImage().bytes
        for length in stride(from: 0, to: good.count, by: 97) {
            XCTAssertNotNil(TestImages.verifyError(Array(good.prefix(length))), "truncated to \(length)")
        }
    }

    // MARK: A table of corruptions and the error each must give.

    /// Re-seals a header after an edit, so deeper checks are reached.
    static func resealHeader(_ bytes: inout [UInt8]) {
        var block = Array(bytes.prefix(4096))
        let sum = ImageHeader.checksum(of: block)
        for i in 0..<8 { block[0x18 + i] = UInt8(truncatingIfNeeded: sum >> (8 * UInt64(i))) }
        bytes.replaceSubrange(0..<4096, with: block)
    }

    static func put(_ bytes: inout [UInt8], _ at: Int, _ value: UInt64, width: Int) {
        for i in 0..<width { bytes[at + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
    }

    static func u64(_ bytes: [UInt8], _ at: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) }
    }

    /// Re-seals the table digest (and then the header) after a table edit.
    static func resealTable(_ bytes: inout [UInt8]) {
        let offset = Int(u64(bytes, 0x48)), size = Int(u64(bytes, 0x50))
        let digest = SHA256.digest(Array(bytes[offset..<(offset + size)]))
        bytes.replaceSubrange(0x90..<0xB0, with: digest)
        resealHeader(&bytes)
    }

    func expect(_ mutate: (inout [UInt8]) -> Void, _ expected: FormatError, base: [UInt8],
                file: StaticString = #filePath, line: UInt = #line) {
        var bytes = base
        mutate(&bytes)
        let error = TestImages.verifyError(bytes)
        XCTAssertEqual(error as? FormatError, expected, "got \(String(describing: error))", file: file, line: line)
    }

    func testHeaderCorruptionsNameTheirField() throws {
        let k = try TestImages.kernelImage().bytes
        let put = Self.put, reseal = Self.resealHeader
        expect({ $0[0] = 0x58 }, .badMagic, base: k)
        expect({ put(&$0, 0x08, 2, 2) }, .unsupportedVersion(major: 2, minor: 1), base: k)
        expect({ $0[0x100] ^= 1 }, .headerChecksum(stored: Self.u64(k, 0x18), computed: {
            var b = Array(k.prefix(4096)); b[0x100] ^= 1; return ImageHeader.checksum(of: b) }()), base: k)
        expect({ $0[0x10] = 0x41 }, .unknownState, base: k)
        expect({ put(&$0, 0x20, 9, 4); reseal(&$0) }, .field("kind", "unknown value 9"), base: k)
        expect({ put(&$0, 0x24, 6, 4); reseal(&$0) }, .field("flags", "unknown bits 0x6"), base: k)
        expect({ put(&$0, 0x30, 5000, 4); reseal(&$0) },
               .field("chunk size", "5000 is not a power of two in 4096...4194304"), base: k)
        expect({ put(&$0, 0x38, 0, 4); reseal(&$0) }, .field("entry count", "0 is not in 1...16"), base: k)
        expect({ put(&$0, 0x38, 17, 4); reseal(&$0) }, .field("entry count", "17 is not in 1...16"), base: k)
        expect({ put(&$0, 0x40, 99, 8); reseal(&$0) }, .field("chunk count", "is 99, entries hold 6"), base: k)
        expect({ put(&$0, 0x58, 1 << 60, 8); reseal(&$0) },
               .field("image size", "\(UInt64(1) << 60) exceeds the format limit of 2^48"), base: k)
        expect({ put(&$0, 0x70, 0x1000, 8); reseal(&$0) }, .field("entry address", "must be 0 for a kernel image"), base: k)
        expect({ put(&$0, 0x200 + 64, 4, 4); reseal(&$0) },
               .field("entry 1 type", "segment is out of place in a kernel image (kernel, [initrd], [cmdline])"), base: k)
        expect({ put(&$0, 0x200 + 32, 4, 8); reseal(&$0) },
               .field("entry 0 chunk count", "is 4, expected 3 for 10000 bytes"), base: k)
        expect({ $0[0x700] = 1; reseal(&$0) }, .field("reserved bytes after entries", "are not zero"), base: k)
        expect({ put(&$0, 0xE00, 1, 4); reseal(&$0) },
               .field("signature length", "is 0, an Ed25519 signature is 72"), base: k)
        expect({ $0.removeLast() }, .truncated(what: "image", needed: UInt64(k.count), available: UInt64(k.count - 1)), base: k)
    }

    /// Format 1.1's rules (docs/FORMAT.md): each rejection names its field.
    func testFieldRulesNameTheirField() throws {
        let put = Self.put, reseal = Self.resealHeader
        let k = try TestImages.kernelImage().bytes
        let old = try TestImages.with(.v1_0) { try TestImages.kernelImage().bytes }
        let signed = try TestImages.with(.signed) { try TestImages.kernelImage().bytes }
        let snap = try TestImages.snapshotImage().bytes
        // Versions and algorithms.
        expect({ put(&$0, 0x34, 2, 4); reseal(&$0) }, .field("chunk hash", "XXH3-64 needs format 1.1, the header says 1.0"), base: old)
        expect({ put(&$0, 0x34, 4, 4); reseal(&$0) }, .field("chunk hash", "unknown algorithm 4"), base: k)
        expect({ put(&$0, 0xE00, 1, 4); put(&$0, 0xE04, 72, 4); reseal(&$0) },
               .field("signature type", "1 is not supported by format 1.0"), base: old)
        expect({ put(&$0, 0xE00, 2, 4); reseal(&$0) }, .field("signature type", "2 is not supported by format 1.1"), base: k)
        expect({ put(&$0, 0xE04, 72, 4); reseal(&$0) },
               .field("signature length", "is 72 for an unsigned image (type 0), expected 0"), base: k)
        expect({ put(&$0, 0xE04, 71, 4); reseal(&$0) }, .field("signature length", "is 71, an Ed25519 signature is 72"), base: signed)
        expect({ $0[0xE08 + 72] = 1; reseal(&$0) }, .field("signature area", "bytes after the signature are not zero"), base: signed)
        expect({ put(&$0, 0x34, 2, 4); reseal(&$0) },
               .field("chunk hash", "a signed image needs BLAKE2b-128 (3), not XXH3-64 (2)"), base: signed)
        expect({ $0[0xE08 + 70] = 1; reseal(&$0) }, .field("signature area", "is not zero in an unsigned image"), base: k)
        // Text fields: printable ASCII, a NUL terminator, NUL padding.
        expect({ $0[0xC0 + 2] = 0x1B; reseal(&$0) }, .field("producer release", "byte 2 is 0x1b, not printable ASCII"), base: k)
        expect({ $0[0xC0 + 2] = 0xC3; reseal(&$0) }, .field("producer release", "byte 2 is 0xc3, not printable ASCII"), base: k)
        expect({ for i in 0..<128 { $0[0xC0 + i] = 0x61 }; reseal(&$0) },
               .field("producer release", "has no NUL terminator in its 128 bytes"), base: k)
        expect({ $0[0x140 + 20] = 0x61; reseal(&$0) }, .field("producer machine", "has bytes after its terminator"), base: k)
        // The 2^48 bound covers addresses too.
        expect({ put(&$0, 0x200 + 40, 1 << 50, 8); reseal(&$0) },
               .field("entry 0 physical address", "\(UInt64(1) << 50) exceeds the format limit of 2^48"), base: k)
        let seg = try TestImages.segmentsImage().bytes
        expect({ put(&$0, 0x70, (1 << 48) + 0x1000, 8); reseal(&$0) },
               .field("entry address", "\((UInt64(1) << 48) + 0x1000) exceeds the format limit of 2^48"), base: seg)
        // Snapshot memory: block size a power of two >= 4096, required memory whole blocks.
        expect({ put(&$0, 0x80, 0, 8); reseal(&$0) },
               .field("memory block size", "0 is not a power of two of at least 4096"), base: snap)
        expect({ put(&$0, 0x80, 3 << 20, 8); reseal(&$0) },
               .field("memory block size", "3145728 is not a power of two of at least 4096"), base: snap)
        expect({ put(&$0, 0x80, 2048, 8); reseal(&$0) },
               .field("memory block size", "2048 is not a power of two of at least 4096"), base: snap)
        expect({ put(&$0, 0x78, (512 << 20) + 4096, 8); reseal(&$0) },
               .field("required memory", "\((512 << 20) + 4096) is not a whole number of 134217728-byte memory blocks"), base: snap)
    }

    /// Rules that need a whole header made to order: empty entries.
    func testEmptyEntriesAreRefused() throws {
        func decode(_ h: ImageHeader) -> FormatError? {
            do { _ = try ImageHeader.decode(h.encode()); return nil } catch { return error }
        }
        var snapshot = TestImages.header(.snapshot)
        snapshot.requiredMemoryBytes = 128 << 20
        snapshot.memoryBlockSize = 128 << 20
        snapshot.entries = [ImageEntry(type: .stream)]
        snapshot.tableOffset = 4096
        snapshot.imageSize = 4096
        XCTAssertEqual(decode(snapshot), .field("entry 0 raw size", "the snapshot stream is empty"))
        // A kernel image with a zero-length initrd.
        var kernel = try ImageHeader.decode(Array(try TestImages.kernelImage().bytes.prefix(4096)))
        kernel.entries[1].rawSize = 0
        kernel.entries[1].storedSize = 0
        kernel.entries[1].chunkCount = 0
        kernel.entries[2].firstChunk -= 2
        kernel.chunkCount -= 2
        kernel.rawTotal -= 5000
        let storedInitrd = try ImageHeader.decode(Array(try TestImages.kernelImage().bytes.prefix(4096))).entries[1].storedSize
        kernel.storedTotal -= storedInitrd
        kernel.tableOffset -= storedInitrd
        kernel.tableSize -= 64
        kernel.imageSize = kernel.tableOffset + kernel.tableSize
        XCTAssertEqual(decode(kernel), .field("entry 1 raw size", "the initrd is empty (an empty initrd is left out, not stored)"))
    }

    /// Kernel B's command line may not hold a NUL (it would cut the line short).
    func testNulInsideTheCommandLineIsRefused() throws {
        let image = MemoryImage()
        var w = ImageWriter(sink: image, header: TestImages.header(.kernel))
        var k = BytesInput(TestImages.kernelBytes), c = BytesInput(Array("console=ttyS0\u{0}init=/evil".utf8))
        try w.append(.kernel, from: &k)
        try w.append(.cmdline, from: &c)
        try w.finish()
        XCTAssertEqual(TestImages.verifyError(image.bytes) as? FormatError, .field("entry 1 (cmdline)", "has a NUL byte at offset 13"))
    }

    func testSegmentRulesAreEnforced() throws {
        let s = try TestImages.segmentsImage().bytes
        let put = Self.put, reseal = Self.resealHeader
        let seg1 = 0x200 + 64
        expect({ put(&$0, seg1 + 40, 0x20_0800, 8); reseal(&$0) },
               .field("segment 1 physical address", "0x200800 is not page aligned"), base: s)
        expect({ put(&$0, seg1 + 40, 0x10_1000, 8); reseal(&$0) },
               .field("segment 1", "[0x101000, 0x104000) overlaps segment 0"), base: s)
        expect({ put(&$0, seg1 + 48, 0x1800, 8); reseal(&$0) },
               .field("segment 1 memory size", "0x1800 is not a non-zero multiple of the page size"), base: s)
        expect({ put(&$0, 0x70, 0x30_0000, 8); reseal(&$0) },
               .field("entry address", "0x300000 is outside every segment"), base: s)
        expect({ put(&$0, 0x200 + 48, 0x1000, 8); reseal(&$0) },
               .field("segment 0 memory size", "0x1000 is smaller than its 6000 bytes of data"), base: s)
        // Whose memory a segments image is (a saved hibernate kernel) needs 1.2.
        expect({ put(&$0, 0x88, 1, 8); reseal(&$0) },
               .field("memory layout hash", "must be 0 for a segments image before format 1.2"), base: s)
        expect({ put(&$0, 0x160, 1, 4); $0[0x164] = 7; reseal(&$0) },
               .field("kernel build id length", "is 1: a build id needs format 1.2, the header says 1.1"), base: s)
    }

    func testMemoryRulesAreEnforced() throws {
        let m = try TestImages.memoryImage().bytes
        let put = Self.put, reseal = Self.resealHeader
        let pages1 = 0x200 + 64, pages2 = 0x200 + 128
        expect({ put(&$0, 0x0A, 1, 2); reseal(&$0) }, .field("kind", "memory needs format 1.2, the header says 1.1"), base: m)
        expect({ put(&$0, 0x24, 1, 4); reseal(&$0) },
               .field("flags", "a memory image is never reusable (kernel A must not be resumed twice)"), base: m)
        expect({ put(&$0, 0x70, 0x30_0000, 8); reseal(&$0) }, .field("entry address", "0x300000 is outside every saved range"), base: m)
        expect({ put(&$0, 0x88, 0, 8); reseal(&$0) }, .field("memory layout hash", "is 0 in a memory image"), base: m)
        expect({ put(&$0, 0x160, 0, 4); $0.replaceSubrange(0x164..<0x184, with: [UInt8](repeating: 0, count: 32)); reseal(&$0) },
               .field("kernel build id", "is empty in a memory image"), base: m)
        expect({ put(&$0, 0x160, 33, 4); reseal(&$0) }, .field("kernel build id length", "33 exceeds 32"), base: m)
        expect({ put(&$0, pages2 + 40, 0x10_4000, 8); reseal(&$0) },
               .field("pages 2 range", "starts at 0x104000, below the end of the previous range 0x108000"), base: m)
        expect({ put(&$0, pages1 + 40, 0x10_0800, 8); reseal(&$0) },
               .field("pages 1 range", "[0x100800, +0x8000) is not a non-empty run of whole pages"), base: m)
        expect({ put(&$0, pages2 + 48, 0xC000, 8); reseal(&$0) },
               .field("page map raw size", "is 2, expected 3 for 20 pages"), base: m)
        // The first MiB holds only A's trampoline: one low pages entry, first, below 1 MiB.
        expect({ put(&$0, pages1 + 40, 0xF_C000, 8); reseal(&$0) },
               .field("pages 1 range", "starts at 0xfc000, in the first MiB (where B and C run; only a low pages entry lies there)"), base: m)
        expect({ put(&$0, pages1, 8, 4); reseal(&$0) },
               .field("low pages 1 range", "[0x100000, +0x8000) does not lie below 1 MiB"), base: m)
        expect({ put(&$0, pages2, 8, 4); reseal(&$0) },
               .field("entry 2 type", "low pages in a memory image after its first range"), base: m)
        expect({ put(&$0, 0x200, 7, 4); reseal(&$0) },
               .field("entries", "a memory image holds a page map, then 1...15 pages entries"), base: m)
        // The map's bits must match each range's raw size (checked as it streams).
        var bits = TestImages.pageMapBits
        bits[1] = 0b0000_0111
        XCTAssertEqual(TestImages.verifyError(try TestImages.memoryImage(pageMap: bits).bytes) as? FormatError,
                       .field("pages 2 raw size", "is 8192, the page map saves 3 pages of that range"))
        bits[1] = 0b0001_0101
        XCTAssertEqual(TestImages.verifyError(try TestImages.memoryImage(pageMap: bits).bytes) as? FormatError,
                       .field("page map", "has bits set past its 12 pages"))
        // A's re-entry point in a page the map leaves out (same counts).
        bits = TestImages.pageMapBits
        bits[0] = 0b1111_0110
        XCTAssertEqual(TestImages.verifyError(try TestImages.memoryImage(pageMap: bits).bytes) as? FormatError,
                       .field("entry address", "0x100010 is in a page the page map leaves out (A's re-entry code must be saved)"))
    }

    func testTableAndChunkCorruptions() throws {
        let k = try TestImages.kernelImage().bytes
        let table = Int(Self.u64(k, 0x48))
        // A table edit without resealing: the digest catches it.
        expect({ $0[table + 20] ^= 1 }, .tableDigest, base: k)
        // Resealed table edits reach the structural checks.
        expect({ Self.put(&$0, table + 32 + 12, 4095, width: 4); Self.resealTable(&$0) },
               .field("chunk 1 raw size", "is 4095, expected 4096 (entry 0)"), base: k)
        expect({ Self.put(&$0, table + 32, 4097, width: 8); Self.resealTable(&$0) },
               .field("chunk 1 offset", "is 4097, expected \(Self.u64(k, table + 32)) (chunks are contiguous)"), base: k)
        // Payload edits: the stored checksum catches them.
        expect({ $0[4096 + 10] ^= 0xFF }, .chunkChecksum(index: 0, which: "stored"), base: k)
        // A payload edit with its stored hash resealed: LZ4 or the raw checksum catches it.
        var bytes = k
        let firstStored = Int(Self.u64(k, table + 8) & 0xFFFF_FFFF)
        XCTAssertLessThan(firstStored, 4096, "chunk 0 is compressed")
        bytes[4096 + firstStored - 1] ^= 0x01
        let hash = XXH3.hash(Array(bytes[4096..<(4096 + firstStored)]))
        Self.put(&bytes, table + 16, hash, width: 8)
        Self.resealTable(&bytes)
        let error = TestImages.verifyError(bytes) as? FormatError
        switch error {
        case .chunkDecode(index: 0, _)?, .chunkChecksum(index: 0, which: "raw")?: break
        default: XCTFail("expected a decode or raw checksum error for chunk 0, got \(String(describing: error))")
        }
    }

    func testChunkDecoderNeverWritesPastItsDeclaredSize() {
        // An LZ4 block that expands to more than the declared raw size.
        let raw = [UInt8](repeating: 7, count: 8192)
        var stored = [UInt8](repeating: 0, count: 8192)
        let n = raw.withUnsafeBytes { r in stored.withUnsafeMutableBytes { ChunkCodec.encode(r, into: $0) } }
        XCTAssertLessThan(n, 100)
        var out = [UInt8](repeating: 0, count: 4096)
        XCTAssertThrowsError(try stored.prefix(n).withUnsafeBytes { s in
            try out.withUnsafeMutableBytes { try ChunkCodec.decode(s, rawSize: 4096, into: $0, index: 3) }
        }) { error in
            guard case .chunkDecode(index: 3, _)? = error as? FormatError else { return XCTFail("\(error)") }
        }
    }
}
