/// Which pages of kernel A's RAM a memory image holds: one bit per page of
/// its ranges, in range order, least significant bit first; 1 = saved.
/// The same bits are the image's `page map` entry and the restore stub's map.
public struct PageMap: Sendable, Equatable {
    public struct Range: Sendable, Equatable {
        /// Physical, page aligned.
        public var start: UInt64
        public var pages: UInt64
        public init(start: UInt64, pages: UInt64) { self.start = start; self.pages = pages }
        public var end: UInt64 { start + pages * ImageHeader.pageSize }
    }

    public let ranges: [Range]
    public private(set) var bits: [UInt8]
    /// The bit index of each range's first page.
    public let firstBit: [UInt64]
    public var totalPages: UInt64 { ranges.reduce(0) { $0 + $1.pages } }

    /// Every page saved (nothing known to be free yet).
    public init(ranges: [Range]) {
        self.ranges = ranges
        var first: [UInt64] = [], total: UInt64 = 0
        for r in ranges { first.append(total); total += r.pages }
        firstBit = first
        bits = [UInt8](repeating: 0xFF, count: Int((total + 7) / 8))
        if total % 8 != 0, !bits.isEmpty { bits[bits.count - 1] = UInt8((1 << (total % 8)) - 1) }
    }

    /// A map as read from an image: `bits` must be exactly the size the
    /// ranges need, with no bit set past the last page.
    public init(ranges: [Range], bits: [UInt8]) throws(FormatError) {
        self.init(ranges: ranges)
        guard bits.count == self.bits.count else {
            throw .field("page map", "is \(bits.count) bytes, expected \(self.bits.count) for \(totalPages) pages")
        }
        let total = totalPages
        if total % 8 != 0, let last = bits.last, last >> (total % 8) != 0 {
            throw .field("page map", "has bits set past its \(total) pages")
        }
        self.bits = bits
    }

    public func isSaved(_ bit: UInt64) -> Bool { bits[Int(bit / 8)] >> (bit % 8) & 1 == 1 }
    public mutating func markFree(_ bit: UInt64) { bits[Int(bit / 8)] &= ~UInt8(1 << (bit % 8)) }

    /// Saved pages of range `r`.
    public func savedPages(inRange r: Int) -> UInt64 {
        var n: UInt64 = 0
        var bit = firstBit[r]
        let end = bit + ranges[r].pages
        while bit < end {
            if bit % 8 == 0, end - bit >= 8 {
                n += UInt64(bits[Int(bit / 8)].nonzeroBitCount)
                bit += 8
            } else {
                if isSaved(bit) { n += 1 }
                bit += 1
            }
        }
        return n
    }

    public var savedPages: UInt64 { bits.reduce(0) { $0 + UInt64($1.nonzeroBitCount) } }

    /// The bit of physical page `address`, if it is in a range.
    public func bit(of address: UInt64) -> UInt64? {
        for (i, r) in ranges.enumerated() where address >= r.start && address < r.end {
            return firstBit[i] + (address - r.start) / ImageHeader.pageSize
        }
        return nil
    }

    /// A memory image's ranges, from its `pages` entries; checks that each
    /// entry's raw size is exactly its saved pages.
    public static func ranges(of header: ImageHeader) -> [Range] {
        header.entries.filter { $0.type.holdsPages }.map { Range(start: $0.physicalAddress, pages: $0.memorySize / ImageHeader.pageSize) }
    }

    public func check(against header: ImageHeader) throws(FormatError) {
        let pages = header.entries.enumerated().filter { $0.element.type.holdsPages }
        for (r, (i, e)) in pages.enumerated() where e.rawSize != savedPages(inRange: r) * ImageHeader.pageSize {
            throw .field("pages \(i) raw size", "is \(e.rawSize), the page map saves \(savedPages(inRange: r)) pages of that range")
        }
        guard let bit = bit(of: header.entryAddress), isSaved(bit) else {
            throw Self.entryNotSaved(header.entryAddress)
        }
    }

    static func entryNotSaved(_ address: UInt64) -> FormatError {
        .field("entry address", "0x\(String(address, radix: 16)) is in a page the page map leaves out (A's re-entry code must be saved)")
    }
}

/// A memory image's page map checked as it streams past (`verify`): the
/// saved pages of each range must be its `pages` entry's raw size, and no
/// bit may be set past the last page. Holds counters only, whatever the
/// map's size.
struct PageMapCount {
    let entries: [ImageEntry]
    /// Bits per range, in order.
    let rangePages: [UInt64]
    private var saved: [UInt64]
    private var bit: UInt64 = 0
    private var strayBits = false
    /// The bit of the entry address's page, and whether it was seen set.
    private let entryBit: UInt64?
    private let entryAddress: UInt64
    private var entrySaved = false

    init(_ header: ImageHeader) {
        entries = Array(header.entries.dropFirst())
        rangePages = entries.map { $0.memorySize / ImageHeader.pageSize }
        saved = [UInt64](repeating: 0, count: entries.count)
        entryAddress = header.entryAddress
        var first: UInt64 = 0, found: UInt64?
        for e in entries {
            if header.entryAddress >= e.physicalAddress, header.entryAddress - e.physicalAddress < e.memorySize {
                found = first + (header.entryAddress - e.physicalAddress) / ImageHeader.pageSize
            }
            first += e.memorySize / ImageHeader.pageSize
        }
        entryBit = found
    }

    mutating func count(_ bytes: UnsafeRawBufferPointer) {
        var range = 0, rangeEnd = rangePages.first ?? 0
        var base: UInt64 = 0
        for r in rangePages.indices where bit >= base + rangePages[r] { base += rangePages[r]; range = r + 1 }
        rangeEnd = base + (range < rangePages.count ? rangePages[range] : 0)
        for byte in bytes {
            if let e = entryBit, e >= bit, e < bit + 8, byte >> (e - bit) & 1 == 1 { entrySaved = true }
            for b in 0..<8 where byte >> b & 1 == 1 {
                let at = bit + UInt64(b)
                while range < rangePages.count, at >= rangeEnd {
                    range += 1
                    rangeEnd += range < rangePages.count ? rangePages[range] : 0
                }
                if range < rangePages.count { saved[range] += 1 } else { strayBits = true }
            }
            bit += 8
        }
    }

    func check() throws(FormatError) {
        guard !strayBits else { throw .field("page map", "has bits set past its \(rangePages.reduce(0, +)) pages") }
        for (r, e) in entries.enumerated() where e.rawSize != saved[r] * ImageHeader.pageSize {
            throw .field("pages \(r + 1) raw size", "is \(e.rawSize), the page map saves \(saved[r]) pages of that range")
        }
        guard entrySaved else { throw PageMap.entryNotSaved(entryAddress) }
    }
}
