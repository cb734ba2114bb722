/// The structural rules a header must satisfy, checked after decoding and
/// before any byte of the image is trusted. Every value is bounded by
/// `ImageHeader.maxBytes` first, so no sum below can overflow.
extension ImageHeader {
    public static let chunkDescriptorSize: UInt64 = 32

    func validateLayout() throws(FormatError) {
        let big: [(String, UInt64)] = [
            ("chunk count", chunkCount), ("table offset", tableOffset), ("table size", tableSize),
            ("image size", imageSize), ("raw total", rawTotal), ("stored total", storedTotal),
            ("entry address", entryAddress), ("required memory", requiredMemoryBytes),
            ("memory block size", memoryBlockSize),
        ]
        for (name, value) in big where value > ImageHeader.maxBytes {
            throw .field(name, "\(value) exceeds the format limit of 2^48")
        }
        var nextChunk: UInt64 = 0, raw: UInt64 = 0, stored: UInt64 = 0
        for (i, e) in entries.enumerated() {
            for (name, value) in [("raw size", e.rawSize), ("stored size", e.storedSize), ("first chunk", e.firstChunk),
                                  ("chunk count", e.chunkCount), ("physical address", e.physicalAddress),
                                  ("memory size", e.memorySize)] where value > ImageHeader.maxBytes {
                throw .field("entry \(i) \(name)", "\(value) exceeds the format limit of 2^48")
            }
            guard e.firstChunk == nextChunk else {
                throw .field("entry \(i) first chunk", "is \(e.firstChunk), expected \(nextChunk) (entries must be contiguous)")
            }
            let expectedChunks = (e.rawSize + UInt64(chunkSize) - 1) / UInt64(chunkSize)
            guard e.chunkCount == expectedChunks else {
                throw .field("entry \(i) chunk count", "is \(e.chunkCount), expected \(expectedChunks) for \(e.rawSize) bytes")
            }
            // Each chunk stores at least one byte and never more than its raw size.
            guard e.storedSize >= e.chunkCount, e.storedSize <= e.rawSize else {
                throw .field("entry \(i) stored size", "\(e.storedSize) is outside \(e.chunkCount)...\(e.rawSize)")
            }
            nextChunk += e.chunkCount
            raw += e.rawSize
            stored += e.storedSize
        }
        guard chunkCount == nextChunk else { throw .field("chunk count", "is \(chunkCount), entries hold \(nextChunk)") }
        guard rawTotal == raw else { throw .field("raw total", "is \(rawTotal), entries hold \(raw)") }
        guard storedTotal == stored else { throw .field("stored total", "is \(storedTotal), entries hold \(stored)") }
        guard tableOffset == ImageHeader.payloadOffset + storedTotal else {
            throw .field("table offset", "is \(tableOffset), expected \(ImageHeader.payloadOffset + storedTotal)")
        }
        guard tableSize == chunkCount * ImageHeader.chunkDescriptorSize else {
            throw .field("table size", "is \(tableSize), expected \(chunkCount * ImageHeader.chunkDescriptorSize)")
        }
        guard imageSize == tableOffset + tableSize else {
            throw .field("image size", "is \(imageSize), expected \(tableOffset + tableSize)")
        }
        switch kind {
        case .kernel: try validateKernelEntries()
        case .segments: try validateSegmentEntries()
        case .snapshot: try validateSnapshotEntries()
        case .memory: try validateMemoryEntries()
        }
        if kind != .segments, kind != .memory, entryAddress != 0 { throw .field("entry address", "must be 0 for a \(kind.name) image") }
        if kind != .snapshot, requiredMemoryBytes != 0 || memoryBlockSize != 0 {
            throw .field("memory requirements", "must be 0 for a \(kind.name) image")
        }
        // A segments image may say whose memory it is (1.2): a saved
        // hibernate kernel records the machine's firmware map and an
        // identity of that kernel.
        if kind == .kernel || (kind == .segments && formatMinor < 2), memoryLayoutHash != 0 {
            throw .field("memory layout hash", "must be 0 for a \(kind.name) image\(kind == .segments ? " before format 1.2" : "")")
        }
        if kind == .kernel || kind == .snapshot, !kernelBuildID.isEmpty {
            throw .field("kernel build id", "must be empty for a \(kind.name) image")
        }
    }

    private func validateNoPlacement(_ i: Int, _ e: ImageEntry) throws(FormatError) {
        guard e.physicalAddress == 0, e.memorySize == 0 else {
            throw .field("entry \(i)", "a \(e.type.name) entry has no physical placement")
        }
    }

    private func validateKernelEntries() throws(FormatError) {
        // kernel first, then at most one initrd, then at most one cmdline.
        var order: [EntryType] = [.kernel, .initrd, .cmdline]
        for (i, e) in entries.enumerated() {
            guard let at = order.firstIndex(of: e.type), i > 0 || e.type == .kernel else {
                throw .field("entry \(i) type", "\(e.type.name) is out of place in a kernel image (kernel, [initrd], [cmdline])")
            }
            order.removeFirst(at + 1)
            try validateNoPlacement(i, e)
            if e.rawSize == 0 {
                throw .field("entry \(i) raw size", "the \(e.type.name) is empty (an empty \(e.type.name) is left out, not stored)")
            }
            if e.type == .cmdline, e.rawSize > ImageHeader.maxCmdlineBytes {
                throw .field("entry \(i) raw size", "cmdline of \(e.rawSize) bytes exceeds \(ImageHeader.maxCmdlineBytes)")
            }
        }
    }

