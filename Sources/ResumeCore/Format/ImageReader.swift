/// A fixed-size, page-aligned scratch buffer owned by one reader or writer.
public final class ScratchBuffer {
    public let memory: UnsafeMutableRawBufferPointer
    public init(count: Int) {
        memory = .allocate(byteCount: max(count, 1), alignment: 4096)
        memory.initializeMemory(as: UInt8.self, repeating: 0)
    }
    deinit { memory.deallocate() }
    public func prefix(_ n: Int) -> UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(rebasing: memory[0..<n]) }
}

/// Reads and checks an image from any `ImageSource`, streaming: its memory
/// is two chunk buffers and one table block, whatever the image's size.
/// Nothing is allocated in proportion to a number read from the image.
public struct ImageReader<Source: ImageSource> {
    public let source: Source
    public let header: ImageHeader
    /// Table descriptors read per table block.
    static var descriptorsPerBlock: Int { 128 }

    /// Reads the header and checks it against the source's size.
    public init(source: Source) throws {
        self.source = source
        let size = source.byteCount
        guard size >= UInt64(ImageHeader.size) else {
            throw FormatError.truncated(what: "header", needed: UInt64(ImageHeader.size), available: size)
        }
        let block = ScratchBuffer(count: ImageHeader.size)
        try source.read(into: block.memory, at: 0)
        header = try ImageHeader.decode(Array(block.memory.bindMemory(to: UInt8.self)))
        guard header.imageSize <= size else {
            throw FormatError.truncated(what: "image", needed: header.imageSize, available: size)
        }
    }

    /// Throws unless the image may be resumed: valid state.
    public func requireValidState() throws {
        switch header.state {
        case .valid: return
        case .consumed: throw FormatError.consumed
        case .unknown: throw FormatError.unknownState
        }
    }

    /// Streams the chunk table once: its SHA-256 must match the header's
    /// digest and every row must sit where the layout says. Call before
    /// trusting any row (the agent does, before any irreversible step).
    public func checkTable() throws {
        var digest = SHA256()
        try forEachDescriptor { index, d, rawBytes in
            digest.update(rawBytes)
            try check(d, index: index)
        }
        guard digest.finalize() == header.tableDigest else { throw FormatError.tableDigest }
    }

