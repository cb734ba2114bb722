import ResumeCore
import ResumeSystem

/// The boot-time agent: decide whether this boot resumes, and otherwise
/// hand the normal boot a machine with all of its memory online.
///
/// Order of work, and why:
///  1. refuse the wrong context (not an initramfs) unless told otherwise;
///  2. read the command line (noresume wins over everything; unreadable
///     means no resume);
///  3. look (`SearchPlan`): a named device, waited for with a bound; or a
///     scan that never reads removable or USB devices;
///  4. decide (a value, `Decider`), log the decision with its reason;
///  5. act (`Restorer`, `Commit`): every chunk checked before anything
///     irreversible; an image at fault is passed over and the choice made
///     again;
///  6. no resume: `NormalBoot` onlines every memory block, and the boot
///     goes on.
/// Nothing here mounts or writes a filesystem.
public struct Agent {
    public struct Options: Sendable {
        public var dryRun = false
        /// Run outside an initramfs (tests, a person trying it on a host).
        public var anyContext = false
        /// Use this instead of /proc/cmdline.
        public var cmdline: String?
        /// Give up after resume_agent.timeout and let the boot script go on.
        public var watchdog = true
        /// Run before local-top (the boot script's first run): a named
        /// device that is not there yet is left to the run after local-top.
        public var early = false
        public init() {}
    }

    let system: BootSystem
    let options: Options

    public init(system: BootSystem, options: Options) {
        self.system = system
        self.options = options
    }

    /// What this agent can restore on this kernel; nil when it can.
    /// `cmdline`: the boot's command line (its `lockdown=`).
    public static func restorable(_ kind: ImageKind, _ system: BootSystem, cmdline: KernelCommandLine) -> String? {
        Restorer.unavailable(kind, system, cmdline: cmdline)
    }

    /// Looks, decides, and (unless dry-run) acts. Returns only when the
    /// normal boot should go on, with the exit status for the boot script.
    public func run() -> Int32 {
        let start = system.monotonicMilliseconds()
        guard options.anyContext || options.dryRun || system.rootIsInitramfs() else {
            system.log("refusing to run: / is not an initramfs (use --dry-run to see what it would do, or --any-context)")
            return ExitStatus.refused
        }
        var cmdlineText = options.cmdline
        if cmdlineText == nil {
            do { cmdlineText = try system.readText("/proc/cmdline") } catch {
                system.log("cannot read /proc/cmdline: \(error)")
            }
        }
        let plan = SearchPlan(system: system, cmdline: cmdlineText, mode: .boot, deferMissing: options.early, log: system.log)
        // A hibernate kernel started by kernel A's kexec jump: save A, never resume.
        let kernelCommandLine = KernelCommandLine(cmdlineText ?? "")
        if JumpSaveRequest.isJump(kernelCommandLine), !options.dryRun, !plan.settings.dryRun {
            return saveKernelA(kernelCommandLine, settings: plan.settings)
        }
        let settings = plan.settings
        let dryRun = options.dryRun || settings.dryRun
        system.log("start\(dryRun ? " (dry run: nothing will be changed)" : "")")
        for warning in settings.warnings { system.log("warning: \(warning)") }
        if options.watchdog { system.armWatchdog(seconds: settings.timeoutSeconds) }

        let (search, found) = plan.look()
        if options.early, case let .named(spec, nil, _) = search {
            // Not a decision yet: the device may be a volume local-top
            // assembles (LVM, dm-crypt). Nothing done, memory still held.
            system.log("\(spec) is not there yet: deciding after local-top has assembled stacked devices (LVM, dm-crypt)")
            if options.watchdog { system.armWatchdog(seconds: 0) }
            return ExitStatus.deferred
        }
        var devices = found
        let restorer = Restorer(system: system, settings: settings, cmdline: KernelCommandLine(cmdlineText ?? ""))
        // Decide; a chosen image is decoded and checked in full while it is
        // loaded, and an image at fault there is rejected and the choice
        // made again. Each round rejects one device, so this ends.
        decide: for _ in 0...devices.count {
            let decision = Decider.decide(search: search, devices: devices, restorable: { Self.restorable($0, system, cmdline: kernelCommandLine) })
            system.log(decision.logLine)
            if dryRun { break }
            let device: String, failure: BootReason
            switch decision {
            case .bootNormally:
                break decide
            case let .resumeKernelHibernation(path):
                (device, failure) = (path, restorer.restoreKernelHibernation(device: path))
            case let .resume(_, path, header):
                if options.watchdog { system.armWatchdog(seconds: settings.watchdogSeconds(restoring: header.imageSize)) }
                (device, failure) = (path, restorer.restore(device: path, header: header))
            }
            if failure.imageAtFault, let i = devices.firstIndex(where: { $0.path == device }) {
                system.log("rejected \(device): \(failure.text)")
                devices[i].finding = .rejected(failure)
                continue
            }
            system.log(Decision.bootNormally(BootReason(failure.code, "resume from \(device) failed: \(failure.text)")).logLine)
            break
        }
        // A normal boot: an image in the swap partition resume= names will
        // never be resumed (this boot moves the disks on), so the space is
        // swap again, with its UUID.
        if !dryRun, case let .named(_, path?, _) = search { SwapSpaceDevice.giveBack(path, system, log: system.log) }
        NormalBoot.handOver(system, dryRun: dryRun, since: start, cmdline: cmdlineText)
        if options.watchdog { system.armWatchdog(seconds: 0) }
        return ExitStatus.continueBoot
    }

    /// The hibernate kernel's job (`KernelASave`). A request it cannot use
    /// still jumps back when the re-entry point is readable: kernel A goes on.
    func saveKernelA(_ cmdline: KernelCommandLine, settings: AgentSettings) -> Int32 {
        if options.watchdog { system.armWatchdog(seconds: 0) }
        switch JumpSaveRequest.parse(cmdline) {
        case let .success(request):
            return KernelASave(system: system, request: request, waitSeconds: max(settings.waitSeconds, 1), breaks: settings.breaks).run()
        case let .failure(error):
            system.log("started by a kexec jump, but cannot save kernel A: \(error)")
            guard let entry = cmdline.value("kexec_jump_back_entry").flatMap({ parseHex($0) }) else {
                return ExitStatus.continueBoot
            }
            let request = JumpSaveRequest(reentry: entry, target: .path("/dev/null"), then: .back, ram: [],
                                          vmcoreinfo: (0, 0), memoryMapHash: 0)
            _ = KernelASave(system: system, request: request).jumpBack(request)
            return ExitStatus.continueBoot
        }
    }
}
