/// A physical address range [start, start + size).
public struct PhysicalRange: Sendable, Equatable, CustomStringConvertible {
    public var start: UInt64
    public var size: UInt64
    public init(start: UInt64, size: UInt64) {
        self.start = start
        self.size = size
    }
    public var end: UInt64 { start &+ size }
    public func contains(_ other: PhysicalRange) -> Bool { other.start >= start && other.end <= end }
    public func overlaps(_ other: PhysicalRange) -> Bool { other.start < end && start < other.end }
    /// As /proc/iomem writes it: first and last byte.
    public var description: String { "\(hexAddress(start))-\(hexAddress(end &- 1))" }
}

public func hexAddress(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }

/// "1024 MiB", "1.5 MiB" is never needed: sizes here are whole MiB or more;
/// anything smaller is shown in KiB.
public func sizeText(_ bytes: UInt64) -> String {
    bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : "\(bytes >> 10) KiB"
}
