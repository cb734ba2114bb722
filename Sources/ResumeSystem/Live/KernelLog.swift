#if canImport(Glibc)
import Glibc
#endif
import ResumeCore

/// Lines to stderr (the console, in the initramfs) and to /dev/kmsg, so
/// they are in `dmesg` after boot. When the kernel already prints kmsg
/// lines of our level on the console, stderr is skipped: one copy each.
/// Every line passes through here, so this is where control characters
/// (from an image's text) are escaped.
public final class KernelLog {
    public let prefix: String
    let kmsgPath: String?
    var kmsg: Int32
    var kmsgLines = 0
    /// How many times kmsg was opened afresh (for the tests).
    private(set) var reopens = 0
    let toStderr: Bool

    /// The kernel rate-limits each open of /dev/kmsg to 10 lines per 5 s
    /// (printk's devkmsg_write) unless printk.devkmsg=on; every line of ours
    /// matters, so a fresh open is taken every this many lines.
    static let linesPerOpen = 8

    /// `useKmsg` false: stderr only (host tools, tests). `kmsgPath` and
    /// `printkPath` are the kernel's files but for tests.
    public init(prefix: String, useKmsg: Bool, kmsgPath: String = "/dev/kmsg", printkPath: String = "/proc/sys/kernel/printk") {
        self.prefix = prefix
        self.kmsgPath = useKmsg ? kmsgPath : nil
        kmsg = useKmsg ? Self.openKmsg(kmsgPath) : -1
        var echo = true
        // First field: console_loglevel. Level 6 (info) is printed when it is above 6.
        if kmsg >= 0, let text = (try? LiveSystem.readSmallFile(printkPath)).map({ String(decoding: $0, as: UTF8.self) }),
           let level = Int(String(text.prefix(while: { $0.isNumber }))), level > 6 {
            echo = false
        }
        toStderr = echo
    }

    deinit { if kmsg >= 0 { close(kmsg) } }

    static func openKmsg(_ path: String) -> Int32 { open(path, O_WRONLY | O_APPEND | O_CLOEXEC) }

    public func write(_ line: String) {
        let text = prefix + line.escapingControlCharacters
        if kmsg >= 0, let kmsgPath {
            kmsgLines += 1
            if kmsgLines % Self.linesPerOpen == 0 {
                let fresh = Self.openKmsg(kmsgPath)
                if fresh >= 0 { close(kmsg); kmsg = fresh; reopens += 1 }
            }
            // One write is one record. <14>: facility user (1), level info (6).
            Self.writeAll(kmsg, "<14>" + text)
        }
        if toStderr || kmsg < 0 { Self.writeAll(2, text + "\n") }
    }

    /// A log line that cannot be written is dropped: logging never stops the agent.
    static func writeAll(_ fd: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { raw in
            try? IO.writeAll(raw, path: nil) { rest, _ in Glibc.write(fd, rest.baseAddress, rest.count) }
        }
    }
}
