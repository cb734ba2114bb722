#if canImport(Glibc)
import Glibc
#endif
import ResumeCore

/// Everything the agent and resume-probe ask of the running system. The
/// live implementation makes the system calls; tests substitute one that
/// plays the kernel (an in-memory sysfs, block devices, a clock) and
/// records every write.
public protocol BootSystem: AnyObject {
    /// A small proc/sys file (read whole, at most 1 MiB).
    func readText(_ path: String) throws -> String
    /// write(2) of `text` to a proc/sys attribute.
    func writeText(_ path: String, _ text: String) throws
    /// Names in a directory, sorted, without . and ..
    func list(_ directory: String) throws -> [String]
    func exists(_ path: String) -> Bool
    /// A block device or file opened for reading an image at `base`.
    func openImage(_ path: String, base: UInt64) throws -> any ImageSource
    /// A block device or file opened read-write, to mark an image consumed.
    func openImageForUpdate(_ path: String, base: UInt64) throws -> any ImageSink
    func probe(_ path: String) -> BlockDeviceInfo?
    func evaluateTag(name: String, value: String) -> String?
    func monotonicMilliseconds() -> UInt64
    func sleep(milliseconds: UInt32)
    /// One line to the console and the kernel log.
    func log(_ line: String)
    /// True when / is an initramfs (ramfs or tmpfs with /init).
    func rootIsInitramfs() -> Bool
    func kexecFileLoadAvailability() -> SyscallAvailability
    func kexecLoadAvailability() -> SyscallAvailability
    func uname() -> (release: String, machine: String)

    // The jump (kexec). Each throws a SystemError carrying errno.
    /// An in-memory file for a kernel or initrd (memfd_create).
    func createPayloadFile(_ name: String) throws -> any PayloadFile
    func kexecFileLoad(kernel: any PayloadFile, initrd: (any PayloadFile)?, cmdline: String) throws
    func kexecLoad(entry: UInt64, segments: [KexecSegment]) throws
    /// Unloads any loaded kexec image; never fails.
    func kexecUnload()
    /// reboot(LINUX_REBOOT_CMD_KEXEC). Returns only on failure.
    func kexecJump() -> Error

    /// open(/dev/snapshot, O_WRONLY), to restore a snapshot image.
    func openSnapshotForRestore() throws -> any SnapshotRestoring

    /// After `seconds`, give up: log it and exit with status 3 (0 disarms).
    func armWatchdog(seconds: UInt32)
}

/// Where decoded kernel and initrd bytes go before kexec_file_load.
public protocol PayloadFile: AnyObject {
    var size: UInt64 { get }
    func append(_ bytes: UnsafeRawBufferPointer) throws
}

extension MemoryFile: PayloadFile {}

/// The real system.
public final class LiveSystem: BootSystem {
    public let log: KernelLog
    private var watchdogKmsg: Int32 = -1

    public init(log: KernelLog) { self.log = log }

