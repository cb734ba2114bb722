/// The kernel's lockdown mode, as every part of the project reads it (the
/// agent deciding whether kexec_load can work, the probe reporting it, A's
/// side refusing a jump): from securityfs when it is mounted (an initramfs
/// rarely has it), else from `lockdown=` on the command line.
public enum Lockdown {
    public static let path = "/sys/kernel/security/lockdown"

    /// The mode in force ("none", "integrity", "confidentiality"), control
    /// characters escaped, or nil when neither source says. `securityfs`:
    /// the file's text ("none [integrity] confidentiality": the bracketed
    /// one), nil when unreadable.
    public static func mode(securityfs: String?, cmdline: KernelCommandLine) -> String? {
        if let text = securityfs {
            guard let open = text.firstIndex(of: "["), let close = text[open...].firstIndex(of: "]") else { return nil }
            return String(text[text.index(after: open)..<close]).escapingControlCharacters
        }
        return cmdline.value("lockdown").map { $0.escapingControlCharacters }
    }

    /// The mode when it restricts the kernel (not "none"), else nil.
    public static func restricting(securityfs: String?, cmdline: KernelCommandLine) -> String? {
        mode(securityfs: securityfs, cmdline: cmdline).flatMap { $0 == "none" ? nil : $0 }
    }
}
