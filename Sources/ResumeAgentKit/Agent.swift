import ResumeCore
import ResumeSystem

/// The boot-time agent: decide whether this boot resumes, and otherwise
/// hand the normal boot a machine with all of its memory online.
///
/// Order of work, and why:
///  1. refuse the wrong context (not an initramfs) unless told otherwise;
///  2. read the command line (noresume wins over everything);
///  3. find candidates (a named device, waited for with a bound; or a scan);
///  4. check each image in full before anything irreversible;
///  5. decide (a value, `Decider`), log the decision with its reason;
///  6. no resume: online every memory block and return, so the boot goes on.
/// Nothing here mounts or writes a filesystem.
public struct Agent {
    public struct Options: Sendable {
        public var dryRun = false
        /// Run outside an initramfs (tests, a person trying it on a host).
        public var anyContext = false
        /// Use this instead of /proc/cmdline.
        public var cmdline: String?
        /// Give up after resume_agent.timeout and let the boot script go on.
        /// Off as PID 1, where exiting would panic the kernel.
        public var watchdog = true
        public init() {}
    }

    public enum Exit: Int32 {
        /// The normal boot goes on.
        case continueBoot = 0
        /// Refused to run (wrong context, bad arguments): nothing was done.
        case refused = 2
    }

    let system: BootSystem
    let options: Options

    public init(system: BootSystem, options: Options) {
        self.system = system
        self.options = options
    }

    /// What this agent can restore on this kernel; nil when it can.
    public static func restorable(_ kind: ImageKind, _ system: BootSystem) -> String? {
        func need(_ call: String, _ availability: SyscallAvailability) -> String? {
            availability == .available ? nil : "\(call) is \(availability.rawValue) on this kernel"
        }
        switch kind {
        case .kernel: return need("kexec_file_load", system.kexecFileLoadAvailability())
        case .segments: return need("kexec_load", system.kexecLoadAvailability())
        case .snapshot: return system.exists("/dev/snapshot") ? nil : "/dev/snapshot is absent (no HIBERNATION_SNAPSHOT_DEV)"
        }
    }

    /// Looks, decides, and (unless dry-run) acts. Returns only when the
    /// normal boot should go on.
    public func run() -> Exit {
        let start = system.monotonicMilliseconds()
        guard options.anyContext || options.dryRun || system.rootIsInitramfs() else {
            system.log("refusing to run: / is not an initramfs (use --dry-run to see what it would do, or --any-context)")
            return .refused
        }
        let cmdlineText = options.cmdline ?? ((try? system.readText("/proc/cmdline")) ?? "")
        let cmdline = KernelCommandLine(cmdlineText)
        let settings = AgentSettings(cmdline)
        let dryRun = options.dryRun || settings.dryRun
        system.log("start\(dryRun ? " (dry run: nothing will be changed)" : "")")
        for warning in settings.warnings { system.log("warning: \(warning)") }
        if options.watchdog { system.armWatchdog(seconds: settings.timeoutSeconds) }

        var (search, devices) = look(settings)
        let restorer = Restorer(system: system, settings: settings, cmdline: cmdline)
        // Decide; a chosen image is decoded and checked in full while it is
        // loaded, and an image that fails there is rejected and the choice
        // made again. Each round rejects one device, so this ends.
        for _ in 0...devices.count {
            let decision = Decider.decide(search: search, devices: devices, restorable: { Self.restorable($0, system) })
            system.log(decision.logLine)
            if case let .resumeKernelHibernation(device) = decision, !dryRun {
                let reason = resumeKernelHibernation(device, settings: settings)
                system.log(Decision.bootNormally(reason: "resume from \(device) failed: \(reason)").logLine)
                break
            }
            guard case let .resume(_, device, header) = decision, !dryRun else { break }
            let (reason, rejected) = restorer.restore(device: device, header: header)
            if rejected, let i = devices.firstIndex(where: { $0.path == device }) {
                system.log("rejected \(device): \(reason)")
                devices[i].finding = .rejected(reason)
                continue
            }
            system.log(Decision.bootNormally(reason: "resume from \(device) failed: \(reason)").logLine)
            break
        }
        bringMemoryOnline(dryRun: dryRun)
        if options.watchdog { system.armWatchdog(seconds: 0) }
        let elapsed = system.monotonicMilliseconds() - start
        system.log("handover after \(elapsed) ms, peak memory \(peakMemoryKiB().map(String.init) ?? "unknown") KiB")
        return .continueBoot
    }

