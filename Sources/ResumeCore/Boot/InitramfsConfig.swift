/// initramfs-tools' configuration as its /init reads it: /conf/initramfs.conf,
/// then every file in /conf/conf.d in order, each sourced by the shell, so
/// the last assignment wins. The agent takes one variable from it: RESUME,
/// which Debian's installer writes to /etc/initramfs-tools/conf.d/resume
/// (and initramfs-tools' resume hook to conf.d/zz-resume-auto).
public enum InitramfsConfig {
    /// The value of the last `RESUME=` assignment in `files` (in the order
    /// /init sources them), or nil when none assigns it. Understands what
    /// such files hold: `RESUME=value`, `RESUME="value"`, `RESUME='value'`,
    /// `export RESUME=value`, comments and blank lines. Anything else on a
    /// line (a command substitution, a second word) makes that line count
    /// as not understood: it is skipped, never guessed at.
    public static func resume(fromFiles files: [String]) -> String? {
        var value: String?
        for text in files {
            for rawLine in text.split(separator: "\n", omittingEmptySubsequences: true) {
                var line = Substring(rawLine.drop(while: { $0 == " " || $0 == "\t" }))
                if line.hasPrefix("export ") { line = line.dropFirst("export ".count).drop(while: { $0 == " " }) }
                guard line.hasPrefix("RESUME=") else { continue }
                var rest = line.dropFirst("RESUME=".count)
                // A trailing comment after whitespace.
                if let hash = rest.firstIndex(of: "#"), hash > rest.startIndex,
                   rest[rest.index(before: hash)] == " " || rest[rest.index(before: hash)] == "\t" {
                    rest = rest[..<hash]
                }
                while let last = rest.last, last == " " || last == "\t" || last == "\r" { rest = rest.dropLast() }
                if let quote = rest.first, quote == "\"" || quote == "'" {
                    guard rest.count >= 2, rest.last == quote else { continue }
                    rest = rest.dropFirst().dropLast()
                    if quote == "\"", rest.contains(where: { $0 == "$" || $0 == "`" || $0 == "\\" }) { continue }
                } else if rest.contains(where: { " \t$`\\;&|<>()\"'".contains($0) }) {
                    continue
                }
                value = String(rest)
            }
        }
        return value
    }
}
