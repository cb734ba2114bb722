/// Chunks as they stream past, each handed to a worker with its stored
/// bytes and a chunk-sized scratch buffer: the worker decides what to do
/// with it (check its stored hash and copy it on, or decode it into place).
extension ImageReader {
    /// One chunk for `work`: its index, row, stored bytes and a scratch
    /// buffer of `chunkSize` bytes that is the worker's alone.
    public typealias StoredChunkWork = (_ index: UInt64, _ d: ChunkDescriptor, _ stored: UnsafeRawBufferPointer,
                                        _ scratch: UnsafeMutableRawBufferPointer) -> FormatError?

    /// Streams the chunks of `entries` (a contiguous run) in batches, one
    /// read per batch, and runs `work` on the batch's chunks in parallel;
    /// `queued` sees every chunk in order first (to give it its place).
    /// Throws the first failure, in chunk order. Memory: two batch buffers,
    /// bounded as `forEachChunk`'s. The table must have been checked.
    public func forEachStoredChunk(entries: Range<Int>, pool: WorkerPool?,
                                   queued: (_ index: UInt64, _ d: ChunkDescriptor) throws -> Void,
                                   work: @escaping StoredChunkWork) throws {
        let chunkSize = Int(header.chunkSize)
        let batch = PipelineBudget.batchChunks(chunkSize: header.chunkSize, requested: 16)
        let stored = ScratchBuffer(count: chunkSize * batch), scratch = ScratchBuffer(count: chunkSize * batch)
        PipelineBudget.record(bytes: 2 * chunkSize * batch)
        defer { PipelineBudget.record(bytes: -2 * chunkSize * batch) }
        let outcomes = UnsafeMutableBufferPointer<FormatError?>.allocate(capacity: batch)
        defer { outcomes.deallocate() }
        var jobs: [(index: UInt64, d: ChunkDescriptor)] = []
        jobs.reserveCapacity(batch)
        func flush() throws {
            guard let first = jobs.first?.d else { return }
            let last = jobs[jobs.count - 1].d
            let end = last.offset + UInt64(last.storedSize)
            try source.read(into: stored.prefix(Int(end - first.offset)), at: first.offset)
            if end < header.tableOffset { source.prefetch(at: end, count: min(end - first.offset, header.tableOffset - end)) }
            let current = jobs
            outcomes.initialize(repeating: nil)
            let body = { (i: Int) in
                let (index, d) = current[i]
                let at = Int(d.offset - first.offset)
                outcomes[i] = work(index, d, UnsafeRawBufferPointer(rebasing: stored.memory[at..<(at + Int(d.storedSize))]),
                                   UnsafeMutableRawBufferPointer(rebasing: scratch.memory[(i * chunkSize)..<((i + 1) * chunkSize)]))
            }
            if let pool { pool.parallelFor(current.count, body) } else { for i in current.indices { body(i) } }
            for i in current.indices { if let failure = outcomes[i] { throw failure } }
            jobs.removeAll(keepingCapacity: true)
        }
        for e in entries {
            let entry = header.entries[e]
            try forEachDescriptor(from: entry.firstChunk, count: entry.chunkCount) { index, d, _ in
                try check(d, index: index)
                try queued(index, d)
                jobs.append((index, d))
                if jobs.count == batch { try flush() }
            }
        }
        try flush()
    }

    /// The stored checksum alone: what the restore stub will decode is
    /// exactly what was written (it decodes with its own bounded LZ4).
    public static func checkStored(_ stored: UnsafeRawBufferPointer, _ d: ChunkDescriptor, index: UInt64, hash: ChunkHash) -> FormatError? {
        let (first, second) = hash.storedFields(stored)
        return first == d.storedHash && (second == nil || second == d.rawHash) ? nil : .chunkChecksum(index: index, which: "stored")
    }

    /// Stored checksum, LZ4, raw checksum, into `raw` (exactly the raw size).
    public static func checkAndDecode(_ stored: UnsafeRawBufferPointer, _ d: ChunkDescriptor, index: UInt64, hash: ChunkHash,
                                      into raw: UnsafeMutableRawBufferPointer) -> FormatError? {
        decodeChunk(stored, d, index: index, hash: hash, into: raw)
    }
}
