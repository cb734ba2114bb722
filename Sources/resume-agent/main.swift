// resume-agent: the static binary in the initramfs. Also answers as
// resume-probe (multi-call), so one binary serves both there.
import ResumeBoot
import ResumeReports
#if canImport(Glibc)
import Glibc
#endif

// As PID 1, argv may be anything (or nothing): the kernel started us.
if getpid() == 1 { InitMode.run() }
let arguments = CommandLine.arguments
let name = arguments.first ?? "resume-agent"
let rest = Array(arguments.dropFirst())
if name.hasSuffix("resume-probe") {
    exit(ProbeCommand.main(arguments: rest))
}
if rest.first == "probe" {
    exit(ProbeCommand.main(arguments: Array(rest.dropFirst())))
}
exit(AgentCommand.main(arguments: rest))
