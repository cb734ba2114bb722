import ResumeBoot
import ResumeSystem

/// resume-probe's argument handling (no ArgumentParser: it ships in the
/// initramfs inside the agent's binary).
public enum ProbeCommand {
    public static let usage = """
    usage: resume-probe [--json] [--suggest-memmap] [--cmdline TEXT]
           resume-probe --hibernate-kernel FILE [--kernel B --initrd I]

    Shows what resume-agent sees on this machine and what it would do: kernel
    capabilities, memory blocks, block devices and any resume image on them
    (and why a device is passed over), the parsed command line, and the
    decision with its reason. Read-only: it never waits, writes or onlines.

      --json          one JSON document; every reason has a stable "code"
      --cmdline TEXT  use TEXT instead of /proc/cmdline
      --suggest-memmap  the memmap= that confines the boot kernel on this
                      machine (from /sys/firmware/memmap): the top of RAM
                      from a 2 GiB boundary, enough left below for the
                      boot, and nokaslr where a BIOS boot needs it
      --hibernate-kernel FILE  whether FILE holds a kept hibernate kernel
                      (resume-image hibernate --keep-hibernate-kernel) that
                      this machine can resume: its header and table, the
                      machine's memory map, and B's kernel and initrd
                      (default /boot/vmlinuz-RELEASE, /boot/initrd.img-RELEASE)
    """

    public static func main(arguments: [String]) -> Int32 {
        var json = false, suggest = false
        var cmdline: String?, keptKernel: String?, bKernel: String?, bInitrd: String?
        var i = 0
        while i < arguments.count {
            switch arguments[i] {
            case "--json": json = true
            case "--suggest-memmap": suggest = true
            case "--cmdline", "--hibernate-kernel", "--kernel", "--initrd":
                guard i + 1 < arguments.count else { return usageError("\(arguments[i]) needs a value") }
                i += 1
                switch arguments[i - 1] {
                case "--cmdline": cmdline = arguments[i]
                case "--hibernate-kernel": keptKernel = arguments[i]
                case "--kernel": bKernel = arguments[i]
                default: bInitrd = arguments[i]
                }
            case "-h", "--help":
                print(usage)
                return 0
            case "--version":
                print("resume-probe \(AgentCommand.version)")
                return 0
            default:
                return usageError("unknown argument \(arguments[i])")
            }
            i += 1
        }
        let system = LiveSystem(log: KernelLog(prefix: "resume-probe: ", useKmsg: false))
        if let keptKernel {
            for line in SavedHibernateKernel.report(keptKernel, system: system, kernel: bKernel, initrd: bInitrd) { print(line) }
            return 0
        }
        let report = Probe(system: system, cmdline: cmdline, suggestMemmap: suggest).run()
        print(json ? report.json() : report.text(), terminator: "")
        return 0
    }

    static func usageError(_ message: String) -> Int32 {
        writeStderr("resume-probe: \(message)\n\(usage)\n")
        return 2
    }
}
