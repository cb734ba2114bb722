import ResumeCore
import ResumeSystem

/// Where the agent looks and what each device holds: the one search plan,
/// run by the agent at boot and by resume-probe to predict it. Nothing
/// here writes anything.
public struct SearchPlan {
    public enum Mode: Sendable {
        /// The agent: wait for a named device (bounded), log each finding,
        /// check header, state and table (every chunk is checked while the
        /// chosen image loads: one decode, not two).
        case boot
        /// resume-probe: never wait, log nothing, check every chunk.
        case probe
    }

    let system: BootSystem
    /// The command line's text; nil when it could not be read.
    public let cmdline: String?
    public let settings: AgentSettings
    /// The keys images must be signed with, when the initramfs carries any.
    public let trust: TrustedKeys
    let mode: Mode
    /// Before local-top: a named device that is not there is not waited
    /// for (the agent defers to its run after local-top).
    let deferMissing: Bool
    let log: (String) -> Void

    public init(system: BootSystem, cmdline: String?, mode: Mode, deferMissing: Bool = false,
                log: @escaping (String) -> Void = { _ in }) {
        self.system = system
        self.cmdline = cmdline
        settings = AgentSettings(KernelCommandLine(cmdline ?? ""), configuredResume: Self.configuredResume(system))
        trust = TrustedKeys.load(system)
        self.mode = mode
        self.deferMissing = deferMissing
        self.log = log
    }

    /// RESUME from initramfs-tools' configuration: the initramfs' /conf at
    /// boot; on a booted system (resume-probe), /etc/initramfs-tools, which
    /// the next initramfs will carry.
    static func configuredResume(_ system: BootSystem) -> String? {
        for root in ["/conf", "/etc/initramfs-tools"] where system.exists("\(root)/initramfs.conf") {
            var files: [String] = []
            if let text = try? system.readText("\(root)/initramfs.conf") { files.append(text) }
            for name in (try? system.list("\(root)/conf.d")) ?? [] {
                if let text = try? system.readText("\(root)/conf.d/\(name)") { files.append(text) }
            }
            return InitramfsConfig.resume(fromFiles: files)
        }
        return nil
    }


    /// Looks: how, and what each device considered holds.
    public func look() -> (Search, [ProbedDevice]) {
        // Fail closed: without the command line, `noresume` could be lost.
        guard cmdline != nil else {
            return (.skipped(BootReason(.cmdlineUnreadable, "cannot read the kernel command line, so noresume may be lost: not resuming")), [])
        }
        for problem in trust.problems { log("warning: trusted key \(problem)") }
        if trust.required { log("only images signed by one of \(trust.keys.count) trusted key(s) are restored") }
        if settings.noresume {
            log("noresume given: not probing")
            return (.skipped(BootReason(.noresume, "noresume given")), [])
        }
        if settings.resumeNone {
            log("\(settings.deviceSource)none: not probing")
            return (.skipped(BootReason(.noresume, "\(settings.deviceSource)none given")), [])
        }
        if mode == .boot, settings.delaySeconds > 0 {
            log("resumedelay: waiting \(settings.delaySeconds) s before probing")
            system.sleep(milliseconds: settings.delaySeconds * 1000)
        }
        if let spec = settings.device {
            if settings.deviceSource == "RESUME=" { log("resume device from initramfs-tools' configuration: RESUME=\(spec)") }
            var path = DeviceDiscovery.locate(spec, system)
            var waited: UInt32 = 0
            if path == nil, mode == .boot, !deferMissing {
                waited = settings.waitSeconds
                log("waiting up to \(waited) s for \(spec)")
                path = DeviceDiscovery.wait(for: spec, seconds: waited, system)
                if path == nil { log("\(spec) did not appear within \(waited) s") }
            }
            guard let path else { return (.named(spec, found: nil, waitedSeconds: waited), []) }
            // A named device is read whatever it is: the user chose it.
            let base = SwapSpaceDevice.imageBase(path, offsetPages: settings.offsetPages, system)
            let device = ProbedDevice(path: path, finding: examine(path, base: base, scanning: false))
            report(device)
            return (.named(spec, found: path, waitedSeconds: waited), [device])
        }
        guard settings.scan else {
            return (.skipped(BootReason(.scanDisabled, "no resume= device and resume_agent.scan=0")), [])
        }
        let devices = DeviceDiscovery.blockDevices(system).map { ProbedDevice(path: $0, finding: examine($0, base: 0, scanning: true)) }
        devices.forEach(report)
        return (.scanned, devices)
    }

    /// What `path` holds, checked as this mode checks.
    public func examine(_ path: String, base: UInt64, scanning: Bool) -> DeviceFinding {
        DeviceDiscovery.examine(path, base: base, scanning: scanning, full: mode == .probe, trust: trust, system)
    }

    func report(_ device: ProbedDevice) {
        switch device.finding {
        case let .image(h):
            log("found \(h.kind.name) image on \(device.path): \(h.rawTotal) bytes in \(h.chunkCount) chunks (header and table check out)")
        case let .rejected(why):
            log("rejected \(device.path): \(why.text)")
        case let .unreadable(why):
            log("cannot read \(device.path): \(why.text)")
        case let .passedOver(why):
            log("passed over \(device.path): \(why.text)")
        case .kernelHibernation:
            log("found the kernel's own hibernation image (TYPE=swsuspend) on \(device.path)")
        case .other:
            break
        }
    }
}
