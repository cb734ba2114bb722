#if canImport(Glibc)
import Glibc
#endif
import CResumeShims
import ResumeCore

/// The real system.
public final class LiveSystem: BootSystem {
    public let log: KernelLog
    private var watchdogKmsg: Int32 = -1

    public init(log: KernelLog) { self.log = log }

    public func readText(_ path: String) throws -> String { String(decoding: try Self.readSmallFile(path), as: UTF8.self) }
    public func readBytes(_ path: String) throws -> [UInt8] { try Self.readSmallFile(path) }

    /// Reads at most 1 MiB: proc and sys files are small, and a bigger one
    /// is not what the caller meant.
    static func readSmallFile(_ path: String) throws(SystemError) -> [UInt8] {
        let fd = try retryingEINTR("open", path: path) { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while out.count < 1 << 20 {
            let n: Int
            do {
                n = try buffer.withUnsafeMutableBytes { whole in
                    try IO.readFully(into: whole, path: path) { rest, _ in Glibc.read(fd, rest.baseAddress, rest.count) }
                }
            } catch { throw SystemError("read", path: path, error) }
            out += buffer[0..<n]
            if n < buffer.count { break }
        }
        return out
    }

    /// One write(2): a sysfs attribute takes its value in one call.
    public func writeText(_ path: String, _ text: String) throws {
        let fd = try retryingEINTR("open", path: path) { open(path, O_WRONLY | O_CLOEXEC) }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        try bytes.withUnsafeBytes { raw in
            try IO.writeAll(raw, path: path) { rest, _ in Glibc.write(fd, rest.baseAddress, rest.count) }
        }
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

    public func canonicalPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    public func blockDeviceNumber(_ path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFBLK else { return nil }
        let dev = UInt64(st.st_rdev)
        // glibc's gnu_dev_major/minor.
        let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & ~UInt64(0xfff))
        let minor = (dev & 0xff) | ((dev >> 12) & ~UInt64(0xff))
        return "\(major):\(minor)"
    }

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
        // Interrupted: sleep what remains.
        _ = try? retryingEINTR("nanosleep") { () -> Int32 in
            let rc = nanosleep(&ts, &rem)
            if rc == -1 { ts = rem }
            return rc
        }
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

    public func kexecLoadPreservingContext(entry: UInt64, segments: [KexecSegment]) throws {
        try Kexec.load(entry: entry, segments: segments, preserveContext: true)
    }

    public func kexecUnload() { Kexec.unload() }

    public func powerOff() -> Error {
        sync()
        _ = resume_reboot(resume_LINUX_REBOOT_CMD_POWER_OFF)
        return SystemError("reboot(LINUX_REBOOT_CMD_POWER_OFF)", errno: errno)
    }

    public func openPhysicalMemory() throws -> any ImageSource { try DeviceFile(path: "/dev/mem") }

    public func wipePhysicalMemory(at address: UInt64, count: Int) throws {
        let zeros = [UInt8](repeating: 0, count: count)
        try zeros.withUnsafeBytes { try DeviceFile(path: "/dev/mem", writable: true).write($0, at: address) }
    }

    public func takeSecretFile(_ path: String) throws -> [UInt8] {
        let bytes = try Self.readSmallFile(path)
        let fd = try retryingEINTR("open", path: path) { open(path, O_WRONLY | O_CLOEXEC) }
        let zeros = [UInt8](repeating: 0, count: bytes.count)
        let written = zeros.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        close(fd)
        guard written == bytes.count, unlink(path) == 0 else { throw SystemError("wipe", path: path, errno: errno) }
        return bytes
    }

    public func mapDevice(_ path: String, bytes: UInt64) throws -> MappedMemory {
        let fd = try retryingEINTR("open", path: path) { open(path, O_RDWR | O_CLOEXEC) }
        defer { close(fd) }
        guard let base = mmap(nil, Int(bytes), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), base != MAP_FAILED else {
            throw SystemError("mmap", path: path, errno: errno)
        }
        return MappedMemory(memory: UnsafeMutableRawBufferPointer(start: base, count: Int(bytes))) { munmap($0.baseAddress, $0.count) }
    }

    public func kexecJump() -> Error { Kexec.jump() }
    public func kexecJumpAndReturn() throws { try Kexec.jumpAndReturn() }

    /// The watchdog writes through a /dev/kmsg descriptor of its own (the
    /// log's is reopened now and then); alarm(2) and a C signal handler.
    public func armWatchdog(seconds: UInt32) {
        if watchdogKmsg < 0 { watchdogKmsg = open("/dev/kmsg", O_WRONLY | O_CLOEXEC) }
        resume_arm_watchdog(seconds, watchdogKmsg)
    }

    public func loadModule(path: String, compressed: Bool) throws {
        let fd = try retryingEINTR("open", path: path) { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        // MODULE_INIT_COMPRESSED_FILE (linux/module.h) is 4.
        _ = try retryingEINTR("finit_module", path: path) { resume_finit_module(fd, "", compressed ? 4 : 0) }
    }

    public func openSnapshotForRestore() throws -> any SnapshotRestoring {
        try SnapshotDevice.lockMemory()
        return try SnapshotDevice(forRestore: true)
    }
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
