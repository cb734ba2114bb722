/// The image header: one 4 KiB block at offset 0. The byte layout is the
/// spec in docs/FORMAT.md; encode and decode live together here and are
/// pinned by golden fixtures in the tests.
public enum ImageKind: UInt32, Sendable, CaseIterable {
    /// A/B swap: a bzImage, an optional initrd and a command line (kexec_file_load).
    case kernel = 1
    /// A hibernation snapshot stream (/dev/snapshot).
    case snapshot = 2
    /// Raw physical memory segments and an entry address (kexec_load).
    case segments = 3
    /// Kernel A's memory, saved by a hibernate kernel B it kexec-jumped to
    /// (format 1.2): a page map, the pages A used, and A's re-entry point.
    case memory = 4

    public var name: String {
        switch self {
        case .kernel: "kernel"
        case .snapshot: "snapshot"
        case .segments: "segments"
        case .memory: "memory"
        }
    }

    /// The format minor version that introduced this kind.
    var sinceMinor: UInt16 { self == .memory ? 2 : 0 }
}

/// What an entry's bytes are.
public enum EntryType: UInt32, Sendable {
    case kernel = 1, initrd = 2, cmdline = 3, segment = 4, stream = 5
    /// memory kind: one bit per page of the `pages` entries' ranges.
    case pageMap = 6
    /// memory kind: the saved pages of one physical range, in address order.
    case pages = 7
    /// memory kind: as `pages`, for the one range below 1 MiB that kernel A
    /// uses after boot (its real-mode trampoline, where its secondary CPUs
    /// start), right after the page map.
    case lowPages = 8

    /// A range of A's RAM in a memory image (covered by its page map).
    public var holdsPages: Bool { self == .pages || self == .lowPages }

    public var name: String {
        switch self {
        case .kernel: "kernel"
        case .initrd: "initrd"
        case .cmdline: "cmdline"
        case .segment: "segment"
        case .stream: "stream"
        case .pageMap: "page map"
        case .pages: "pages"
        case .lowPages: "low pages"
        }
    }
}

/// Header flags.
public struct ImageFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// The image may be resumed more than once (never marked consumed).
    public static let reusable = ImageFlags(rawValue: 1)
    static let known: ImageFlags = [.reusable]
}

/// The state field. It is the only field ever rewritten in place and is
/// left out of the header checksum: marking an image consumed is a single
/// 8-byte write inside the first sector. Every byte of `consumed` differs
/// from `valid`, so a write torn at any granularity leaves bytes that are
/// not `valid`, and a torn image is never resumed.
public enum ImageState: Sendable, Equatable {
    case valid, consumed, unknown

    public static let validBytes: [UInt8] = Array("VALIDIMG".utf8)
    public static let consumedBytes: [UInt8] = Array("consumed".utf8)

    init(bytes: [UInt8]) {
        if bytes == ImageState.validBytes { self = .valid }
        else if bytes == ImageState.consumedBytes { self = .consumed }
        else { self = .unknown }
    }

    public var name: String {
        switch self {
        case .valid: "valid"
        case .consumed: "consumed"
        case .unknown: "unknown"
        }
    }
}

/// One payload entry, stored as `chunkCount` chunks starting at `firstChunk`.
public struct ImageEntry: Sendable, Equatable {
    public var type: EntryType
    public var rawSize: UInt64
    public var storedSize: UInt64
    public var firstChunk: UInt64
    public var chunkCount: UInt64
    /// segments kind: physical load address (page aligned); 0 otherwise.
    public var physicalAddress: UInt64
    /// segments kind: bytes of memory the segment occupies (>= rawSize, page multiple); 0 otherwise.
    public var memorySize: UInt64

    public init(type: EntryType, rawSize: UInt64 = 0, storedSize: UInt64 = 0, firstChunk: UInt64 = 0,
                chunkCount: UInt64 = 0, physicalAddress: UInt64 = 0, memorySize: UInt64 = 0) {
        self.type = type
        self.rawSize = rawSize
        self.storedSize = storedSize
        self.firstChunk = firstChunk
        self.chunkCount = chunkCount
        self.physicalAddress = physicalAddress
        self.memorySize = memorySize
    }
}