    /// Steps 2-4: where to look, and what each device holds.
    func look(_ settings: AgentSettings) -> (Search, [ProbedDevice]) {
        if settings.noresume {
            system.log("noresume given: not probing")
            return (.skipped(reason: "noresume given"), [])
        }
        if settings.delaySeconds > 0 {
            system.log("resumedelay: waiting \(settings.delaySeconds) s before probing")
            system.sleep(milliseconds: settings.delaySeconds * 1000)
        }
        let base = settings.offsetPages * ImageHeader.pageSize
        if let spec = settings.device {
            var path = DeviceDiscovery.locate(spec, system)
            if path == nil {
                system.log("waiting up to \(settings.waitSeconds) s for \(spec)")
                path = DeviceDiscovery.wait(for: spec, seconds: settings.waitSeconds, system)
                if path == nil { system.log("\(spec) did not appear within \(settings.waitSeconds) s") }
            }
            guard let path else { return (.named(spec, found: nil, waitedSeconds: settings.waitSeconds), []) }
            let device = ProbedDevice(path: path, finding: DeviceDiscovery.examine(path, base: base, scanning: false, full: false, system))
            report(device)
            return (.named(spec, found: path, waitedSeconds: settings.waitSeconds), [device])
        }
        guard settings.scan else {
            return (.skipped(reason: "no resume= device and resume_agent.scan=0"), [])
        }
        let devices = DeviceDiscovery.blockDevices(system).map {
            ProbedDevice(path: $0, finding: DeviceDiscovery.examine($0, scanning: true, full: false, system))
        }
        devices.forEach(report)
        return (.scanned, devices)
    }

    func report(_ device: ProbedDevice) {
        switch device.finding {
        case let .image(h):
            system.log("found \(h.kind.name) image on \(device.path): \(h.rawTotal) bytes in \(h.chunkCount) chunks (header and table check out)")
        case let .rejected(why):
            system.log("rejected \(device.path): \(why)")
        case let .unreadable(why):
            system.log("cannot read \(device.path): \(why)")
        case .kernelHibernation:
            system.log("found the kernel's own hibernation image (TYPE=swsuspend) on \(device.path)")
        case .other:
            break
        }
    }

    /// The kernel's own image: bring the memory online that the saving
    /// kernel had (all of it: the agent onlined it on that boot too, and the
    /// kernel refuses an image made with another amount), then write
    /// MAJ:MIN to /sys/power/resume, which resumes at once and does not
    /// return when it works. Returns why it did not.
    func resumeKernelHibernation(_ device: String, settings: AgentSettings) -> String {
        bringMemoryOnline(dryRun: false)
        let name = device.hasPrefix("/dev/") ? String(device.dropFirst(5)) : device
        guard let number = try? system.readText("/sys/class/block/\(name)/dev").trimmingWhitespace(), !number.isEmpty else {
            return "cannot read the device number of \(device)"
        }
        do {
            if settings.offsetPages > 0 {
                try system.writeText("/sys/power/resume_offset", String(settings.offsetPages))
            }
            system.log("writing \(number) to /sys/power/resume (the kernel resumes from \(device) now; this does not return)")
            try system.writeText("/sys/power/resume", number)
        } catch {
            return "\(error)"
        }
        return "the kernel found no image it could resume on \(device) (see the kernel's PM: lines)"
    }

    /// Step 6. Failures are logged; the boot goes on with what is online.
    func bringMemoryOnline(dryRun: Bool) {
        do {
            if dryRun {
                let layout = try MemoryHotplug.read(system)
                let offline = layout.blocks.count - layout.onlineCount
                system.log("dry run: would online \(offline) memory blocks (\(UInt64(offline) * layout.blockSize >> 20) MiB)")
                return
            }
            let result = try MemoryHotplug.onlineAll(system)
            for failure in result.failures { system.log("memory: could not online \(failure)") }
            let layout = result.layout
            let all = layout.onlineCount == layout.blocks.count ? "all" : "\(layout.onlineCount) of"
            system.log("memory: \(result.onlined.count) blocks onlined, \(all) \(layout.blocks.count) blocks online (\(layout.onlineMiB) MiB)")
        } catch {
            system.log("memory: cannot read \(MemoryHotplug.root): \(error)")
        }
    }

    /// VmHWM from /proc/self/status: the most resident memory this process has had.
    func peakMemoryKiB() -> UInt64? {
        guard let status = try? system.readText("/proc/self/status") else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return UInt64(line.dropFirst("VmHWM:".count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "")
        }
        return nil
    }
}