    /// Decodes the chunks of `entry` (or of every entry when nil) in order,
    /// checking both checksums, and hands each decoded chunk to `body`.
    /// The table must have been checked (`checkTable`) first.
    ///
    /// The pipeline: chunks are taken in batches; a batch's stored bytes,
    /// contiguous on disk, come in with one large read (and the next batch
    /// is announced to the source to read ahead); the pool checks and
    /// decodes the batch's chunks in parallel; `body` gets them in order.
    /// Memory: two buffers of a batch each, bounded in bytes
    /// (`PipelineBudget.batchChunks`: at most 16 MiB together whatever
    /// the chunk size, the image size or `batchChunks`).
    public func forEachChunk(entry: Int? = nil, pool: WorkerPool? = nil, batchChunks: Int = 16,
                             _ body: (_ entry: Int, _ chunk: UInt64, _ raw: UnsafeRawBufferPointer) throws -> Void) throws {
        let chunkSize = Int(header.chunkSize)
        let batch = PipelineBudget.batchChunks(chunkSize: header.chunkSize, requested: batchChunks)
        let stored = ScratchBuffer(count: chunkSize * batch), raw = ScratchBuffer(count: chunkSize * batch)
        PipelineBudget.record(bytes: 2 * chunkSize * batch)
        defer { PipelineBudget.record(bytes: -2 * chunkSize * batch) }
        let hash = header.chunkHash
        let entries = entry.map { [$0] } ?? Array(header.entries.indices)
        var pending: [(entry: Int, index: UInt64, d: ChunkDescriptor)] = []
        pending.reserveCapacity(batch)
        let outcomes = UnsafeMutableBufferPointer<FormatError?>.allocate(capacity: batch)
        defer { outcomes.deallocate() }

        func flush() throws {
            guard let first = pending.first?.d else { return }
            let last = pending[pending.count - 1].d
            let span = Int(last.offset + UInt64(last.storedSize) - first.offset)
            try source.read(into: stored.prefix(span), at: first.offset)
            if let end = Optional(last.offset + UInt64(last.storedSize)), end < header.tableOffset {
                source.prefetch(at: end, count: min(UInt64(span), header.tableOffset - end))
            }
            let base = first.offset
            let jobs = pending
            outcomes.initialize(repeating: nil)
            let work = { (i: Int) in
                let (_, index, d) = jobs[i]
                let inBytes = UnsafeRawBufferPointer(rebasing: stored.memory[Int(d.offset - base)..<(Int(d.offset - base) + Int(d.storedSize))])
                let outBytes = UnsafeMutableRawBufferPointer(rebasing: raw.memory[(i * chunkSize)..<(i * chunkSize + Int(d.rawSize))])
                outcomes[i] = Self.decodeChunk(inBytes, d, index: index, hash: hash, into: outBytes)
            }
            if let pool { pool.parallelFor(jobs.count, work) } else { for i in jobs.indices { work(i) } }
            for (i, job) in jobs.enumerated() {
                if let failure = outcomes[i] { throw failure }
                if header.entries[job.entry].type == .cmdline {
                    try Self.checkCommandLine(raw.memory, i * chunkSize, Int(job.d.rawSize), job, header)
                }
                try body(job.entry, job.index, UnsafeRawBufferPointer(rebasing: raw.memory[(i * chunkSize)..<(i * chunkSize + Int(job.d.rawSize))]))
            }
            pending.removeAll(keepingCapacity: true)
        }

        for e in entries {
            let first = header.entries[e].firstChunk, count = header.entries[e].chunkCount
            try forEachDescriptor(from: first, count: count) { index, d, _ in
                try check(d, index: index)
                pending.append((e, index, d))
                if pending.count == batch { try flush() }
            }
        }
        try flush()
    }

    /// Checks and decodes one chunk: stored checksum, LZ4, raw checksum
    /// (BLAKE2b-128 has no raw checksum: both fields cover the stored bytes).
    static func decodeChunk(_ stored: UnsafeRawBufferPointer, _ d: ChunkDescriptor, index: UInt64, hash: ChunkHash,
                            into raw: UnsafeMutableRawBufferPointer) -> FormatError? {
        let (first, second) = hash.storedFields(stored)
        guard first == d.storedHash, second == nil || second == d.rawHash else {
            return .chunkChecksum(index: index, which: "stored")
        }
        do { try ChunkCodec.decode(stored, rawSize: Int(d.rawSize), into: raw, index: index) } catch { return error }
        if let rawHash = hash.rawField(UnsafeRawBufferPointer(raw)), rawHash != d.rawHash {
            return .chunkChecksum(index: index, which: "raw")
        }
        return nil
    }

    /// Kernel B's command line is a C string: a NUL inside it would cut it.
    static func checkCommandLine(_ memory: UnsafeMutableRawBufferPointer, _ start: Int, _ count: Int,
                                 _ job: (entry: Int, index: UInt64, d: ChunkDescriptor), _ header: ImageHeader) throws(FormatError) {
        for i in 0..<count where memory[start + i] == 0 {
            let within = (job.index - header.entries[job.entry].firstChunk) * UInt64(header.chunkSize) + UInt64(i)
            throw .field("entry \(job.entry) (cmdline)", "has a NUL byte at offset \(within)")
        }
    }

