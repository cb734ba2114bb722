import ResumeCore
import ResumeSystem

/// From a decision to the irreversible step: reopen the chosen image,
/// check that it is still the one examined, pick its restore path, and let
/// `Commit` run it. Returns only when nothing was restored, with the reason.
struct Restorer {
    let system: BootSystem
    let settings: AgentSettings
    let cmdline: KernelCommandLine

    /// What this agent can restore on this kernel; nil when it can.
    static func unavailable(_ kind: ImageKind, _ system: BootSystem, cmdline: KernelCommandLine) -> String? {
        func need(_ call: String, _ availability: SyscallAvailability) -> String? {
            availability == .available ? nil : "\(call) is \(availability.rawValue) on this kernel"
        }
        switch kind {
        case .kernel: return need("kexec_file_load", system.kexecFileLoadAvailability())
        case .segments, .memory:
            let availability = system.kexecLoadAvailability()
            guard availability == .notPermitted else { return need("kexec_load", availability) }
            if let mode = Lockdown.restricting(securityfs: try? system.readText(Lockdown.path), cmdline: cmdline) { return "kernel lockdown (\(mode)) refuses kexec_load, which a \(kind.name) image needs" }
            return "kexec_load is not permitted on this kernel (kernel lockdown, or kernel.kexec_load_disabled), and a \(kind.name) image needs it"
        case .snapshot: return system.exists("/dev/snapshot") ? nil : "/dev/snapshot is absent (no HIBERNATION_SNAPSHOT_DEV)"
        }
    }

    func restore(device: String, header: ImageHeader) -> BootReason {
        let base = SwapSpaceDevice.imageBase(device, offsetPages: settings.offsetPages, system)
        let reader: ImageReader<AnySource>
        do {
            reader = try ImageReader(source: AnySource(try system.openImage(device, base: base)))
            try reader.requireValidState()
            try reader.checkTable()
        } catch {
            return BootReason(error, otherwise: .deviceUnreadable)
        }
        guard reader.header == header else { return BootReason(.imageChanged, "the image on \(device) changed while the agent ran") }
        let oneShot = header.isReusable ? nil : Commit.OneShotImage(system: system, device: device, base: base)
        let start = system.monotonicMilliseconds()
        switch header.kind {
        case .kernel:
            var path = KexecFileRestore(system: system, reader: reader, running: cmdline, settings: settings)
            return Commit.run(&path, oneShot: oneShot, system, loaded: loadedLine(header, device, start), breaks: settings.breaks)
        case .segments:
            var path = KexecLoadRestore(system: system, reader: reader)
            return Commit.run(&path, oneShot: oneShot, system, loaded: loadedLine(header, device, start), breaks: settings.breaks)
        case .snapshot:
            var path = SnapshotRestore(system: system, reader: reader)
            return Commit.run(&path, oneShot: oneShot, system, breaks: settings.breaks)
        case .memory:
            var path = MemoryRestore(system: system, reader: reader)
            return Commit.run(&path, oneShot: oneShot, system, loaded: loadedLine(header, device, start), breaks: settings.breaks)
        }
    }

    /// The kernel's own image: no header of ours, no consumed mark.
    func restoreKernelHibernation(device: String) -> BootReason {
        var path = KernelHibernationRestore(system: system, device: device, settings: settings)
        return Commit.run(&path, oneShot: nil, system)
    }

    /// "loaded kernel image from /dev/vdb1: N bytes decoded and checked in M ms (R MB/s)".
    func loadedLine(_ header: ImageHeader, _ device: String, _ start: UInt64) -> () -> String {
        { [system] in
            let ms = system.monotonicMilliseconds() - start
            let speed = ms > 0 ? " (\(header.rawTotal / 1000 / ms) MB/s)" : ""
            return "loaded \(header.kind.name) image from \(device): \(header.rawTotal) bytes decoded and checked in \(ms) ms\(speed)"
        }
    }
}
