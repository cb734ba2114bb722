// resume-probe: what resume-agent sees and would do (read-only).
import ResumeAgentKit

exit(AgentCommand.main(invokedAs: "resume-probe", arguments: Array(CommandLine.arguments.dropFirst())))

#if canImport(Glibc)
import Glibc
#endif
