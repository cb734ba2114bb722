#if canImport(Glibc)
import Glibc
#endif

/// fork(2) and waitpid(2): work done in a child process that the parent
/// outlives (PID 1 must never die with its work).
public enum Child {
    /// Runs `body` in a child and returns its exit status once it ends
    /// (128 + the signal when a signal ended it), or throws when fork fails.
    public static func run(_ body: () -> Int32) throws(SystemError) -> Int32 {
        let pid = try retryingEINTR("fork") { fork() }
        if pid == 0 { exit(body()) }
        var status: Int32 = 0
        _ = try retryingEINTR("waitpid") { waitpid(pid, &status, 0) }
        // WIFEXITED and WEXITSTATUS are macros, which Swift does not import.
        return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}
