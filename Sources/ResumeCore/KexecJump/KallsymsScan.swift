/// The running kernel's symbols as /proc/kallsyms lists them
/// ("ffffffff819ad658 b real_mode_header", runtime addresses: KASLR
/// applied), streamed once and matched byte by byte: only the names asked
/// for are kept, nothing per line is allocated (the file has over 100,000
/// lines with CONFIG_KALLSYMS_ALL, and kernel A's side reads it before
/// every jump). The one way the project looks up A's symbols.
public struct KallsymsScan: Sendable {
    public static let path = "/proc/kallsyms"
    /// No line of kallsyms is longer (a name is at most 512 bytes).
    static let maxLine = 4096

    private let wanted: [[UInt8]]
    /// The wanted names found, with their addresses.
    public private(set) var addresses: [String: UInt64] = [:]
    /// A wanted name was listed with address 0: kernel.kptr_restrict hides them.
    public private(set) var hidden = false
    /// A line longer than any kallsyms line: the rest is not read.
    public private(set) var malformed = false
    private var partial: [UInt8] = []

    public init(names: [String]) { wanted = names.map { Array($0.utf8) } }

    /// The next bytes of the file.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        guard !malformed else { return }
        var start = 0
        for i in 0..<bytes.count where bytes[i] == 0x0A {
            if partial.isEmpty {
                line(UnsafeRawBufferPointer(rebasing: bytes[start..<i]))
            } else {
                partial += bytes[start..<i]
                partial.withUnsafeBytes { line($0) }
                partial.removeAll(keepingCapacity: true)
            }
            start = i + 1
        }
        partial += bytes[start...]
        if partial.count > Self.maxLine { malformed = true }
    }

    /// The text of a whole file (tests, small inputs).
    public static func scanning(_ text: String, names: [String]) -> KallsymsScan {
        var scan = KallsymsScan(names: names)
        Array((text + "\n").utf8).withUnsafeBytes { scan.feed($0) }
        return scan
    }

    private mutating func line(_ text: UnsafeRawBufferPointer) {
        // "ADDRESS TYPE NAME" (a module's symbols add "\t[module]": never wanted).
        var space = text.count
        while space > 0, text[space - 1] != 0x20 { space -= 1 }
        guard space > 0 else { return }
        let name = UnsafeRawBufferPointer(rebasing: text[space...])
        guard let k = wanted.firstIndex(where: { $0.count == name.count && $0.elementsEqual(name) }) else { return }
        var address: UInt64 = 0
        for byte in text {
            if byte == 0x20 { break }
            let digit: UInt8
            switch byte {
            case 0x30...0x39: digit = byte - 0x30
            case 0x61...0x66: digit = byte - 0x61 + 10
            case 0x41...0x46: digit = byte - 0x41 + 10
            default: return
            }
            guard address >> 60 == 0 else { return }
            address = address << 4 | UInt64(digit)
        }
        if address == 0 { hidden = true; return }
        addresses[String(decoding: wanted[k], as: UTF8.self)] = address
    }
}
