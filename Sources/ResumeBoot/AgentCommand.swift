import ResumeCore
import ResumeSystem
#if canImport(Glibc)
import Glibc
#endif

/// resume-agent's argument handling, without ArgumentParser (which would
/// pull Foundation into the initramfs).
public enum AgentCommand {
    public static let version = "0.2.0"

    public static let usage = """
    usage: resume-agent [--dry-run] [--any-context] [--early] [--cmdline TEXT]
           resume-agent probe [--json] [--cmdline TEXT]   (also run as resume-probe)
           resume-agent --exit-codes | --help | --version

    Runs first in the initramfs: resumes a valid resume image, or brings all
    memory online and returns so the normal boot goes on.

      --dry-run       print the decision and change nothing (safe anywhere)
      --any-context   run even though / is not an initramfs
      --cmdline TEXT  use TEXT instead of /proc/cmdline
      --early         the run before local-top: a resume device that is not
                      there yet is left for the run after it (exit status 4)
      --exit-codes    print the exit statuses as shell assignments

    Kernel parameters (from /proc/cmdline; resume-agent(8) says more):
      noresume                 do not resume; bring memory online and boot
      resume=DEV               the resume device: /dev/..., MAJ:MIN, UUID=,
                               LABEL=, PARTLABEL=, PARTUUID=; resume=none:
                               no resume. Without it, RESUME= from
                               initramfs-tools' configuration; without
                               either the agent scans every fixed disk
                               (never removable or USB devices)
      resume_offset=PAGES      the image starts this many 4 KiB pages into
                               the resume= device
      resumewait               wait up to 300 s for the resume= device
                               (default 30 s)
      resumedelay=SECONDS      sleep before probing
      resume_agent.wait=SECONDS   how long to wait for the resume= device
      resume_agent.timeout=SECONDS  give up after this long and boot on
                               (default: wait + delay + 300 s, plus time
                               for the image at 4 MiB/s once one is chosen)
      resume_agent.scan=0      do not scan when no resume= is given
      resume_agent.dry_run     decide and log, change nothing
      resume_agent.pass=A,B    hand these parameters of this kernel's
                               command line on to kernel B (kernel images)
      resume_agent.init=PATH   as PID 1: the init to exec afterwards

    In a hibernate kernel B started by a kexec jump (kexec_jump_back_entry=,
    written by kexec-tools; the rest by resume-image hibernate --kexec-jump):
      resume_agent.jump_save=DEV    save kernel A's memory there
      resume_agent.jump_then=poweroff|back   then power off (hibernation,
                               the default) or jump back (a checkpoint)
      resume_agent.jump_ram=S-E,...  kernel A's RAM above 1 MiB (hex)
      resume_agent.jump_vmcoreinfo=ADDR,SIZE  kernel A's vmcoreinfo note
      resume_agent.jump_memmap=HASH  kernel A's firmware memory map hash
    Any failure jumps back to A, which goes on running.

    Exit status: 0 the boot goes on (memory online); 2 refused to run;
    3 the watchdog gave up (the boot script onlines memory); 4 (--early)
    deferred to the run after local-top.
    """

    /// Runs the agent from `arguments` (argv without argv[0]).
    public static func main(arguments: [String]) -> Int32 {
        var dryRun = false, anyContext = false, early = false
        var cmdline: String?
        var i = 0
        while i < arguments.count {
            switch arguments[i] {
            case "--dry-run": dryRun = true
            case "--any-context": anyContext = true
            case "--early": early = true
            case "--cmdline":
                guard i + 1 < arguments.count else { return usageError("--cmdline needs a value") }
                i += 1
                cmdline = arguments[i]
            case "--exit-codes":
                print(ExitStatus.shellAssignments, terminator: "")
                return ExitStatus.continueBoot
            case "-h", "--help":
                print(usage)
                return ExitStatus.continueBoot
            case "--version":
                print("resume-agent \(version)")
                return ExitStatus.continueBoot
            default:
                return usageError("unknown argument \(arguments[i])")
            }
            i += 1
        }
        var options = Agent.Options()
        options.dryRun = dryRun
        options.anyContext = anyContext
        options.cmdline = cmdline
        options.early = early
        // From a shell (dry run, trying it out) nobody is there to go on.
        options.watchdog = !dryRun
        // A dry run from a shell should not fill the kernel log.
        let system = LiveSystem(log: KernelLog(prefix: "resume-agent: ", useKmsg: !dryRun))
        return Agent(system: system, options: options).run()
    }

    static func usageError(_ message: String) -> Int32 {
        writeStderr("resume-agent: \(message)\n\(usage)\n")
        return ExitStatus.refused
    }
}

public func writeStderr(_ text: String) {
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}
