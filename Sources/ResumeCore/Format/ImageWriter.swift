/// Writes an image to any `ImageSink`, streaming its entries.
///
/// Order of writes (so that no crash leaves a valid-looking image):
///  1. a zeroed header block (destroys any older image's magic), sync;
///  2. the chunks of each entry, appended from offset 4096;
///  3. the chunk table; sync;
///  4. the header, with state `valid`; sync.
/// Until step 4 completes the target holds no magic, so a power failure at
/// any point leaves "not an image", never a half-written valid one.
public struct ImageWriter<Sink: ImageSink> {
    public let sink: Sink
    public private(set) var header: ImageHeader
    private var table: [UInt8] = []
    private var offset = ImageHeader.payloadOffset
    private let raw: ScratchBuffer
    private let stored: ScratchBuffer
    private var started = false
    private let pool: WorkerPool?
    /// Chunks compressed together (in parallel with a pool).
    private let batch: Int
    /// Signs the header when set (format 1.1, Ed25519).
    private let signer: SigningKey?

    /// `header` supplies kind, flags, chunk size, producer and requirements;
    /// layout fields, entries and digests are filled in by the writer.
    /// With a `pool`, chunks are compressed `batchChunks` at a time on its
    /// threads and written in order; memory stays two batches.
    /// With a `signer`, the image is signed and its chunks hashed with
    /// BLAKE2b-128 (docs/FORMAT.md, "Signature"); else `header.chunkHash`
    /// is used (XXH3-64 by default).
    public init(sink: Sink, header: ImageHeader, pool: WorkerPool? = nil, batchChunks: Int = 16,
                signer: SigningKey? = nil) {
        self.sink = sink
        var h = header
        h.entries = []
        h.signature = nil
        if signer != nil {
            h.chunkHash = .blake2b128
            h.formatMinor = max(h.formatMinor, 1)
        }
        h.formatMinor = max(h.formatMinor, h.kind.sinceMinor)
        // Fields 1.2 gave meaning to (a segments image's identity).
        if !h.kernelBuildID.isEmpty || (h.kind == .segments && h.memoryLayoutHash != 0) { h.formatMinor = max(h.formatMinor, 2) }
        self.header = h
        self.pool = pool
        self.signer = signer
        batch = pool == nil ? 1 : PipelineBudget.batchChunks(chunkSize: header.chunkSize, requested: batchChunks)
        raw = ScratchBuffer(count: Int(header.chunkSize) * batch)
        stored = ScratchBuffer(count: Int(header.chunkSize) * batch)
    }

    private mutating func start() throws {
        guard !started else { return }
        started = true
        let zero = ScratchBuffer(count: ImageHeader.size)
        try sink.write(UnsafeRawBufferPointer(zero.memory), at: 0)
        try sink.sync()
    }

