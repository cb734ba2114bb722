import ResumeCore

/// Small deterministic images for the tests and the golden fixtures.
enum TestImages {
    /// Pseudo-random but repeatable bytes (xorshift), mixed with runs that compress.
    static func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var x = seed | 1
        return (0..<count).map { i in
            if (i / 512) % 3 == 0 { return UInt8(truncatingIfNeeded: i / 512) }  // compressible runs
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            return UInt8(truncatingIfNeeded: x)
        }
    }

    /// Which format the writer makes: 1.0 (XXH64; the pinned fixtures), or
    /// 1.1 (XXH3-64), or 1.1 signed with `signingKey` (BLAKE2b-128).
    enum Format { case v1_0, v1_1, signed }
    nonisolated(unsafe) static var format: Format = .v1_1

    /// The test key: the seed 1, 2, ..., 32.
    static let signingKey = try! SigningKey(seed: (1...32).map { UInt8($0) })
    static let otherKey = try! SigningKey(seed: (1...32).map { UInt8(100 + $0) })
    static var signer: SigningKey? { format == .signed ? signingKey : nil }

    /// Runs `body` with the writer making `format`.
    static func with<T>(_ format: Format, _ body: () throws -> T) rethrows -> T {
        let saved = self.format
        self.format = format
        defer { self.format = saved }
        return try body()
    }

    static func header(_ kind: ImageKind, chunkSize: UInt32 = 4096, reusable: Bool = false) -> ImageHeader {
        var h = ImageHeader(kind: kind)
        if format == .v1_0 {
            h.formatMinor = 0
            h.chunkHash = .xxh64
        }
        h.chunkSize = chunkSize
        h.createdAt = 1_700_000_000
        h.producerRelease = "6.1.0-test-amd64"
        h.producerMachine = "x86_64"
        if reusable { h.flags = [.reusable] }
        return h
    }

    static let kernelBytes = bytes(10_000, seed: 1)
    static let initrdBytes = bytes(5_000, seed: 2)
    static let cmdline = Array("console=ttyS0 root=/dev/vda".utf8)

    static func kernelImage(reusable: Bool = false) throws -> MemoryImage {
        let image = MemoryImage()
        var w = ImageWriter(sink: image, header: header(.kernel, reusable: reusable), signer: signer)
        var k = BytesInput(kernelBytes), i = BytesInput(initrdBytes), c = BytesInput(cmdline)
        try w.append(.kernel, from: &k)
        try w.append(.initrd, from: &i)
        try w.append(.cmdline, from: &c)
        try w.finish()
        return image
    }

    static let segmentData = [bytes(6_000, seed: 3), bytes(100, seed: 4)]

    static func segmentsImage() throws -> MemoryImage {
        let image = MemoryImage()
        var h = header(.segments)
        h.entryAddress = 0x10_0010
        var w = ImageWriter(sink: image, header: h, signer: signer)
        var a = BytesInput(segmentData[0]), b = BytesInput(segmentData[1])
        try w.append(.segment, from: &a, physicalAddress: 0x10_0000, memorySize: 0x2000)
        try w.append(.segment, from: &b, physicalAddress: 0x20_0000, memorySize: 0x3000)
        try w.finish()
        return image
    }

    static let streamBytes = bytes(20_000, seed: 5) + [UInt8](repeating: 0, count: 12_288)

    static func snapshotImage() throws -> MemoryImage {
        let image = MemoryImage()
        var h = header(.snapshot)
        h.requiredMemoryBytes = 512 << 20
        h.memoryBlockSize = 128 << 20
        h.memoryLayoutHash = 0x1234_5678_9ABC_DEF0
        var w = ImageWriter(sink: image, header: h, signer: signer)
        var s = BytesInput(streamBytes)
        try w.append(.stream, from: &s)
        try w.finish()
        return image
    }

    /// A memory image (format 1.2): two ranges of kernel A's RAM, 8 and 4
    /// pages, of which 6 and 2 are saved.
    static let pageMapBits: [UInt8] = [0b1011_0111, 0b0000_0101]
    static let savedPages = [bytes(6 * 4096, seed: 6), bytes(2 * 4096, seed: 7)]

    static func memoryImage(pageMap: [UInt8] = pageMapBits) throws -> MemoryImage {
        let image = MemoryImage()
        var h = header(.memory)
        h.entryAddress = 0x10_0010
        h.memoryLayoutHash = 0x0FED_CBA9_8765_4321
        h.kernelBuildID = (1...20).map { UInt8($0) }
        var w = ImageWriter(sink: image, header: h, signer: signer)
        var map = BytesInput(pageMap), a = BytesInput(savedPages[0]), b = BytesInput(savedPages[1])
        try w.append(.pageMap, from: &map)
        try w.append(.pages, from: &a, physicalAddress: 0x10_0000, memorySize: 8 * 4096)
        try w.append(.pages, from: &b, physicalAddress: 0x20_0000, memorySize: 4 * 4096)
        try w.finish()
        return image
    }

    /// Decodes every entry of `image` in full.
    static func decodeAll(_ image: MemoryImage) throws -> [[UInt8]] {
        let reader = try ImageReader(source: image)
        try reader.requireValidState()
        try reader.checkTable()
        var out = [[UInt8]](repeating: [], count: reader.header.entries.count)
        try reader.forEachChunk { e, _, raw in out[e] += raw }
        return out
    }

    /// Verifies as `resume-image verify` does; the error, or nil when valid.
    static func verifyError(_ bytes: [UInt8]) -> Error? {
        do {
            let reader = try ImageReader(source: MemoryImage(bytes))
            try reader.requireValidState()
            try reader.verifyContents()
            return nil
        } catch {
            return error
        }
    }
}
