/// The decisions around a kexec jump that need no system: what an errno
/// means (kexec-tools keeps such a table too), the command line kernel B
/// gets, and what the kernel would refuse, checked first so the message is
/// ours and not a bare EINVAL.
public enum KexecPolicy {
    /// Linux errno values (asm-generic/errno-base.h, errno.h).
    public enum Errno {
        public static let EPERM: Int32 = 1, ENOEXEC: Int32 = 8, ENOMEM: Int32 = 12, EBUSY: Int32 = 16
        public static let EINVAL: Int32 = 22, ENOSYS: Int32 = 38, EBADMSG: Int32 = 74
        public static let EADDRNOTAVAIL: Int32 = 99, ENOKEY: Int32 = 126, EKEYEXPIRED: Int32 = 127
        public static let EKEYREVOKED: Int32 = 128, EKEYREJECTED: Int32 = 129
    }

    /// x86's COMMAND_LINE_SIZE, counting the terminating NUL.
    public static let maxCommandLine = 2048

    /// Why the kernel refused a load, in words a person can act on. Every
    /// refusal ends in a normal boot; none is retried blindly.
    public static func explain(call: String, errno: Int32) -> String {
        switch errno {
        case Errno.EKEYREJECTED, Errno.ENOKEY, Errno.EKEYEXPIRED, Errno.EKEYREVOKED, Errno.EBADMSG:
            return "\(call): the kernel refused kernel B's signature (errno \(errno)): this kernel only loads signed kernels (Secure Boot, lockdown or KEXEC_SIG_FORCE)"
        case Errno.EPERM:
            return "\(call): not permitted (EPERM): kernel lockdown, kexec_load_disabled, or no CAP_SYS_BOOT"
        case Errno.ENOEXEC:
            return "\(call): the kernel does not recognise the image as a kernel it can load (ENOEXEC)"
        case Errno.ENOSYS:
            return "\(call): this kernel lacks the call (ENOSYS)"
        case Errno.EINVAL:
            return "\(call): the kernel refused the arguments (EINVAL)"
        case Errno.ENOMEM:
            return "\(call): not enough memory to stage the image (ENOMEM)"
        case Errno.EBUSY:
            return "\(call): kexec is busy (EBUSY)"
        case Errno.EADDRNOTAVAIL:
            return "\(call): a segment lies outside the memory the kernel can place it in (EADDRNOTAVAIL)"
        default:
            return "\(call): failed with errno \(errno)"
        }
    }

    /// Kernel B's command line: the image's, then each parameter named in
    /// `pass` as kernel A got it (resume_agent.pass=, kexec-tools'
    /// --reuse-cmdline idea, limited to what the user names).
    public static func commandLine(image: String, running: KernelCommandLine, pass: [String]) -> String {
        var parts = image.isEmpty ? [] : [image]
        for name in pass {
            for p in running.parameters where p.name == KernelCommandLine.normalize(name) {
                let value = p.value.map { $0.contains(" ") ? "\(p.name)=\"\($0)\"" : "\(p.name)=\($0)" } ?? p.name
                parts.append(value)
            }
        }
        return parts.joined(separator: " ")
    }

    /// What kexec_load's sanity_check_segment_list would refuse, as a
    /// sentence; nil when the segments pass. (Alignment and overlaps are
    /// already format rules; the half-of-RAM rule depends on this machine.)
    public static func checkSegments(_ entries: [ImageEntry], totalRAM: UInt64) -> String? {
        guard entries.count <= 16 else { return "\(entries.count) segments; kexec takes at most 16" }
        let pages = entries.reduce(UInt64(0)) { $0 + $1.memorySize / ImageHeader.pageSize }
        let limit = totalRAM / ImageHeader.pageSize / 2
        if pages > limit {
            return "segments need \(pages * 4) KiB, more than half of the \(totalRAM >> 10) KiB of RAM online (kexec's limit)"
        }
        return nil
    }
}
