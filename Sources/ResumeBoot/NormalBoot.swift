import ResumeCore
import ResumeSystem

/// "Never lose a boot" lives here: every run of the agent that does not
/// resume (no image, a refusal, a failure at any step, a dry run) ends in
/// `handOver`, which brings every offline memory block online and lets the
/// normal boot go on. A block that refuses is logged and the rest go on;
/// the boot script onlines whatever the agent could not (and after a crash
/// or the watchdog).
enum NormalBoot {
    static func handOver(_ system: BootSystem, dryRun: Bool, since start: UInt64, cmdline: String?) {
        bringMemoryOnline(system, dryRun: dryRun, cmdline: .some(cmdline))
        let elapsed = system.monotonicMilliseconds() - start
        let peak = (try? system.readText("/proc/self/status")).flatMap { ProcFields.number("VmHWM", in: $0) }
        system.log("handover after \(elapsed) ms, peak memory \(peak.map(String.init) ?? "unknown") KiB")
    }

    /// Online every block (a dry run only says how many it would), after
    /// handing the memory `memmap=` held back to kmem (`HeldBackMemory`).
    /// `cmdline`: the command line the agent read (nil inside: it could not);
    /// absent, /proc/cmdline is read here.
    static func bringMemoryOnline(_ system: BootSystem, dryRun: Bool, cmdline: String?? = nil) {
        let cmdline = cmdline ?? (try? system.readText("/proc/cmdline"))
        do {
            if dryRun {
                for line in HeldBackMemory.dryRunLines(system, cmdline: cmdline) {
                    system.log(line.hasPrefix("dry run:") ? line : "memory: \(line)")
                }
                let layout = try MemoryHotplug.read(system)
                let offline = layout.blocks.count - layout.onlineCount
                system.log("dry run: would online \(offline) memory blocks (\(UInt64(offline) * layout.blockSize >> 20) MiB)")
                return
            }
            let start = system.monotonicMilliseconds()
            let before = memTotal(system)
            let result = try MemoryHotplug.onlineEverything(system, cmdline: cmdline)
            let ms = system.monotonicMilliseconds() - start
            for failure in result.failures { system.log("memory: could not online \(failure)") }
            let layout = result.layout
            let all = layout.onlineCount == layout.blocks.count ? "all" : "\(layout.onlineCount) of"
            // Confined (memmap= held memory back): how long it took, and
            // what the kernel ran in before and runs in now.
            var confined = ""
            if !MemmapParameter.heldBack(KernelCommandLine(cmdline ?? "")).isEmpty {
                confined = " in \(ms) ms" + (before.flatMap { b in memTotal(system).map { "; MemTotal \(b) -> \($0) kB" } } ?? "")
            }
            system.log("memory: \(result.onlined.count) blocks onlined, \(all) \(layout.blocks.count) blocks online (\(layout.onlineMiB) MiB)\(confined)")
        } catch {
            system.log("memory: cannot read \(MemoryHotplug.root): \(error)")
        }
    }

    /// MemTotal (kB) from /proc/meminfo: what the kernel runs in, before and after.
    static func memTotal(_ system: BootSystem) -> UInt64? {
        (try? system.readText("/proc/meminfo")).flatMap { ProcFields.number("MemTotal", in: $0) }
    }
}
