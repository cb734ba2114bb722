import ResumeCore
import ResumeSystem

/// One way of handing the machine to an image. Every restore path has
/// this shape, so that `Commit` alone decides whether the irreversible step
/// may happen:
///
///   prepare        everything that can still be undone: decode and check
///                  every chunk, load the result into the kernel
///   confirmLoaded  the kernel holds what prepare loaded (as kexec-tools
///                  reads /sys/kernel/kexec_loaded before `kexec -e`)
///   rollBack       undo prepare: unload, free, thaw; never fails, and is
///                  safe to call whatever prepare got through
///   irreversible   the call that does not return when it works
protocol RestorePath {
    /// "jumping to the kernel image (reboot LINUX_REBOOT_CMD_KEXEC)": logged,
    /// with "; this does not return", right before `irreversible`.
    var irreversibleStep: String { get }
    /// What "resumed twice" would mean here, for the refusal: "jumping".
    var verb: String { get }
    mutating func prepare() throws(BootReason)
    func confirmLoaded() throws(BootReason)
    func rollBack()
    func irreversible() -> BootReason
}

/// The restore paths that go through kexec: the kernel says whether
/// something is loaded.
extension RestorePath {
    static func confirmKexecLoaded(_ system: BootSystem) throws(BootReason) {
        let loaded = (try? system.readText("/sys/kernel/kexec_loaded"))?.trimmingWhitespace()
        guard loaded == "1" else {
            throw BootReason(.loadFailed, "the kernel reports no kexec image loaded (/sys/kernel/kexec_loaded is \(loaded ?? "unreadable"))")
        }
    }
}