    private func validateSegmentEntries() throws(FormatError) {
        let page = ImageHeader.pageSize
        var entryInside = false
        for (i, e) in entries.enumerated() {
            guard e.type == .segment else { throw .field("entry \(i) type", "\(e.type.name) in a segments image") }
            guard e.physicalAddress % page == 0 else {
                throw .field("segment \(i) physical address", "\(hex(e.physicalAddress)) is not page aligned")
            }
            guard e.memorySize > 0, e.memorySize % page == 0 else {
                throw .field("segment \(i) memory size", "\(hex(e.memorySize)) is not a non-zero multiple of the page size")
            }
            guard e.memorySize >= e.rawSize else {
                throw .field("segment \(i) memory size", "\(hex(e.memorySize)) is smaller than its \(e.rawSize) bytes of data")
            }
            let end = e.physicalAddress + e.memorySize
            for (j, other) in entries.enumerated() where j < i {
                if e.physicalAddress < other.physicalAddress + other.memorySize && other.physicalAddress < end {
                    throw .field("segment \(i)", "[\(hex(e.physicalAddress)), \(hex(end))) overlaps segment \(j)")
                }
            }
            if entryAddress >= e.physicalAddress && entryAddress < end { entryInside = true }
        }
        guard entryInside else { throw .field("entry address", "\(hex(entryAddress)) is outside every segment") }
    }

    /// memory: entry 0 the page map, then 1...15 `pages` entries (the first
    /// may be `low pages`: A's trampoline, below 1 MiB; `pages` lie at or
    /// above 1 MiB), each a page-aligned physical range, ascending and
    /// apart; the map has one bit
    /// per page of those ranges; a range's raw size is its saved pages
    /// (whole pages, at most the range). That the map's bits match each
    /// range's raw size is checked when the map is read (`PageMap`).
    private func validateMemoryEntries() throws(FormatError) {
        let page = ImageHeader.pageSize
        guard !isReusable else { throw .field("flags", "a memory image is never reusable (kernel A must not be resumed twice)") }
        guard entries.count >= 2, entries[0].type == .pageMap else {
            throw .field("entries", "a memory image holds a page map, then 1...\(ImageHeader.maxEntries - 1) pages entries")
        }
        try validateNoPlacement(0, entries[0])
        var pages: UInt64 = 0, previousEnd: UInt64 = 0, entryInside = false
        for (i, e) in entries.enumerated().dropFirst() {
            guard e.type == .pages || (e.type == .lowPages && i == 1) else {
                throw .field("entry \(i) type", "\(e.type.name) in a memory image \(e.type == .lowPages ? "after its first range" : "after its page map")")
            }
            guard e.physicalAddress % page == 0, e.memorySize > 0, e.memorySize % page == 0 else {
                throw .field("pages \(i) range", "[\(hex(e.physicalAddress)), +\(hex(e.memorySize))) is not a non-empty run of whole pages")
            }
            let lowEnd = RealModeTrampoline.limit
            if e.type == .lowPages {
                guard e.memorySize <= lowEnd, e.physicalAddress <= lowEnd - e.memorySize else {
                    throw .field("low pages \(i) range", "[\(hex(e.physicalAddress)), +\(hex(e.memorySize))) does not lie below 1 MiB")
                }
            } else if e.physicalAddress < lowEnd {
                throw .field("pages \(i) range", "starts at \(hex(e.physicalAddress)), in the first MiB (where B and C run; only a low pages entry lies there)")
            }
            guard i == 1 || e.physicalAddress >= previousEnd else {
                throw .field("pages \(i) range", "starts at \(hex(e.physicalAddress)), below the end of the previous range \(hex(previousEnd))")
            }
            guard e.rawSize % page == 0, e.rawSize <= e.memorySize else {
                throw .field("pages \(i) raw size", "\(e.rawSize) is not whole pages within the range's \(e.memorySize) bytes")
            }
            previousEnd = e.physicalAddress + e.memorySize
            pages += e.memorySize / page
            if entryAddress >= e.physicalAddress && entryAddress < previousEnd { entryInside = true }
        }
        guard entries[0].rawSize == (pages + 7) / 8 else {
            throw .field("page map raw size", "is \(entries[0].rawSize), expected \((pages + 7) / 8) for \(pages) pages")
        }
        guard entryInside else { throw .field("entry address", "\(hex(entryAddress)) is outside every saved range") }
        guard memoryLayoutHash != 0 else { throw .field("memory layout hash", "is 0 in a memory image") }
        guard !producerRelease.isEmpty else { throw .field("producer release", "is empty in a memory image") }
        guard !kernelBuildID.isEmpty else { throw .field("kernel build id", "is empty in a memory image") }
    }

    private func validateSnapshotEntries() throws(FormatError) {
        guard entries.count == 1, entries[0].type == .stream else {
            throw .field("entries", "a snapshot image holds exactly one stream entry")
        }
        try validateNoPlacement(0, entries[0])
        guard entries[0].rawSize > 0 else { throw .field("entry 0 raw size", "the snapshot stream is empty") }
        guard requiredMemoryBytes > 0 else { throw .field("required memory", "is 0 in a snapshot image") }
        guard memoryBlockSize >= ImageHeader.pageSize, memoryBlockSize & (memoryBlockSize - 1) == 0 else {
            throw .field("memory block size", "\(memoryBlockSize) is not a power of two of at least \(ImageHeader.pageSize)")
        }
        guard requiredMemoryBytes % memoryBlockSize == 0 else {
            throw .field("required memory", "\(requiredMemoryBytes) is not a whole number of \(memoryBlockSize)-byte memory blocks")
        }
        guard !producerRelease.isEmpty else { throw .field("producer release", "is empty in a snapshot image") }
    }
}