    /// Everything a restore would check: state aside, the table and every
    /// chunk. `progress` sees the raw bytes decoded so far.
    public func verifyContents(pool: WorkerPool? = nil, progress: (UInt64) -> Void = { _ in }) throws {
        try checkTable()
        var done: UInt64 = 0
        var pageMap = header.kind == .memory ? PageMapCount(header) : nil
        try forEachChunk(pool: pool) { e, _, raw in
            if e == 0 { pageMap?.count(raw) }
            done += UInt64(raw.count)
            progress(done)
        }
        try pageMap?.check()
    }

    /// Reads the whole of one small entry (a cmdline) into memory, bounded by `limit`.
    public func readEntry(_ e: Int, limit: UInt64) throws -> [UInt8] {
        guard header.entries[e].rawSize <= limit else {
            throw FormatError.field("entry \(e) raw size", "\(header.entries[e].rawSize) exceeds \(limit)")
        }
        var out: [UInt8] = []
        try forEachChunk(entry: e) { _, _, raw in out += raw }
        return out
    }

    // MARK: Table walking

    /// Where chunk `index` must be, and how big it must decode: both follow
    /// from the header, so the table cannot move or resize a chunk.
    func check(_ d: ChunkDescriptor, index: UInt64) throws(FormatError) {
        let (e, expectedRaw) = placement(of: index)
        guard d.rawSize == expectedRaw else {
            throw .field("chunk \(index) raw size", "is \(d.rawSize), expected \(expectedRaw) (entry \(e))")
        }
        guard d.storedSize >= 1, d.storedSize <= d.rawSize else {
            throw .field("chunk \(index) stored size", "\(d.storedSize) is outside 1...\(d.rawSize)")
        }
        guard d.offset >= ImageHeader.payloadOffset, d.offset <= header.tableOffset,
              UInt64(d.storedSize) <= header.tableOffset - d.offset else {
            throw .field("chunk \(index) offset", "\(d.offset) + \(d.storedSize) is outside the payload")
        }
    }

    /// The entry that owns chunk `index`, and the raw size that chunk must have.
    func placement(of index: UInt64) -> (Int, UInt32) {
        var e = 0
        while e + 1 < header.entries.count, index >= header.entries[e].firstChunk + header.entries[e].chunkCount { e += 1 }
        let entry = header.entries[e]
        let within = index - entry.firstChunk
        let chunk = UInt64(header.chunkSize)
        let remaining = entry.rawSize - within * chunk
        return (e, UInt32(min(chunk, remaining)))
    }

    /// Streams table rows [from, from+count) in fixed blocks; also checks
    /// that chunks are contiguous from the payload's start.
    public func forEachDescriptor(from: UInt64 = 0, count: UInt64? = nil,
                           _ body: (UInt64, ChunkDescriptor, UnsafeRawBufferPointer) throws -> Void) throws {
        let total = count ?? header.chunkCount
        let perBlock = UInt64(Self.descriptorsPerBlock)
        let size = Int(ImageHeader.chunkDescriptorSize)
        let block = ScratchBuffer(count: Self.descriptorsPerBlock * size)
        var expectedOffset: UInt64? = from == 0 ? ImageHeader.payloadOffset : nil
        var index = from
        while index < from + total {
            let n = min(perBlock, from + total - index)
            let bytes = block.prefix(Int(n) * size)
            try source.read(into: bytes, at: header.tableOffset + index * UInt64(size))
            for i in 0..<Int(n) {
                let row = UnsafeRawBufferPointer(rebasing: bytes[(i * size)..<((i + 1) * size)])
                let d = ChunkDescriptor.decode(row)
                if let expected = expectedOffset, d.offset != expected {
                    throw FormatError.field("chunk \(index) offset", "is \(d.offset), expected \(expected) (chunks are contiguous)")
                }
                if d.offset <= ImageHeader.maxBytes { expectedOffset = d.offset + UInt64(d.storedSize) }
                try body(index, d, row)
                index += 1
            }
        }
        if from == 0, count == nil, let end = expectedOffset, end != header.tableOffset {
            throw FormatError.field("chunk table", "chunks end at \(end), the table starts at \(header.tableOffset)")
        }
    }
}
