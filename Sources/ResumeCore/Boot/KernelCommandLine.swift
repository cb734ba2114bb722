/// The kernel command line as the agent reads it from /proc/cmdline.
/// Splitting follows the kernel's `next_arg`: whitespace separates, double
/// quotes group, and `-` and `_` are the same in a parameter's name.
public struct KernelCommandLine: Sendable, Equatable {
    public var parameters: [(name: String, value: String?)]

    public static func == (a: Self, b: Self) -> Bool {
        a.parameters.map { $0.name } == b.parameters.map { $0.name }
            && a.parameters.map { $0.value } == b.parameters.map { $0.value }
    }

    public init(_ text: String) {
        parameters = []
        var current = "", inQuotes = false, sawAny = false
        func flush() {
            if sawAny {
                if let eq = current.firstIndex(of: "=") {
                    parameters.append((Self.normalize(String(current[..<eq])), String(current[current.index(after: eq)...])))
                } else {
                    parameters.append((Self.normalize(current), nil))
                }
            }
            current = ""
            sawAny = false
        }
        for ch in text {
            if ch == "\"" { inQuotes.toggle(); sawAny = true; continue }
            if !inQuotes, ch == " " || ch == "\t" || ch == "\n" || ch == "\0" { flush(); continue }
            current.append(ch)
            sawAny = true
        }
        flush()
    }

    static func normalize(_ name: String) -> String { String(name.map { $0 == "-" ? "_" : $0 }) }

    /// The last value given for `name` (the kernel's rule: later wins).
    public func value(_ name: String) -> String? {
        parameters.last(where: { $0.name == name })?.value
    }

    public func has(_ name: String) -> Bool { parameters.contains { $0.name == name } }
}

/// How `resume=` names the resume device.
public enum DeviceSpec: Sendable, Equatable, CustomStringConvertible {
    /// A /dev path.
    case path(String)
    /// A libblkid tag: UUID, LABEL, PARTLABEL, PARTUUID.
    case tag(name: String, value: String)
    /// MAJ:MIN, as the kernel and /sys/power/resume accept.
    case number(major: UInt32, minor: UInt32)

    public static let tagNames = ["UUID", "LABEL", "PARTLABEL", "PARTUUID"]

    public static func parse(_ text: String) -> DeviceSpec? {
        if text.isEmpty { return nil }
        if let eq = text.firstIndex(of: "=") {
            let name = String(text[..<eq]), value = String(text[text.index(after: eq)...])
            guard tagNames.contains(name), !value.isEmpty else { return nil }
            return .tag(name: name, value: value)
        }
        if text.hasPrefix("/") { return .path(text) }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count == 2, let major = UInt32(parts[0]), let minor = UInt32(parts[1]) {
            return .number(major: major, minor: minor)
        }
        return nil
    }

    public var description: String {
        switch self {
        case let .path(p): p
        case let .tag(name, value): "\(name)=\(value)"
        case let .number(major, minor): "\(major):\(minor)"
        }
    }
}

/// What the agent takes from the command line, with the defaults applied.
/// Documented in README.md ("Kernel parameters").
public struct AgentSettings: Sendable, Equatable {
    /// initramfs-tools waits 30 s for a named device; so do we.
    public static let defaultWaitSeconds: UInt32 = 30
    /// `resumewait` asks the kernel to wait without end; we never hang a
    /// boot, so it means this long instead.
    public static let resumewaitSeconds: UInt32 = 300
    public static let maxSeconds: UInt32 = 3600

    public var noresume = false
    /// `resume=none` (or RESUME=none in initramfs-tools' configuration):
    /// no resume on this boot, as initramfs-tools takes it.
    public var resumeNone = false
    public var device: DeviceSpec?
    /// Where the resume device was named: "resume=" (the command line) or
    /// "RESUME=" (initramfs-tools' configuration).
    public var deviceSource = "resume="
    /// `resume_offset=`: where the image starts on the device, in 4 KiB pages.
    public var offsetPages: UInt64 = 0
    /// How long to wait for a named device to appear.
    public var waitSeconds: UInt32 = 0
    /// `resumedelay=`: seconds to sleep before probing.
    public var delaySeconds: UInt32 = 0
    public var dryRun = false
    /// Scan every block device when no device is named (`resume_agent.scan=0` turns it off).
    public var scan = true
    /// `resume_agent.timeout=`: the agent gives up after this long and the
    /// boot goes on (default: the device wait and delay, plus 300 s).
    public var timeoutSeconds: UInt32 = 0
    /// `resume_agent.pass=a,b`: parameters of this kernel's command line
    /// handed on to kernel B (after the image's own command line).
    public var pass: [String] = []
    /// `resume_agent.break=POINT[,POINT...]` and `resume_agent.break_seconds=`.
    public var breaks = BreakPoints()
    /// Problems found on the command line, each one logged.
    public var warnings: [String] = []

    public init() {}