/// How chunks are checksummed (header field "chunk hash"). The two 8-byte
/// hash fields of a table row hold, for XXH64 and XXH3, the hash of the
/// stored bytes then of the raw bytes; for BLAKE2b-128, the 16-byte digest
/// of the stored bytes (the raw bytes are LZ4's output of authenticated
/// input, of a checked size).
public enum ChunkHash: UInt32, Sendable, CaseIterable {
    /// XXH64, seed 0: format 1.0 (still read).
    case xxh64 = 1
    /// XXH3-64, seed 0: unsigned images from format 1.1.
    case xxh3 = 2
    /// BLAKE2b, 16-byte digest, no key: signed images (format 1.1).
    case blake2b128 = 3

    public var name: String {
        switch self {
        case .xxh64: "XXH64"
        case .xxh3: "XXH3-64"
        case .blake2b128: "BLAKE2b-128"
        }
    }

    /// The format minor version that introduced this algorithm.
    var sinceMinor: UInt16 { self == .xxh64 ? 0 : 1 }

    /// The two hash fields of a row for a chunk that is not yet decoded:
    /// only the stored bytes are needed for BLAKE2b-128.
    @inline(__always)
    func storedFields(_ stored: UnsafeRawBufferPointer) -> (UInt64, UInt64?) {
        switch self {
        case .xxh64: (XXH64.hash(stored), nil)
        case .xxh3: (XXH3.hash(stored), nil)
        case .blake2b128: { let (a, b) = BLAKE2b128.hash(stored); return (a, b) }()
        }
    }

    /// The raw-hash field, for the algorithms that have one.
    @inline(__always)
    func rawField(_ raw: UnsafeRawBufferPointer) -> UInt64? {
        switch self {
        case .xxh64: XXH64.hash(raw)
        case .xxh3: XXH3.hash(raw)
        case .blake2b128: nil
        }
    }

    /// Both fields of the row the writer records.
    func fields(stored: UnsafeRawBufferPointer, raw: UnsafeRawBufferPointer) -> (UInt64, UInt64) {
        let (a, b) = storedFields(stored)
        return (a, b ?? rawField(raw)!)
    }
}

public struct ImageHeader: Sendable, Equatable {
    public static let magic: [UInt8] = Array("RSMIMAGE".utf8)
    public static let versionMajor: UInt16 = 1
    /// The minor version this build writes (1.1: XXH3 and BLAKE2b-128 chunk
    /// hashes, signatures); it reads 1.0 too. A memory image is 1.2 (the
    /// lowest minor that knows its kind), every other kind 1.1.
    public static let versionMinor: UInt16 = 1
    /// The highest minor this build knows (memory images).
    public static let newestMinor: UInt16 = 2
    public static let size = 4096
    public static let maxEntries = 16
    public static let minChunkSize: UInt32 = 4096
    public static let maxChunkSize: UInt32 = 4 << 20
    public static let defaultChunkSize: UInt32 = 256 << 10
    public static let pageSize: UInt64 = 4096
    /// No field may describe more than 2^48 bytes: bounds every sum before it can overflow.
    public static let maxBytes: UInt64 = 1 << 48
    public static let maxCmdlineBytes: UInt64 = 4096

    // Byte offsets (docs/FORMAT.md).
    enum Offset {
        static let magic = 0x000, versionMajor = 0x008, versionMinor = 0x00A, headerSize = 0x00C
        static let state = 0x010, checksum = 0x018, kind = 0x020, flags = 0x024, createdAt = 0x028
        static let chunkSize = 0x030, chunkHash = 0x034, entryCount = 0x038, reserved3C = 0x03C
        static let chunkCount = 0x040, tableOffset = 0x048, tableSize = 0x050, imageSize = 0x058
        static let rawTotal = 0x060, storedTotal = 0x068, entryAddress = 0x070
        static let requiredMemory = 0x078, memoryBlockSize = 0x080, memoryLayoutHash = 0x088
        static let tableDigest = 0x090, release = 0x0C0, machine = 0x140
        static let buildIDLength = 0x160, buildID = 0x164, entries = 0x200
        static let signatureType = 0xE00, signatureLength = 0xE04, signature = 0xE08
    }
    static let releaseCapacity = 128, machineCapacity = 32, entrySize = 64
    public static let buildIDCapacity = 32
    static let signatureCapacity = size - Offset.signature

