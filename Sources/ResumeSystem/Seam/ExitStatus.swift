import CResumeShims

/// The agent's exit statuses, from the one list in resume_exit.h (which the
/// C watchdog uses too).
public enum ExitStatus {
    public static let continueBoot = Int32(RESUME_EXIT_CONTINUE)
    public static let noInit = Int32(RESUME_EXIT_NO_INIT)
    public static let refused = Int32(RESUME_EXIT_REFUSED)
    public static let watchdog = Int32(RESUME_EXIT_WATCHDOG)
    public static let deferred = Int32(RESUME_EXIT_DEFERRED)

    /// `resume-agent --exit-codes`: the list as shell assignments, which the
    /// initramfs hook stores for the boot script and the boot tests read.
    public static var shellAssignments: String {
        """
        RESUME_EXIT_CONTINUE=\(continueBoot)
        RESUME_EXIT_NO_INIT=\(noInit)
        RESUME_EXIT_REFUSED=\(refused)
        RESUME_EXIT_WATCHDOG=\(watchdog)
        RESUME_EXIT_DEFERRED=\(deferred)

        """
    }
}
