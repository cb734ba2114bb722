import ResumeBoot
import ResumeCore

/// Small images for the agent's tests: one builder per kind, so every test
/// makes them the same way.
public enum Images {
    public static let kernel = (0..<20_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
    public static let initrd = [UInt8](repeating: 0x42, count: 9_000)
    public static let stream = (0..<50_000).map { UInt8(truncatingIfNeeded: $0 / 7) }

    static func header(_ kind: ImageKind, reusable: Bool, createdAt: UInt64 = 1_700_000_000) -> ImageHeader {
        var h = ImageHeader(kind: kind)
        h.chunkSize = 4096
        h.createdAt = createdAt
        if reusable { h.flags = [.reusable] }
        return h
    }

    /// A kernel image: kernel, initrd and (unless empty) a command line.
    public static func kernel(cmdline: String = "console=ttyS0 marker=B", reusable: Bool = false,
                              kernel: [UInt8] = Images.kernel, createdAt: UInt64 = 1_700_000_000,
                              signer: SigningKey? = nil) throws -> [UInt8] {
        let image = MemoryImage()
        var w = ImageWriter(sink: image, header: header(.kernel, reusable: reusable, createdAt: createdAt), signer: signer)
        var k = BytesInput(kernel), i = BytesInput(initrd), c = BytesInput(Array(cmdline.utf8))
        try w.append(.kernel, from: &k)
        try w.append(.initrd, from: &i)
        if !cmdline.isEmpty { try w.append(.cmdline, from: &c) }
        try w.finish()
        return image.bytes
    }

    /// A segments image: three bytes of code at 16 MiB, `memorySize` reserved.
    public static func segments(memorySize: UInt64 = 0x1000, reusable: Bool = false) throws -> [UInt8] {
        let image = MemoryImage()
        var h = header(.segments, reusable: reusable)
        h.entryAddress = 0x100_0000
        var w = ImageWriter(sink: image, header: h)
        var code = BytesInput([0xF4, 0xEB, 0xFD])
        try w.append(.segment, from: &code, physicalAddress: 0x100_0000, memorySize: memorySize)
        try w.finish()
        return image.bytes
    }

    /// A snapshot image made on a machine with `onlineBlocks` blocks of 128 MiB online.
    public static func snapshot(release: String = "6.1.0-test-amd64", onlineBlocks: Int = 12, reusable: Bool = false) throws -> [UInt8] {
        let image = MemoryImage()
        var h = header(.snapshot, reusable: reusable)
        h.producerRelease = release
        let layout = MemoryLayout(blockSize: 128 << 20, blocks: (0..<onlineBlocks).map { MemoryBlock(index: $0, state: "online") })
        h.requiredMemoryBytes = layout.onlineBytes
        h.memoryBlockSize = layout.blockSize
        h.memoryLayoutHash = layout.onlineLayoutHash
        var w = ImageWriter(sink: image, header: h)
        var s = BytesInput(stream)
        try w.append(.stream, from: &s)
        try w.finish()
        return image.bytes
    }
}

extension Images {
    /// A deterministic signing key (seed `n` repeated).
    public static func key(_ n: UInt8) throws -> SigningKey { try SigningKey(seed: [UInt8](repeating: n, count: 32)) }
}
