// resume-agent: the static binary in the initramfs. Also answers as
// resume-probe (multi-call), so one binary serves both there.
import ResumeAgentKit

let arguments = CommandLine.arguments
let name = arguments.first ?? "resume-agent"
exit(AgentCommand.main(invokedAs: name, arguments: Array(arguments.dropFirst())))

#if canImport(Glibc)
import Glibc
#endif