    public func readText(_ path: String) throws -> String {
        let fd = try retryingEINTR("open", path: path) { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while out.count < 1 << 20 {
            let n = try retryingEINTR("read", path: path) { buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) } }
            if n == 0 { break }
            out += buffer[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    public func writeText(_ path: String, _ text: String) throws {
        let fd = try retryingEINTR("open", path: path) { open(path, O_WRONLY | O_CLOEXEC) }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        _ = try retryingEINTR("write", path: path) { bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } }
    }

    public func list(_ directory: String) throws -> [String] {
        guard let dir = opendir(directory) else { throw SystemError("opendir", path: directory, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    public func openImage(_ path: String, base: UInt64) throws -> any ImageSource {
        try DeviceFile(path: path, base: base)
    }

    public func openImageForUpdate(_ path: String, base: UInt64) throws -> any ImageSink {
        try DeviceFile(path: path, writable: true, base: base)
    }

    public func probe(_ path: String) -> BlockDeviceInfo? { Blkid.probe(path) }

    public func evaluateTag(name: String, value: String) -> String? { Blkid.evaluateTag(name: name, value: value) }

    public func monotonicMilliseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
    }

    public func sleep(milliseconds: UInt32) {
        var ts = timespec(tv_sec: Int(milliseconds / 1000), tv_nsec: Int(milliseconds % 1000) * 1_000_000)
        var rem = timespec()
        while nanosleep(&ts, &rem) == -1 && errno == EINTR { ts = rem }
    }

    public func log(_ line: String) { log.write(line) }

    public func createPayloadFile(_ name: String) throws -> any PayloadFile { try MemoryFile(name: name) }

    public func kexecFileLoad(kernel: any PayloadFile, initrd: (any PayloadFile)?, cmdline: String) throws {
        guard let kernel = kernel as? MemoryFile else { throw SystemError("kexec_file_load", errno: EBADF) }
        let initrdFD: Int32? = try initrd.map { file throws(SystemError) -> Int32 in
            guard let memory = file as? MemoryFile else { throw SystemError("kexec_file_load", errno: EBADF) }
            return memory.fd
        }
        try Kexec.fileLoad(kernelFD: kernel.fd, initrdFD: initrdFD, cmdline: cmdline)
    }

    public func kexecLoad(entry: UInt64, segments: [KexecSegment]) throws {
        try Kexec.load(entry: entry, segments: segments)
    }

    public func kexecUnload() { Kexec.unload() }

    public func kexecJump() -> Error { Kexec.jump() }

    /// The watchdog writes through a /dev/kmsg descriptor of its own (the
    /// log's is reopened now and then); alarm(2) and a C signal handler.
    public func armWatchdog(seconds: UInt32) {
        if watchdogKmsg < 0 { watchdogKmsg = open("/dev/kmsg", O_WRONLY | O_CLOEXEC) }
        resume_arm_watchdog(seconds, watchdogKmsg)
    }

    public func openSnapshotForRestore() throws -> any SnapshotRestoring {
        try SnapshotDevice.lockMemory()
        return try SnapshotDevice(forRestore: true)
    }
}

/// Lines to stderr (the console, in the initramfs) and to /dev/kmsg, so
/// they are in `dmesg` after boot. When the kernel already prints kmsg
/// lines of our level on the console, stderr is skipped: one copy each.
public final class KernelLog {
    public let prefix: String
    var kmsg: Int32
    var kmsgLines = 0
    let toStderr: Bool
    /// Also keep every line (resume-probe shows them; tests read them).
    public private(set) var lines: [String] = []

    /// `useKmsg` false: stderr only (host tools, tests).
    public init(prefix: String, useKmsg: Bool) {
        self.prefix = prefix
        kmsg = useKmsg ? open("/dev/kmsg", O_WRONLY | O_CLOEXEC) : -1
        var echo = true
        if kmsg >= 0, let fd = Optional(open("/proc/sys/kernel/printk", O_RDONLY | O_CLOEXEC)), fd >= 0 {
            var buffer = [UInt8](repeating: 0, count: 64)
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            close(fd)
            // First field: console_loglevel. Level 6 (info) is printed when it is above 6.
            let level = n > 0 ? Int(String(decoding: buffer[0..<n].prefix(while: { $0 >= 0x30 && $0 <= 0x39 }), as: UTF8.self)) : nil
            if let level, level > 6 { echo = false }
        }
        toStderr = echo
    }

    deinit { if kmsg >= 0 { close(kmsg) } }

    public func write(_ line: String) {
        lines.append(line)
        let text = prefix + line
        if kmsg >= 0 {
            // The kernel rate-limits each open of /dev/kmsg to 10 lines per
            // 5 s (devkmsg_user.rs) unless printk.devkmsg=on; every line of
            // ours matters, so take a fresh open before reaching that.
            kmsgLines += 1
            if kmsgLines % 8 == 0 {
                let fresh = open("/dev/kmsg", O_WRONLY | O_CLOEXEC)
                if fresh >= 0 { close(kmsg); kmsg = fresh }
            }
            // <14>: facility user (1), level info (6).
            let record = Array(("<14>" + text).utf8)
            _ = record.withUnsafeBytes { Glibc.write(kmsg, $0.baseAddress, $0.count) }
        }
        if toStderr || kmsg < 0 {
            let bytes = Array((text + "\n").utf8)
            _ = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
        }
    }
}

/// Whether a system call is there and usable, found by calling it with
/// arguments the kernel refuses before doing anything (invalid flags).
public enum SyscallAvailability: String, Sendable {
    case available, notPermitted = "not permitted", absent
}

extension LiveSystem {
    /// kexec_file_load with invalid flags: EINVAL when present and
    /// permitted, EPERM when refused (no CAP_SYS_BOOT, lockdown), ENOSYS
    /// when the kernel lacks it. Nothing is loaded or unloaded.
    public func kexecFileLoadAvailability() -> SyscallAvailability {
        availability(resume_kexec_file_load(-1, -1, 0, nil, 0x8000_0000))
    }

    /// kexec_load with an invalid architecture in its flags: the same probe.
    public func kexecLoadAvailability() -> SyscallAvailability {
        availability(resume_kexec_load(0, 0, nil, 0xFFFF_0000))
    }

    private func availability(_ rc: Int) -> SyscallAvailability {
        let e = errno
        if rc == 0 { return .available }
        switch e {
        case ENOSYS: return .absent
        case EPERM, EACCES: return .notPermitted
        default: return .available
        }
    }

    /// True when / is the initramfs (ramfs or tmpfs) and /init exists there.
    public func rootIsInitramfs() -> Bool {
        let type = resume_statfs_type("/")
        let ramfs = 0x858458f6, tmpfs = 0x01021994
        return (type == ramfs || type == tmpfs) && exists("/init")
    }

    public func uname() -> (release: String, machine: String) {
        var u = utsname()
        _ = Glibc.uname(&u)
        func text<T>(_ field: T) -> String {
            withUnsafeBytes(of: field) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        }
        return (text(u.release), text(u.machine))
    }
}

import CResumeShims
