// resume-probe: what resume-agent sees and would do (read-only).
import ResumeReports
#if canImport(Glibc)
import Glibc
#endif

exit(ProbeCommand.main(arguments: Array(CommandLine.arguments.dropFirst())))
