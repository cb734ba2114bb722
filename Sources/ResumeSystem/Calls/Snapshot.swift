#if canImport(Glibc)
import Glibc
#endif
import CResumeShims
import ResumeCore

/// /dev/snapshot, the kernel's hibernation interface for user space
/// (kernel/power/user.c). Opened read-only it saves (freeze, create the
/// image, read it); opened write-only it restores (write the image, freeze,
/// atomic restore). One wrapper per ioctl; errno becomes a SystemError.
public final class SnapshotDevice: SequentialInput {
    public static let path = "/dev/snapshot"
    public let fd: Int32
    public private(set) var frozen = false

    /// open(/dev/snapshot, O_RDONLY) to save, O_WRONLY to restore. EBUSY:
    /// already open; EPERM: hibernation unavailable (nohibernate, lockdown).
    public init(forRestore: Bool) throws(SystemError) {
        fd = try retryingEINTR("open", path: Self.path) {
            open(Self.path, (forRestore ? O_WRONLY : O_RDONLY) | O_CLOEXEC)
        }
    }

    deinit {
        if frozen { _ = resume_ioctl_int(fd, resume_SNAPSHOT_UNFREEZE, 0) }
        close(fd)
    }

    private func ioctl(_ name: String, _ request: UInt, _ arg: UInt = 0) throws(SystemError) {
        _ = try retryingEINTR("ioctl \(name)", path: Self.path) { resume_ioctl_int(fd, request, arg) }
    }

    /// SNAPSHOT_FREEZE: freezes every other process.
    public func freeze() throws(SystemError) {
        try ioctl("SNAPSHOT_FREEZE", resume_SNAPSHOT_FREEZE)
        frozen = true
    }

    /// SNAPSHOT_UNFREEZE: thaws them.
    public func unfreeze() {
        if frozen, resume_ioctl_int(fd, resume_SNAPSHOT_UNFREEZE, 0) == 0 { frozen = false }
    }

    /// SNAPSHOT_PREF_IMAGE_SIZE: the image size the kernel aims for (it frees memory to get there).
    public func setPreferredImageSize(_ bytes: UInt) throws(SystemError) {
        try ioctl("SNAPSHOT_PREF_IMAGE_SIZE", resume_SNAPSHOT_PREF_IMAGE_SIZE, bytes)
    }

    /// SNAPSHOT_CREATE_IMAGE: snapshots memory. Returns twice, in effect:
    /// true right after the snapshot (now save it), false when this process
    /// runs again in the restored system.
    public func createImage() throws(SystemError) -> Bool {
        var inSuspend: Int32 = 0
        _ = try retryingEINTR("ioctl SNAPSHOT_CREATE_IMAGE", path: Self.path) {
            resume_ioctl_ptr(fd, resume_SNAPSHOT_CREATE_IMAGE, &inSuspend)
        }
        return inSuspend != 0
    }

    /// SNAPSHOT_GET_IMAGE_SIZE: the image's size in bytes (after createImage).
    public func imageSize() throws(SystemError) -> UInt64 {
        var size: Int64 = 0
        _ = try retryingEINTR("ioctl SNAPSHOT_GET_IMAGE_SIZE", path: Self.path) {
            resume_ioctl_ptr(fd, resume_SNAPSHOT_GET_IMAGE_SIZE, &size)
        }
        return UInt64(max(size, 0))
    }

    /// SNAPSHOT_FREE: drops the image in memory (after a failed save or
    /// load, and after returning in the restored system: UNFREEZE does
    /// nothing while an image is "ready").
    public func free() { _ = resume_ioctl_int(fd, resume_SNAPSHOT_FREE, 0) }

    /// mlockall(MCL_CURRENT | MCL_FUTURE): nothing of ours may be paged out
    /// while the rest of the system is frozen (swap may be frozen too).
    public static func lockMemory() throws(SystemError) {
        _ = try retryingEINTR("mlockall") { mlockall(MCL_CURRENT | MCL_FUTURE) }
    }

    /// Powers the machine off after a save: SNAPSHOT_PLATFORM_SUPPORT(1)
    /// then SNAPSHOT_POWER_OFF (the platform's S4 path; without the first
    /// the second does nothing), falling back to reboot(POWER_OFF), as
    /// s2disk does. Returns only on failure.
    public func powerOff() -> SystemError {
        _ = resume_ioctl_int(fd, resume_SNAPSHOT_PLATFORM_SUPPORT, 1)
        _ = resume_ioctl_int(fd, resume_SNAPSHOT_POWER_OFF, 0)
        let first = errno
        _ = resume_reboot(resume_LINUX_REBOOT_CMD_POWER_OFF)
        return SystemError("ioctl SNAPSHOT_POWER_OFF (errno \(first)), then reboot(POWER_OFF)", path: Self.path, errno: errno)
    }

    /// SNAPSHOT_ATOMIC_RESTORE: jumps into the loaded image. Returns only on failure.
    public func atomicRestore() -> SystemError {
        _ = resume_ioctl_int(fd, resume_SNAPSHOT_ATOMIC_RESTORE, 0)
        return SystemError("ioctl SNAPSHOT_ATOMIC_RESTORE", path: Self.path, errno: errno)
    }

    /// read(2) of the image stream: a page per call; 0 at its end.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try retryingEINTR("read", path: Self.path) { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    /// write(2) of image pages, all of `bytes` (a multiple of the page size
    /// except at the very end).
    public func write(_ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        let fd = fd
        try IO.writeAll(bytes, path: Self.path) { rest, _ in Glibc.write(fd, rest.baseAddress, rest.count) }
    }
}

extension SnapshotDevice: SnapshotRestoring {}

/// What the agent's snapshot restore needs of /dev/snapshot (the seam:
/// tests play the kernel here).
public protocol SnapshotRestoring: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws(SystemError)
    func freeze() throws(SystemError)
    func unfreeze()
    func free()
    func atomicRestore() -> SystemError
}