    /// `configuredResume`: RESUME from initramfs-tools' configuration
    /// (`InitramfsConfig`), which counts only when the command line has no
    /// `resume=`, exactly as initramfs-tools' /init takes it.
    public init(_ cmdline: KernelCommandLine, configuredResume: String? = nil) {
        noresume = cmdline.has("noresume")
        var resumeText = cmdline.value("resume")
        if resumeText == nil, let configuredResume, configuredResume != "auto" {
            resumeText = configuredResume
            deviceSource = "RESUME="
        }
        if let text = resumeText {
            if text == "none" {
                resumeNone = true
            } else if text.isEmpty {
                // resume= (empty) names no device: as if not given.
            } else if let spec = DeviceSpec.parse(text) {
                device = spec
            } else {
                warnings.append("\(deviceSource)\(text) is not a device path, MAJ:MIN or UUID=/LABEL=/PARTLABEL=/PARTUUID=: ignored")
            }
        }
        if let text = cmdline.value("resume_offset") {
            if let pages = UInt64(text), pages < ImageHeader.maxBytes / ImageHeader.pageSize { offsetPages = pages }
            else { warnings.append("resume_offset=\(text) is not a page count: using 0") }
        }
        if offsetPages > 0, device == nil {
            warnings.append("resume_offset=\(offsetPages) without resume=: ignored (an offset is a place on the resume device; scanned devices are read from their start)")
        }
        if device != nil {
            waitSeconds = cmdline.has("resumewait") ? Self.resumewaitSeconds : Self.defaultWaitSeconds
        }
        if let text = cmdline.value("resume_agent.wait") {
            if let s = UInt32(text), s <= Self.maxSeconds { waitSeconds = s }
            else { warnings.append("resume_agent.wait=\(text) is not a number of seconds up to \(Self.maxSeconds): using \(waitSeconds)") }
        }
        if let text = cmdline.value("resumedelay") {
            if let s = UInt32(text), s <= Self.maxSeconds { delaySeconds = s }
            else { warnings.append("resumedelay=\(text) is not a number of seconds up to \(Self.maxSeconds): ignored") }
        }
        timeoutSeconds = waitSeconds + delaySeconds + 300
        if let text = cmdline.value("resume_agent.timeout") {
            if let s = UInt32(text), s > 0, s <= 2 * Self.maxSeconds { timeoutSeconds = s }
            else { warnings.append("resume_agent.timeout=\(text) is not a number of seconds in 1...\(2 * Self.maxSeconds): using \(timeoutSeconds)") }
        }
        dryRun = Self.flag(cmdline, "resume_agent.dry_run")
        if cmdline.has("resume_agent.scan") { scan = Self.flag(cmdline, "resume_agent.scan") }
        if let text = cmdline.value("resume_agent.pass") {
            pass = text.split(separator: ",").map(String.init).filter { !$0.isEmpty }
        }
        if let text = cmdline.value("resume_agent.break") {
            for name in text.split(separator: ",") {
                if let point = BreakPoint(rawValue: String(name)) { breaks.points.insert(point) }
                else { warnings.append("resume_agent.break=\(name) is not one of \(BreakPoint.allCases.map(\.rawValue).joined(separator: ", ")): ignored") }
            }
        }
        if let text = cmdline.value("resume_agent.break_seconds") {
            if let s = UInt32(text), s > 0, s <= Self.maxSeconds { breaks.seconds = s }
            else { warnings.append("resume_agent.break_seconds=\(text) is not a number of seconds in 1...\(Self.maxSeconds): using \(breaks.seconds)") }
        }
    }

    /// The slowest restore the watchdog waits for: 4 MiB/s (an old USB 2
    /// disk or SD card, with decoding under emulation). Below it the agent
    /// is taken to be stuck.
    public static let watchdogFloorBytesPerSecond: UInt64 = 4 << 20

    /// The watchdog's budget once an image of `imageBytes` (as stored) has
    /// been chosen: the look's budget again, plus the image at the floor
    /// throughput, so a large image on a slow disk is not killed every boot.
    public func watchdogSeconds(restoring imageBytes: UInt64) -> UInt32 {
        let extra = min(imageBytes / Self.watchdogFloorBytesPerSecond + 1, UInt64(4 * Self.maxSeconds))
        return timeoutSeconds + UInt32(extra)
    }

    /// `name`, `name=1`, `name=y`, `name=yes`, `name=on` are true.
    static func flag(_ cmdline: KernelCommandLine, _ name: String) -> Bool {
        guard cmdline.has(name) else { return false }
        guard let v = cmdline.value(name) else { return true }
        return ["1", "y", "yes", "on", "true"].contains(v.lowercased())
    }
}

/// Where `resume_agent.break=` stops the agent for a while
/// (`resume_agent.break_seconds=`, default 60), saying so on the console,
/// to let a test (or a person) cut the power at that moment, as dracut's
/// rd.break= stops a boot. It changes no decision: after the pause the
/// agent goes on as if it had not stopped.
public struct BreakPoints: Sendable, Equatable {
    public var points: Set<BreakPoint> = []
    public var seconds: UInt32 = 60
    public init() {}
}

public enum BreakPoint: String, CaseIterable, Sendable {
    /// The hibernate kernel: the target's header zeroed and the page map written.
    case saveStart = "save-start"
    /// The hibernate kernel: half of A's pages written.
    case saveMiddle = "save-middle"
    /// The hibernate kernel: every chunk and the table written and synced, the header not yet.
    case saveBeforeHeader = "save-before-header"
    /// The boot kernel: the image marked consumed (synced), before the jump.
    case consumed
}
