import ResumeSystem

/// The agent's and resume-probe's argument handling, without
/// ArgumentParser (which would pull Foundation into the initramfs).
public enum AgentCommand {
    public static let version = "0.1.0"

    static let agentUsage = """
    usage: resume-agent [--dry-run] [--any-context] [--cmdline TEXT]
           resume-agent probe [--json] [--cmdline TEXT]   (also run as resume-probe)

    Runs first in the initramfs: resumes a valid resume image, or brings all
    memory online and returns so the normal boot goes on. Reads its settings
    from /proc/cmdline (noresume, resume=, resume_offset=, resumewait,
    resumedelay=, resume_agent.wait=, resume_agent.dry_run, resume_agent.scan=).

      --dry-run       print the decision and change nothing (safe anywhere)
      --any-context   run even though / is not an initramfs
      --cmdline TEXT  use TEXT instead of /proc/cmdline
    """

    static let probeUsage = """
    usage: resume-probe [--json] [--cmdline TEXT]

    Shows what resume-agent sees on this machine and what it would do: kernel
    capabilities, memory blocks, block devices and any resume image on them,
    the parsed command line, and the decision with its reason. Read-only.
    """

    /// Runs the agent or the probe from `arguments` (argv without argv[0]).
    public static func main(invokedAs name: String, arguments: [String]) -> Int32 {
        // As PID 1, argv may be anything (or nothing): the kernel started us.
        if getpid() == 1 { InitMode.run() }
        var args = arguments
        var probe = name.hasSuffix("resume-probe")
        if !probe, args.first == "probe" {
            probe = true
            args.removeFirst()
        }
        if !probe, args.first == "bench-restore" {
            return RestoreBenchmark.main(Array(args.dropFirst()))
        }
        var json = false, dryRun = false, anyContext = false
        var cmdline: String?
        var i = 0
        while i < args.count {
            switch args[i] {
            case "--json" where probe: json = true
            case "--dry-run" where !probe: dryRun = true
            case "--any-context" where !probe: anyContext = true
            case "--cmdline":
                guard i + 1 < args.count else { return usageError("--cmdline needs a value", probe) }
                i += 1
                cmdline = args[i]
            case "-h", "--help":
                print(probe ? probeUsage : agentUsage)
                return 0
            case "--version":
                print("resume-agent \(version)")
                return 0
            default:
                return usageError("unknown argument \(args[i])", probe)
            }
            i += 1
        }
        if probe {
            let system = LiveSystem(log: KernelLog(prefix: "resume-probe: ", useKmsg: false))
            let report = Probe(system: system, cmdline: cmdline).run()
            print(json ? report.json() : report.text(), terminator: "")
            return 0
        }
        var options = Agent.Options()
        options.dryRun = dryRun
        options.anyContext = anyContext
        options.cmdline = cmdline
        // From a shell (dry run, trying it out) nobody is there to go on.
        options.watchdog = !dryRun
        // A dry run from a shell should not fill the kernel log.
        let system = LiveSystem(log: KernelLog(prefix: "resume-agent: ", useKmsg: !dryRun))
        return Agent(system: system, options: options).run().rawValue
    }

    static func usageError(_ message: String, _ probe: Bool) -> Int32 {
        let text = "\(probe ? "resume-probe" : "resume-agent"): \(message)\n\(probe ? probeUsage : agentUsage)\n"
        writeStderr(text)
        return 2
    }
}

#if canImport(Glibc)
import Glibc
#endif

func writeStderr(_ text: String) {
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}
