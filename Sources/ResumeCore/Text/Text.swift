/// Small text helpers shared by every layer (no Foundation here).
extension String {
    /// Without leading and trailing whitespace.
    public func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let end = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(scalars[start...end])
    }

    /// Text from an image or a device is data: control characters (C0,
    /// DEL, C1: newlines, escape sequences) become `\xNN`, so such text can
    /// neither forge a log line nor drive a terminal. The backslash is
    /// escaped too, so the result reads back unambiguously.
    public var escapingControlCharacters: String {
        guard unicodeScalars.contains(where: { $0.value < 0x20 || (0x7f...0x9f).contains($0.value) || $0 == "\\" }) else { return self }
        var out = ""
        for scalar in unicodeScalars {
            switch scalar.value {
            case 0x5c: out += "\\\\"
            case 0..<0x20, 0x7f...0x9f:
                let hex = String(scalar.value, radix: 16)
                out += "\\x" + (hex.count < 2 ? "0" : "") + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

/// Fields of /proc files such as /proc/meminfo and /proc/self/status
/// ("Name:   value unit" per line): the one reader of them.
public enum ProcFields {
    /// The first number after `name:` (e.g. "MemTotal" gives the kB count).
    public static func number(_ name: String, in text: String) -> UInt64? {
        for line in text.split(separator: "\n") {
            guard line.hasPrefix(name), line.dropFirst(name.count).first == ":" else { continue }
            return line.dropFirst(name.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { UInt64($0) }
        }
        return nil
    }
}

extension StringProtocol {
    /// Whether `text` occurs in this string, by UTF-8 bytes. The standard
    /// `contains(_: String)` lives in _StringProcessing, which would link
    /// the regex libraries (about 1.4 MB) into the agent.
    public func containsText(_ text: String) -> Bool {
        let haystack = Array(utf8), needle = Array(text.utf8)
        guard !needle.isEmpty else { return true }
        guard haystack.count >= needle.count else { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) { return true }
        }
        return false
    }
}
