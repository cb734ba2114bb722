import CLZ4

/// One row of the chunk table (32 bytes, little-endian):
/// offset u64, storedSize u32, rawSize u32, storedHash u64, rawHash u64.
public struct ChunkDescriptor: Sendable, Equatable {
    public var offset: UInt64
    public var storedSize: UInt32
    public var rawSize: UInt32
    /// XXH64 of the bytes on disk: catches corruption before decoding.
    public var storedHash: UInt64
    /// XXH64 of the decoded bytes: catches a decoder or memory fault.
    public var rawHash: UInt64

    public init(offset: UInt64, storedSize: UInt32, rawSize: UInt32, storedHash: UInt64, rawHash: UInt64) {
        self.offset = offset
        self.storedSize = storedSize
        self.rawSize = rawSize
        self.storedHash = storedHash
        self.rawHash = rawHash
    }

    // A chunk whose stored size equals its raw size is stored uncompressed;
    // the writer only keeps LZ4 output that is strictly smaller.

    public func encode(into b: inout [UInt8], at o: Int) {
        var le = LittleEndianBytes(count: 32)
        le.put64(0, offset)
        le.put32(8, storedSize)
        le.put32(12, rawSize)
        le.put64(16, storedHash)
        le.put64(24, rawHash)
        for i in 0..<32 { b[o + i] = le.bytes[i] }
    }

    public static func decode(_ bytes: UnsafeRawBufferPointer) -> ChunkDescriptor {
        func u(_ at: Int, _ n: Int) -> UInt64 {
            var v: UInt64 = 0
            for i in (0..<n).reversed() { v = v << 8 | UInt64(bytes[at + i]) }
            return v
        }
        return ChunkDescriptor(offset: u(0, 8), storedSize: UInt32(u(8, 4)), rawSize: UInt32(u(12, 4)),
                               storedHash: u(16, 8), rawHash: u(24, 8))
    }
}

/// LZ4 block compression of one chunk. Pure computation over caller buffers.
public enum ChunkCodec {
    /// Compresses `raw` into `stored` (capacity >= raw.count). Returns the
    /// stored size; equal to raw.count when the chunk is kept uncompressed.
    public static func encode(_ raw: UnsafeRawBufferPointer, into stored: UnsafeMutableRawBufferPointer) -> Int {
        precondition(stored.count >= raw.count)
        if raw.count > 1 {
            let n = LZ4_compress_default(raw.baseAddress!.assumingMemoryBound(to: CChar.self),
                                         stored.baseAddress!.assumingMemoryBound(to: CChar.self),
                                         Int32(raw.count), Int32(raw.count - 1))
            if n > 0 { return Int(n) }
        }
        stored.copyMemory(from: raw)
        return raw.count
    }

    /// Decodes one chunk into `raw`, which must hold exactly `rawSize` bytes.
    /// LZ4_decompress_safe never writes past its capacity; a chunk that
    /// decodes to any other size is rejected.
    public static func decode(_ stored: UnsafeRawBufferPointer, rawSize: Int, into raw: UnsafeMutableRawBufferPointer,
                              index: UInt64) throws(FormatError) {
        precondition(raw.count >= rawSize)
        if stored.count == rawSize {
            raw.copyMemory(from: stored)
            return
        }
        let n = LZ4_decompress_safe(stored.baseAddress!.assumingMemoryBound(to: CChar.self),
                                    raw.baseAddress!.assumingMemoryBound(to: CChar.self),
                                    Int32(stored.count), Int32(rawSize))
        guard n >= 0 else { throw .chunkDecode(index: index, reason: "LZ4 data is malformed (error \(n))") }
        guard Int(n) == rawSize else {
            throw .chunkDecode(index: index, reason: "decodes to \(n) bytes, expected \(rawSize)")
        }
    }
}
