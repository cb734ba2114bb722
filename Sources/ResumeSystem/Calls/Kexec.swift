#if canImport(Glibc)
import Glibc
#endif
import CResumeShims

/// An anonymous in-memory file (memfd_create): where the agent decodes a
/// kernel and initrd for kexec_file_load, never touching a disk.
public final class MemoryFile {
    public let fd: Int32
    public let name: String
    public private(set) var size: UInt64 = 0

    /// memfd_create(name, MFD_CLOEXEC).
    public init(name: String) throws(SystemError) {
        fd = try retryingEINTR("memfd_create", path: name) { resume_memfd_create(name, resume_MFD_CLOEXEC) }
        self.name = name
    }

    deinit { close(fd) }

    /// write(2) of all of `bytes` at the end.
    public func append(_ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        let fd = fd
        try IO.writeAll(bytes, path: name) { rest, _ in write(fd, rest.baseAddress, rest.count) }
        size += UInt64(bytes.count)
    }
}

/// One kexec_load segment: `buffer` is copied by the kernel to physical
/// `memory`, the rest of `memorySize` zero-filled.
public struct KexecSegment {
    public var buffer: UnsafeRawBufferPointer
    public var memory: UInt64
    public var memorySize: UInt64
    public init(buffer: UnsafeRawBufferPointer, memory: UInt64, memorySize: UInt64) {
        self.buffer = buffer
        self.memory = memory
        self.memorySize = memorySize
    }
}

/// The kexec system calls. Each returns normally or throws the errno; the
/// caller's errno table decides what a failure means.
public enum Kexec {
    /// kexec_file_load(kernel_fd, initrd_fd, cmdline_len, cmdline, flags).
    /// Without an initrd, KEXEC_FILE_NO_INITRAMFS. cmdline_len counts the NUL.
    public static func fileLoad(kernelFD: Int32, initrdFD: Int32?, cmdline: String) throws(SystemError) {
        let flags = initrdFD == nil ? resume_KEXEC_FILE_NO_INITRAMFS : 0
        let rc = cmdline.withCString { text in
            resume_kexec_file_load(kernelFD, initrdFD ?? -1, UInt(strlen(text) + 1), text, flags)
        }
        if rc != 0 { throw SystemError("kexec_file_load", errno: errno) }
    }

    /// kexec_load(entry, nr_segments, segments, KEXEC_ARCH_DEFAULT), with
    /// KEXEC_PRESERVE_CONTEXT for a jump that may come back.
    public static func load(entry: UInt64, segments: [KexecSegment], preserveContext: Bool = false) throws(SystemError) {
        var raw = segments.map {
            resume_kexec_segment(buf: $0.buffer.baseAddress, bufsz: $0.buffer.count,
                                 mem: UInt($0.memory), memsz: Int($0.memorySize))
        }
        let rc = raw.withUnsafeMutableBufferPointer {
            resume_kexec_load(UInt(entry), UInt($0.count), $0.baseAddress,
                              resume_KEXEC_ARCH_DEFAULT | (preserveContext ? resume_KEXEC_PRESERVE_CONTEXT : 0))
        }
        if rc != 0 { throw SystemError("kexec_load", errno: errno) }
    }

    /// Unloads whatever kexec image is loaded (both interfaces), so that a
    /// failure never leaves a half-prepared jump behind. Errors are ignored:
    /// "nothing was loaded" is the usual one.
    public static func unload() {
        _ = resume_kexec_file_load(-1, -1, 0, nil, resume_KEXEC_FILE_UNLOAD)
        _ = resume_kexec_load(0, 0, nil, resume_KEXEC_ARCH_DEFAULT)
    }

    /// reboot(LINUX_REBOOT_CMD_KEXEC): jumps to the loaded image. Returns
    /// only on failure, with the error.
    public static func jump() -> SystemError {
        sync()
        _ = resume_reboot(resume_LINUX_REBOOT_CMD_KEXEC)
        return SystemError("reboot(LINUX_REBOOT_CMD_KEXEC)", errno: errno)
    }

    /// reboot(LINUX_REBOOT_CMD_KEXEC) of a KEXEC_PRESERVE_CONTEXT image:
    /// returns when the peer jumped back (the call returned 0), throws when
    /// the jump did not happen.
    public static func jumpAndReturn() throws(SystemError) {
        sync()
        if resume_reboot(resume_LINUX_REBOOT_CMD_KEXEC) != 0 {
            throw SystemError("reboot(LINUX_REBOOT_CMD_KEXEC)", errno: errno)
        }
    }
}