    public var state: ImageState = .valid
    /// The minor version of this header: as read, or what the writer writes
    /// (1 by default; 0 writes a 1.0 image, which needs XXH64 and no signature).
    public var formatMinor: UInt16 = ImageHeader.versionMinor
    /// How chunks are checksummed. The writer sets BLAKE2b-128 when it signs.
    public var chunkHash: ChunkHash = .xxh3
    public var kind: ImageKind
    public var flags: ImageFlags = []
    public var createdAt: UInt64 = 0
    public var chunkSize: UInt32 = ImageHeader.defaultChunkSize
    public var chunkCount: UInt64 = 0
    public var tableOffset: UInt64 = 0
    public var tableSize: UInt64 = 0
    public var imageSize: UInt64 = 0
    public var rawTotal: UInt64 = 0
    public var storedTotal: UInt64 = 0
    /// segments kind: where the jump lands.
    public var entryAddress: UInt64 = 0
    /// snapshot kind: the memory the restoring machine must have (bytes).
    public var requiredMemoryBytes: UInt64 = 0
    /// snapshot kind: memory block size of the saving machine.
    public var memoryBlockSize: UInt64 = 0
    /// snapshot kind: XXH64 of the saving machine's memory layout.
    public var memoryLayoutHash: UInt64 = 0
    /// SHA-256 of the chunk table.
    public var tableDigest: [UInt8] = [UInt8](repeating: 0, count: 32)
    /// `uname -r` of the machine that made the image.
    public var producerRelease: String = ""
    /// `uname -m` of the machine that made the image.
    public var producerMachine: String = ""
    /// memory kind: the GNU build id of the saved kernel (format 1.2), so
    /// that only the very same kernel build restores it; empty otherwise.
    public var kernelBuildID: [UInt8] = []
    public var entries: [ImageEntry] = []
    /// The Ed25519 signature over the header (format 1.1), or nil when unsigned.
    public var signature: ImageSignature?

    public init(kind: ImageKind) { self.kind = kind }

    public var isReusable: Bool { flags.contains(.reusable) }
    /// The offset of chunk data: right after the header.
    public static var payloadOffset: UInt64 { UInt64(size) }

    // MARK: Encoding

    public func encode() -> [UInt8] {
        var b = LittleEndianBytes(count: ImageHeader.size)
        b.put(Offset.magic, ImageHeader.magic)
        b.put16(Offset.versionMajor, ImageHeader.versionMajor)
        b.put16(Offset.versionMinor, formatMinor)
        b.put32(Offset.headerSize, UInt32(ImageHeader.size))
        b.put32(Offset.kind, kind.rawValue)
        b.put32(Offset.flags, flags.rawValue)
        b.put64(Offset.createdAt, createdAt)
        b.put32(Offset.chunkSize, chunkSize)
        b.put32(Offset.chunkHash, chunkHash.rawValue)
        b.put32(Offset.entryCount, UInt32(entries.count))
        b.put64(Offset.chunkCount, chunkCount)
        b.put64(Offset.tableOffset, tableOffset)
        b.put64(Offset.tableSize, tableSize)
        b.put64(Offset.imageSize, imageSize)
        b.put64(Offset.rawTotal, rawTotal)
        b.put64(Offset.storedTotal, storedTotal)
        b.put64(Offset.entryAddress, entryAddress)
        b.put64(Offset.requiredMemory, requiredMemoryBytes)
        b.put64(Offset.memoryBlockSize, memoryBlockSize)
        b.put64(Offset.memoryLayoutHash, memoryLayoutHash)
        b.put(Offset.tableDigest, Array(tableDigest.prefix(32)))
        b.putText(Offset.release, ImageHeader.releaseCapacity, producerRelease)
        b.putText(Offset.machine, ImageHeader.machineCapacity, producerMachine)
        b.put32(Offset.buildIDLength, UInt32(min(kernelBuildID.count, ImageHeader.buildIDCapacity)))
        b.put(Offset.buildID, Array(kernelBuildID.prefix(ImageHeader.buildIDCapacity)))
        for (i, e) in entries.prefix(ImageHeader.maxEntries).enumerated() {
            let o = Offset.entries + i * ImageHeader.entrySize
            b.put32(o, e.type.rawValue)
            b.put64(o + 8, e.rawSize)
            b.put64(o + 16, e.storedSize)
            b.put64(o + 24, e.firstChunk)
            b.put64(o + 32, e.chunkCount)
            b.put64(o + 40, e.physicalAddress)
            b.put64(o + 48, e.memorySize)
        }
        if let signature {
            b.put32(Offset.signatureType, ImageSignature.typeEd25519)
            b.put32(Offset.signatureLength, UInt32(ImageSignature.length))
            b.put(Offset.signature, signature.keyID.bytes)
            b.put(Offset.signature + KeyID.size, Array(signature.signature.prefix(64)))
        }
        b.put64(Offset.checksum, ImageHeader.checksum(of: b.bytes))
        b.put(Offset.state, state == .consumed ? ImageState.consumedBytes : ImageState.validBytes)
        return b.bytes
    }