    /// Appends one entry read to its end from `input`. `progress` sees the
    /// raw bytes written so far for this entry.
    public mutating func append<Input: SequentialInput>(
        _ type: EntryType, from input: inout Input, physicalAddress: UInt64 = 0, memorySize: UInt64 = 0,
        progress: (UInt64) -> Void = { _ in }
    ) throws {
        guard header.entries.count < ImageHeader.maxEntries else {
            throw FormatError.field("entries", "more than \(ImageHeader.maxEntries)")
        }
        try start()
        var entry = ImageEntry(type: type, firstChunk: header.chunkCount,
                               physicalAddress: physicalAddress, memorySize: memorySize)
        let chunk = Int(header.chunkSize)
        var filledCounts = [Int](repeating: 0, count: batch)
        var atEnd = false
        while !atEnd {
            // Fill up to a batch of whole chunks (inputs may return short reads).
            var chunks = 0
            while chunks < batch {
                let base = chunks * chunk
                var filled = 0
                while filled < chunk {
                    let n = try input.read(into: UnsafeMutableRawBufferPointer(rebasing: raw.memory[(base + filled)..<(base + chunk)]))
                    if n == 0 { break }
                    filled += n
                }
                if filled > 0 {
                    filledCounts[chunks] = filled
                    chunks += 1
                }
                if filled < chunk {
                    atEnd = true
                    break
                }
            }
            if chunks == 0 { break }
            // Compress the batch; each slot is its own: no shared state.
            let descriptors = UnsafeMutableBufferPointer<(Int, UInt64, UInt64)>.allocate(capacity: chunks)
            defer { descriptors.deallocate() }
            let counts = filledCounts, raw = self.raw, stored = self.stored, hash = header.chunkHash
            let work = { (i: Int) in
                let rawBytes = UnsafeRawBufferPointer(rebasing: raw.memory[(i * chunk)..<(i * chunk + counts[i])])
                let out = UnsafeMutableRawBufferPointer(rebasing: stored.memory[(i * chunk)..<((i + 1) * chunk)])
                let n = ChunkCodec.encode(rawBytes, into: out)
                let storedBytes = UnsafeRawBufferPointer(rebasing: out[0..<n])
                let (storedHash, rawHash) = hash.fields(stored: storedBytes, raw: rawBytes)
                descriptors[i] = (n, storedHash, rawHash)
            }
            if let pool { pool.parallelFor(chunks, work) } else { for i in 0..<chunks { work(i) } }
            for i in 0..<chunks {
                let (storedCount, storedHash, rawHash) = descriptors[i]
                try sink.write(UnsafeRawBufferPointer(rebasing: stored.memory[(i * chunk)..<(i * chunk + storedCount)]), at: offset)
                let d = ChunkDescriptor(offset: offset, storedSize: UInt32(storedCount), rawSize: UInt32(counts[i]),
                                        storedHash: storedHash, rawHash: rawHash)
                table += [UInt8](repeating: 0, count: Int(ImageHeader.chunkDescriptorSize))
                d.encode(into: &table, at: table.count - Int(ImageHeader.chunkDescriptorSize))
                offset += UInt64(storedCount)
                entry.rawSize += UInt64(counts[i])
                entry.storedSize += UInt64(storedCount)
                entry.chunkCount += 1
                header.chunkCount += 1
            }
            progress(entry.rawSize)
        }
        guard entry.rawSize <= ImageHeader.maxBytes else {
            throw FormatError.field("entry \(header.entries.count) raw size", "exceeds the format limit of 2^48")
        }
        header.rawTotal += entry.rawSize
        header.storedTotal += entry.storedSize
        header.entries.append(entry)
    }

    /// Writes the table and the header, syncing so the header lands last.
    /// The header is checked by decoding it before it is written, so the
    /// writer can never produce an image the reader would refuse.
    /// `beforeHeader` runs between the two (a test's power cut).
    @discardableResult
    public mutating func finish(beforeHeader: () -> Void = {}) throws -> ImageHeader {
        try start()
        header.tableOffset = offset
        header.tableSize = UInt64(table.count)
        header.imageSize = offset + UInt64(table.count)
        header.tableDigest = SHA256.digest(table)
        header.state = .valid
        if let signer {
            header.signature = ImageSignature(keyID: signer.publicKey.keyID, signature: [UInt8](repeating: 0, count: 64))
            let signature = signer.sign(ImageSignature.message(headerBlock: header.encode()))
            header.signature?.signature = signature
        }
        let encoded = header.encode()
        _ = try ImageHeader.decode(encoded)
        try table.withUnsafeBytes { try sink.write($0, at: offset) }
        try sink.sync()
        beforeHeader()
        try encoded.withUnsafeBytes { try sink.write($0, at: 0) }
        try sink.sync()
        return header
    }
}

/// Marks an image consumed: one 8-byte write into the first sector, then
/// a sync. See `ImageState` for why a torn write is safe.
public func markConsumed<Sink: ImageSink>(_ sink: Sink) throws {
    try ImageState.consumedBytes.withUnsafeBytes { try sink.write($0, at: ImageHeader.stateFieldOffset) }
    try sink.sync()
}
