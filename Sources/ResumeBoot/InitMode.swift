import CResumeShims
import ResumeCore
import ResumeSystem
#if canImport(Glibc)
import Glibc
#endif

/// PID 1 mode (`rdinit=/sbin/resume-agent`): the agent is the first
/// process. It mounts what it needs (proc, sysfs, devtmpfs), decides and
/// acts as in the boot script, unmounts, and execs the next init (the
/// initramfs' own /init by default; `resume_agent.init=PATH` names another),
/// telling it through RESUME_AGENT_RAN=1 that the agent has run. As PID 1
/// it must never exit: if no init can be executed it says so and leaves the
/// kernel to panic with that message on the console.
///
/// The work runs in a child under the watchdog, as vminitd keeps PID 1
/// apart from its work: a stuck child is killed by its own alarm, PID 1
/// waits for it, brings memory online if the child did not finish, and
/// execs the next init. No boot is lost to a hang, even as PID 1.
public enum InitMode {
    static let fallbacks = ["/init", "/sbin/init", "/bin/sh"]

    public static func run() -> Never {
        let mounted = mountEarlyFilesystems()
        let log = KernelLog(prefix: "resume-agent: ", useKmsg: true)
        let system = LiveSystem(log: log)
        system.log("running as PID 1\(mounted.isEmpty ? "" : " (mounted \(mounted.joined(separator: ", ")))")")
        var options = Agent.Options()
        options.anyContext = true
        var status: Int32
        do {
            status = try Child.run { Agent(system: system, options: options).run() }
        } catch {
            system.log("\(error): running without the watchdog")
            options.watchdog = false
            status = Agent(system: system, options: options).run()
        }
        if status != ExitStatus.continueBoot {
            system.log("the agent ended with status \(status); bringing memory online and booting on")
            NormalBoot.bringMemoryOnline(system, dryRun: false)
        }

        let cmdline = KernelCommandLine((try? system.readText("/proc/cmdline")) ?? "")
        // Leave the next init a clean slate: it mounts these itself.
        for target in mounted.reversed() { _ = umount2(target, Int32(MNT_DETACH)) }
        setenv("RESUME_AGENT_RAN", "1", 1)
        let ownPath = resolvedPath("/proc/self/exe")
        var candidates = fallbacks
        if let chosen = cmdline.value("resume_agent.init"), !chosen.isEmpty { candidates.insert(chosen, at: 0) }
        for path in candidates {
            // Never exec ourselves again (the agent installed as /init).
            if let ownPath, resolvedPath(path) == ownPath { continue }
            guard access(path, X_OK) == 0 else { continue }
            system.log("exec \(path): handing over to the next init")
            var argv: [UnsafeMutablePointer<CChar>?] = [strdup(path), nil]
            execv(path, &argv)
            system.log("exec \(path) failed: \(String(cString: strerror(errno)))")
        }
        system.log("no init to hand over to (tried \(candidates.joined(separator: ", "))): the kernel will panic")
        exit(ExitStatus.noInit)
    }

    /// Mounts /proc, /sys and /dev unless they are there; returns what it mounted.
    static func mountEarlyFilesystems() -> [String] {
        // /proc may already be ours: the start-up hook in shims.c mounts it
        // before the Swift runtime starts.
        var mounted: [String] = resume_pid1_mounted_proc() != 0 ? ["/proc"] : []
        for (type, target, probe) in [("proc", "/proc", "/proc/self"), ("sysfs", "/sys", "/sys/kernel"),
                                      ("devtmpfs", "/dev", "/dev/null")] where access(probe, F_OK) != 0 {
            mkdir(target, 0o755)
            if mount(type, target, type, UInt(MS_NOSUID | MS_NOEXEC), nil) == 0 { mounted.append(target) }
        }
        return mounted
    }

    static func resolvedPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
