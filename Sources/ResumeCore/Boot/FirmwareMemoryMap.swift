/// The machine's memory map as its firmware gave it (`/sys/firmware/memmap`):
/// what a kexec-jump image (kind 4) records about the machine it was saved
/// on, and what the restoring kernel must match. The firmware map is the
/// one a command line cannot change: `mem=`, `memmap=` and a kexec jump's
/// `memmap=exactmap` edit the kernel's own e820 table, not this one, so
/// kernel A (booted with `mem=`), the hibernate kernel B and the boot
/// kernel C all agree on it when they run on the same machine.
public struct FirmwareMemoryMap: Equatable, Sendable {
    public struct Entry: Equatable, Sendable {
        public var start: UInt64
        /// Inclusive, as sysfs prints it.
        public var end: UInt64
        public var type: String
        public init(start: UInt64, end: UInt64, type: String) {
            self.start = start; self.end = end; self.type = type
        }
    }

    public var entries: [Entry]
    public init(entries: [Entry]) { self.entries = entries.sorted { $0.start < $1.start } }

    /// One line per entry, ascending: `start-end type`, lowercase hex without
    /// `0x`, end inclusive; the type as sysfs gives it, its control characters
    /// escaped. The text the memory layout hash covers (docs/FORMAT.md).
    public var canonicalText: String {
        var text = ""
        for e in entries {
            text += hex(e.start) + "-" + hex(e.end) + " " + e.type.trimmingWhitespace().escapingControlCharacters + "\n"
        }
        return text
    }

    /// XXH64 (seed 0) of `canonicalText`.
    public var hash: UInt64 { XXH64.hash(Array(canonicalText.utf8)) }

    /// The RAM ("System RAM") entries, start and inclusive end.
    public var ram: [(start: UInt64, end: UInt64)] {
        entries.filter { $0.type.trimmingWhitespace() == "System RAM" }.map { ($0.start, $0.end) }
    }

    /// Whether every byte of `range` is "System RAM" (adjacent entries count as one).
    public func isRAM(_ range: PhysicalRange) -> Bool {
        var cursor = range.start
        for r in ram.sorted(by: { $0.start < $1.start }) where r.start <= cursor && cursor <= r.end {
            guard r.end < UInt64.max else { return true }
            cursor = r.end + 1
            if cursor >= range.end { return true }
        }
        return cursor >= range.end
    }

    /// Reads `/sys/firmware/memmap/N/{start,end,type}` through `read`
    /// (a path to its text, nil when absent). N counts up from 0 and stops at
    /// the first absent entry, or at `limit` entries (the kernel makes one per
    /// e820 entry, at most 128 on x86 plus what kexec added).
    public static func read(limit: Int = 1024, _ read: (String) -> String?) -> FirmwareMemoryMap? {
        var entries: [Entry] = []
        for n in 0..<limit {
            let dir = "/sys/firmware/memmap/\(n)/"
            guard let s = read(dir + "start"), let e = read(dir + "end"), let t = read(dir + "type") else { break }
            guard let start = parseHex(s.trimmingWhitespace()), let end = parseHex(e.trimmingWhitespace()) else { return nil }
            entries.append(Entry(start: start, end: end, type: t.trimmingWhitespace()))
        }
        return entries.isEmpty ? nil : FirmwareMemoryMap(entries: entries)
    }
}

private func hex(_ v: UInt64) -> String { String(v, radix: 16) }

/// `0x1f`, `1f`: hexadecimal, at most 16 digits.
public func parseHex(_ text: Substring) -> UInt64? {
    var t = text
    if t.hasPrefix("0x") || t.hasPrefix("0X") { t = t.dropFirst(2) }
    guard !t.isEmpty, t.count <= 16 else { return nil }
    return UInt64(t, radix: 16)
}
public func parseHex(_ text: String) -> UInt64? { parseHex(Substring(text)) }