    /// XXH64 of the header block with the state and checksum fields zeroed.
    public static func checksum(of block: [UInt8]) -> UInt64 {
        var copy = block
        for i in Offset.state..<(Offset.checksum + 8) { copy[i] = 0 }
        return XXH64.hash(copy)
    }

    /// Where the state field lives, and the bytes that mark an image consumed:
    /// `invalidate` writes exactly these 8 bytes there, then syncs.
    public static let stateFieldOffset = UInt64(Offset.state)

    // MARK: Decoding

    /// Decodes and checks a header block. The state is reported, not judged:
    /// callers decide what a consumed image means to them.
    public static func decode(_ block: [UInt8]) throws(FormatError) -> ImageHeader {
        guard block.count >= size else {
            throw .truncated(what: "header", needed: UInt64(size), available: UInt64(block.count))
        }
        let b = LittleEndianBytes(Array(block.prefix(size)))
        guard b.slice(Offset.magic, 8) == magic else { throw .badMagic }
        let major = b.u16(Offset.versionMajor), minor = b.u16(Offset.versionMinor)
        guard major == versionMajor else { throw .unsupportedVersion(major: major, minor: minor) }
        guard b.u32(Offset.headerSize) == UInt32(size) else {
            throw .field("header size", "is \(b.u32(Offset.headerSize)), expected \(size)")
        }
        let stored = b.u64(Offset.checksum), computed = checksum(of: b.bytes)
        guard stored == computed else { throw .headerChecksum(stored: stored, computed: computed) }

        guard let kind = ImageKind(rawValue: b.u32(Offset.kind)) else {
            throw .field("kind", "unknown value \(b.u32(Offset.kind))")
        }
        guard kind.sinceMinor <= minor else {
            throw .field("kind", "\(kind.name) needs format 1.\(kind.sinceMinor), the header says 1.\(minor)")
        }
        var h = ImageHeader(kind: kind)
        h.formatMinor = minor
        h.state = ImageState(bytes: b.slice(Offset.state, 8))
        h.flags = ImageFlags(rawValue: b.u32(Offset.flags))
        guard ImageFlags.known.isSuperset(of: h.flags) else { throw .field("flags", "unknown bits \(hex(h.flags.rawValue))") }
        h.createdAt = b.u64(Offset.createdAt)
        h.chunkSize = b.u32(Offset.chunkSize)
        guard h.chunkSize >= minChunkSize, h.chunkSize <= maxChunkSize, h.chunkSize & (h.chunkSize - 1) == 0 else {
            throw .field("chunk size", "\(h.chunkSize) is not a power of two in \(minChunkSize)...\(maxChunkSize)")
        }
        guard let chunkHash = ChunkHash(rawValue: b.u32(Offset.chunkHash)) else {
            throw .field("chunk hash", "unknown algorithm \(b.u32(Offset.chunkHash))")
        }
        guard chunkHash.sinceMinor <= minor else {
            throw .field("chunk hash", "\(chunkHash.name) needs format 1.\(chunkHash.sinceMinor), the header says 1.\(minor)")
        }
        h.chunkHash = chunkHash
        let entryCount = Int(b.u32(Offset.entryCount))
        guard (1...maxEntries).contains(entryCount) else {
            throw .field("entry count", "\(entryCount) is not in 1...\(maxEntries)")
        }
        guard b.u32(Offset.reserved3C) == 0 else { throw .field("reserved field at 0x3c", "is not zero") }
        h.chunkCount = b.u64(Offset.chunkCount)
        h.tableOffset = b.u64(Offset.tableOffset)
        h.tableSize = b.u64(Offset.tableSize)
        h.imageSize = b.u64(Offset.imageSize)
        h.rawTotal = b.u64(Offset.rawTotal)
        h.storedTotal = b.u64(Offset.storedTotal)
        h.entryAddress = b.u64(Offset.entryAddress)
        h.requiredMemoryBytes = b.u64(Offset.requiredMemory)
        h.memoryBlockSize = b.u64(Offset.memoryBlockSize)
        h.memoryLayoutHash = b.u64(Offset.memoryLayoutHash)
        h.tableDigest = b.slice(Offset.tableDigest, 32)
        guard b.bytes[(Offset.tableDigest + 32)..<Offset.release].allSatisfy({ $0 == 0 }) else {
            throw .field("reserved bytes before release", "are not zero")
        }
        h.producerRelease = try b.printableText(Offset.release, releaseCapacity, "producer release")
        h.producerMachine = try b.printableText(Offset.machine, machineCapacity, "producer machine")
        let buildIDLength = Int(b.u32(Offset.buildIDLength))
        guard buildIDLength <= buildIDCapacity else {
            throw .field("kernel build id length", "\(buildIDLength) exceeds \(buildIDCapacity)")
        }
        guard buildIDLength == 0 || minor >= 2 else {
            throw .field("kernel build id length", "is \(buildIDLength): a build id needs format 1.2, the header says 1.\(minor)")
        }
        h.kernelBuildID = b.slice(Offset.buildID, buildIDLength)
        guard b.bytes[(Offset.buildID + buildIDLength)..<Offset.entries].allSatisfy({ $0 == 0 }) else {
            throw .field("reserved bytes before entries", "are not zero")
        }
        for i in 0..<maxEntries {
            let o = Offset.entries + i * entrySize
            if i >= entryCount {
                guard b.bytes[o..<(o + entrySize)].allSatisfy({ $0 == 0 }) else {
                    throw .field("entry \(i)", "unused entry slot is not zero")
                }
                continue
            }
            guard let type = EntryType(rawValue: b.u32(o)), type.rawValue < EntryType.pageMap.rawValue || minor >= 2 else {
                throw .field("entry \(i) type", "unknown value \(b.u32(o)) for format 1.\(minor)")
            }
            guard b.u32(o + 4) == 0, b.u64(o + 56) == 0 else { throw .field("entry \(i)", "reserved bytes are not zero") }
            h.entries.append(ImageEntry(type: type, rawSize: b.u64(o + 8), storedSize: b.u64(o + 16),
                                        firstChunk: b.u64(o + 24), chunkCount: b.u64(o + 32),
                                        physicalAddress: b.u64(o + 40), memorySize: b.u64(o + 48)))
        }
        let reservedEnd = Offset.entries + maxEntries * entrySize
        guard b.bytes[reservedEnd..<Offset.signatureType].allSatisfy({ $0 == 0 }) else {
            throw .field("reserved bytes after entries", "are not zero")
        }
        let sigType = b.u32(Offset.signatureType), sigLength = Int(b.u32(Offset.signatureLength))
        var used = 0
        switch sigType {
        case 0:
            guard sigLength == 0 else { throw .field("signature length", "is \(sigLength) for an unsigned image (type 0), expected 0") }
        case ImageSignature.typeEd25519 where minor >= 1:
            guard sigLength == ImageSignature.length else {
                throw .field("signature length", "is \(sigLength), an Ed25519 signature is \(ImageSignature.length)")
            }
            guard chunkHash == .blake2b128 else {
                throw .field("chunk hash", "a signed image needs BLAKE2b-128 (3), not \(chunkHash.name) (\(chunkHash.rawValue))")
            }
            h.signature = ImageSignature(keyID: KeyID(bytes: b.slice(Offset.signature, KeyID.size))!,
                                         signature: b.slice(Offset.signature + KeyID.size, 64))
            used = ImageSignature.length
        default:
            throw .field("signature type", "\(sigType) is not supported by format 1.\(minor)")
        }
        guard b.bytes[(Offset.signature + used)...].allSatisfy({ $0 == 0 }) else {
            throw .field("signature area", used == 0 ? "is not zero in an unsigned image" : "bytes after the signature are not zero")
        }
        try h.validateLayout()
        // Every byte is accounted for by a field: the header re-encodes to
        // the same block (state aside), which is what a signature checks.
        var again = h.encode()
        again.replaceSubrange(Offset.state..<(Offset.state + 8), with: b.slice(Offset.state, 8))
        guard again == b.bytes else { throw .field("header", "does not re-encode to the same bytes") }
        return h
    }
}
