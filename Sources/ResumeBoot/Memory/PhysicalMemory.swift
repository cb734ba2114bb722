import ResumeCore
import ResumeSystem

/// The kernel's `memmap=` parameter, the part of it that holds memory back.
public enum MemmapParameter {
    /// E820_TYPE_SOFT_RESERVED: RAM the kernel leaves to a driver (dax_hmem).
    public static let softReservedType: UInt64 = 0xefff_ffff
    static let ramType: UInt64 = 1

    /// The ranges `memmap=SIZE%START-1+0xefffffff` turns from RAM into
    /// "Soft Reserved", in command-line order (several memmap= parameters,
    /// or one with comma-separated entries, as the kernel accepts).
    public static func heldBack(_ cmdline: KernelCommandLine) -> [PhysicalRange] {
        var out: [PhysicalRange] = []
        for parameter in cmdline.parameters where parameter.name == "memmap" {
            guard let value = parameter.value else { continue }
            for item in value.split(separator: ",") {
                if let range = softReserve(item) { out.append(range) }
            }
        }
        return out
    }

    /// SIZE%START-OLD+NEW (arch/x86/kernel/e820.c, parse_memmap_one) with
    /// NEW the soft-reserved type and OLD RAM (or absent).
    static func softReserve(_ text: Substring) -> PhysicalRange? {
        guard let (size, afterSize) = memparse(text), size > 0, afterSize.first == "%" else { return nil }
        guard let (start, afterStart) = memparse(afterSize.dropFirst()) else { return nil }
        var rest = afterStart
        var old: UInt64 = 0
        if rest.first == "-" {
            guard let (value, after) = number(rest.dropFirst()) else { return nil }
            (old, rest) = (value, after)
        }
        guard rest.first == "+", let (new, after) = number(rest.dropFirst()), after.isEmpty else { return nil }
        guard new == softReservedType, old == 0 || old == ramType else { return nil }
        return PhysicalRange(start: start, size: size)
    }

    /// The kernel's memparse: a number (0x hex, leading 0 octal, else
    /// decimal) and an optional K, M, G, T, P or E. Nil without a number.
    public static func memparse(_ text: Substring) -> (UInt64, Substring)? {
        guard var (value, rest) = number(text) else { return nil }
        let shifts: [Character: UInt64] = ["K": 10, "M": 20, "G": 30, "T": 40, "P": 50, "E": 60]
        if let c = rest.first, let shift = shifts[Character(c.uppercased())] {
            guard value <= UInt64.max >> shift else { return nil }
            value <<= shift
            rest = rest.dropFirst()
        }
        return (value, rest)
    }

    /// simple_strtoull(..., 0): hex after 0x, octal after 0, else decimal.
    static func number(_ text: Substring) -> (UInt64, Substring)? {
        var radix = 10, digits = text
        if text.hasPrefix("0x") || text.hasPrefix("0X") { radix = 16; digits = text.dropFirst(2) } else if text.hasPrefix("0"), text.count > 1 { radix = 8; digits = text.dropFirst() }
        let prefix = digits.prefix { $0.isHexDigit && Int(String($0), radix: radix) != nil }
        if prefix.isEmpty { return radix == 8 ? (0, digits) : nil }
        guard let value = UInt64(prefix, radix: radix) else { return nil }
        return (value, digits.dropFirst(prefix.count))
    }

    /// How `memparse` would read `bytes` back, shortest first: "1G", "1536M", "0x...".
    public static func sizeArgument(_ bytes: UInt64) -> String {
        for (suffix, shift) in [("G", UInt64(30)), ("M", 20), ("K", 10)] where bytes != 0 && bytes % (1 << shift) == 0 {
            return "\(bytes >> shift)\(suffix)"
        }
        return hexAddress(bytes)
    }
}

/// One line of /proc/iomem: "  100000000-13fffffff : Soft Reserved".
public struct IOMemEntry: Sendable, Equatable {
    public var range: PhysicalRange
    public var name: String
    /// Nesting (two spaces per level).
    public var depth: Int
}

