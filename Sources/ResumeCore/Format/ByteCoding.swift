/// Explicit little-endian field access over a byte array. Every access is
/// bounds-checked by the array; callers bound offsets before decoding.
struct LittleEndianBytes {
    var bytes: [UInt8]

    init(count: Int) { bytes = [UInt8](repeating: 0, count: count) }
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func u16(_ at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }
    func u32(_ at: Int) -> UInt32 {
        var v: UInt32 = 0
        for i in (0..<4).reversed() { v = v << 8 | UInt32(bytes[at + i]) }
        return v
    }
    func u64(_ at: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in (0..<8).reversed() { v = v << 8 | UInt64(bytes[at + i]) }
        return v
    }
    func slice(_ at: Int, _ count: Int) -> [UInt8] { Array(bytes[at..<(at + count)]) }

    /// A NUL-padded text field; bytes after the first NUL must be zero.
    func text(_ at: Int, _ capacity: Int) -> (String, paddingClean: Bool) {
        let field = bytes[at..<(at + capacity)]
        let end = field.firstIndex(of: 0) ?? field.endIndex
        let clean = field[end...].allSatisfy { $0 == 0 }
        return (String(decoding: field[field.startIndex..<end], as: UTF8.self), clean)
    }

    /// A text field of the format: printable ASCII (0x20...0x7E), then NUL
    /// padding to the field's end, at least one NUL. Throws naming `field`.
    func printableText(_ at: Int, _ capacity: Int, _ field: String) throws(FormatError) -> String {
        let (text, clean) = self.text(at, capacity)
        let raw = bytes[at..<(at + capacity)]
        let end = raw.firstIndex(of: 0) ?? raw.endIndex
        guard end < raw.endIndex else { throw .field(field, "has no NUL terminator in its \(capacity) bytes") }
        if let bad = raw[at..<end].firstIndex(where: { $0 < 0x20 || $0 > 0x7E }) {
            throw .field(field, "byte \(bad - at) is \(hex(raw[bad])), not printable ASCII")
        }
        guard clean else { throw .field(field, "has bytes after its terminator") }
        return text
    }

    mutating func put16(_ at: Int, _ v: UInt16) { for i in 0..<2 { bytes[at + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) } }
    mutating func put32(_ at: Int, _ v: UInt32) { for i in 0..<4 { bytes[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) } }
    mutating func put64(_ at: Int, _ v: UInt64) { for i in 0..<8 { bytes[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) } }
    mutating func put(_ at: Int, _ data: [UInt8]) { for (i, b) in data.enumerated() { bytes[at + i] = b } }
    /// Writes `text` NUL-padded; it must leave room for at least one NUL.
    mutating func putText(_ at: Int, _ capacity: Int, _ text: String) {
        let utf8 = Array(text.utf8.prefix(capacity - 1))
        put(at, utf8)
    }
}