public enum IOMem {
    public static let path = "/proc/iomem"

    public static func parse(_ text: String) -> [IOMemEntry] {
        var out: [IOMemEntry] = []
        for line in text.split(separator: "\n") {
            let indent = line.prefix { $0 == " " }.count
            let body = line.dropFirst(indent)
            guard let colon = body.firstIndex(of: ":") else { continue }
            let bounds = body[..<colon].split(separator: "-").map { $0.trimmingCharacters(in: " ") }
            guard bounds.count == 2, let first = UInt64(bounds[0], radix: 16), let last = UInt64(bounds[1], radix: 16), last >= first else { continue }
            out.append(IOMemEntry(range: PhysicalRange(start: first, size: last - first + 1),
                                  name: String(body[body.index(after: colon)...]).trimmingWhitespace(), depth: indent / 2))
        }
        return out
    }

    /// Without CAP_SYS_ADMIN the kernel shows every address as 0.
    public static func addressesHidden(_ entries: [IOMemEntry]) -> Bool {
        !entries.isEmpty && entries.allSatisfy { $0.range.start == 0 && $0.range.size == 1 }
    }

    /// The end of the highest RAM the kernel booted with (top-level
    /// "System RAM"; memory kmem adds sits below its dax device).
    public static func topOfRAM(_ entries: [IOMemEntry]) -> UInt64? {
        entries.filter { $0.depth == 0 && $0.name == "System RAM" }.map(\.range.end).max()
    }

    /// "Soft Reserved" ranges, at whatever depth: the platform device
    /// dax_hmem binds to ("hmem.0", the same range) is inserted above it.
    public static func softReserved(_ entries: [IOMemEntry]) -> [PhysicalRange] {
        var out: [PhysicalRange] = []
        for e in entries where e.name == "Soft Reserved" && !out.contains(e.range) { out.append(e.range) }
        return out
    }

    /// Whether memory inside `range` has been added as RAM ("System RAM (kmem)" below it).
    public static func hasAddedRAM(_ entries: [IOMemEntry], in range: PhysicalRange) -> Bool {
        entries.contains { $0.depth > 0 && $0.name.hasPrefix("System RAM") && range.contains($0.range) }
    }
}

/// A device on /sys/bus/dax: what dax_hmem made of a soft-reserved range.
public struct DaxDevice: Sendable, Equatable {
    public var name: String
    public var range: PhysicalRange
    /// The NUMA node the firmware's SRAT gives the range; nil when the
    /// kernel hides target_node (no SRAT: kmem rejects the device).
    public var targetNode: Int?
    public var numaNode: Int?
    /// The bound driver: "device_dax", "kmem", or nil.
    public var driver: String?

    public static let root = "/sys/bus/dax/devices"
    public static let drivers = "/sys/bus/dax/drivers"

    /// Every dax device; none when the bus is not there (dax not loaded).
    public static func read(_ system: BootSystem) -> [DaxDevice] {
        guard let names = try? system.list(root) else { return [] }
        var out: [DaxDevice] = []
        for name in names where name.hasPrefix("dax") {
            let dir = "\(root)/\(name)"
            func field(_ file: String) -> String? { (try? system.readText("\(dir)/\(file)"))?.trimmingWhitespace() }
            guard let startText = field("resource"), let start = MemmapParameter.memparse(Substring(startText))?.0,
                  let sizeText = field("size"), let size = UInt64(sizeText) else { continue }
            var driver: String?
            if system.exists("\(dir)/driver"), let target = system.canonicalPath("\(dir)/driver") {
                driver = target.split(separator: "/").last.map(String.init)
            }
            out.append(DaxDevice(name: name, range: PhysicalRange(start: start, size: size),
                                 targetNode: field("target_node").flatMap { Int($0) }, numaNode: field("numa_node").flatMap { Int($0) },
                                 driver: driver))
        }
        return out
    }
}

extension Substring {
    func trimmingCharacters(in set: Character) -> Substring {
        var s = self
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return s
    }
}
