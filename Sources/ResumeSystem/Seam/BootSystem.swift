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
    /// The same, as bytes (binary sysfs files: /sys/kernel/notes).
    func readBytes(_ path: String) throws -> [UInt8]
    /// write(2) of `text` to a proc/sys attribute.
    func writeText(_ path: String, _ text: String) throws
    /// Names in a directory, sorted, without . and ..
    func list(_ directory: String) throws -> [String]
    func exists(_ path: String) -> Bool
    /// realpath(3): the path with every symlink resolved (sysfs device links).
    func canonicalPath(_ path: String) -> String?
    /// "MAJ:MIN" of the block device `path` names (stat(2)'s st_rdev, through
    /// symlinks: /dev/mapper/NAME, /dev/VG/LV, /dev/disk/by-*), as systemd's
    /// hibernate-resume reads it; nil if it is no block device.
    func blockDeviceNumber(_ path: String) -> String?
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
    /// kexec_load with KEXEC_PRESERVE_CONTEXT: the hibernate kernel's jump
    /// back into the kernel that kexec-jumped to it.
    func kexecLoadPreservingContext(entry: UInt64, segments: [KexecSegment]) throws
    /// Unloads any loaded kexec image; never fails.
    func kexecUnload()
    /// reboot(LINUX_REBOOT_CMD_KEXEC). Returns only on failure.
    func kexecJump() -> Error
    /// The same for a KEXEC_PRESERVE_CONTEXT image: returns when the peer
    /// jumps back; throws when the jump did not happen.
    func kexecJumpAndReturn() throws
    /// sync(2), then reboot(LINUX_REBOOT_CMD_POWER_OFF). Returns only on failure.
    func powerOff() -> Error

    /// /dev/mem, read at physical addresses (the hibernate kernel reads
    /// the kernel that jumped to it).
    func openPhysicalMemory() throws -> any ImageSource
    /// Zeroes `count` bytes of physical memory at `address` through
    /// /dev/mem (a secret kernel A left in a page it shares with B).
    func wipePhysicalMemory(at address: UInt64, count: Int) throws

    /// Reads a small secret file, overwrites its bytes with zeros (its
    /// page, in a tmpfs or the initramfs, then holds none of it) and
    /// removes it.
    func takeSecretFile(_ path: String) throws -> [UInt8]

    /// open(2) O_RDWR and mmap(2) MAP_SHARED of the first `bytes` of a
    /// device-dax device (`/dev/daxX.Y`): its physical memory, written in
    /// place (the boot kernel puts kernel A's pages there while it runs).
    func mapDevice(_ path: String, bytes: UInt64) throws -> MappedMemory

    /// open(/dev/snapshot, O_WRONLY), to restore a snapshot image.
    func openSnapshotForRestore() throws -> any SnapshotRestoring

    /// finit_module(2) of the kernel module file at `path`, with no
    /// parameters; `compressed` passes MODULE_INIT_COMPRESSED_FILE (the
    /// kernel decompresses .ko.xz/.zst/.gz itself, 6.2+). Throws a
    /// SystemError carrying errno (EEXIST: already loaded).
    func loadModule(path: String, compressed: Bool) throws

    /// After `seconds`, give up: log it and exit with `ExitStatus.watchdog` (0 disarms).
    func armWatchdog(seconds: UInt32)
}

/// Memory mapped from a device; munmap(2) when the last reference goes.
public final class MappedMemory {
    public let memory: UnsafeMutableRawBufferPointer
    private let unmap: (UnsafeMutableRawBufferPointer) -> Void
    public init(memory: UnsafeMutableRawBufferPointer, unmap: @escaping (UnsafeMutableRawBufferPointer) -> Void) {
        self.memory = memory
        self.unmap = unmap
    }
    deinit { unmap(memory) }
}

/// Where decoded kernel and initrd bytes go before kexec_file_load.
public protocol PayloadFile: AnyObject {
    var size: UInt64 { get }
    func append(_ bytes: UnsafeRawBufferPointer) throws
}

extension MemoryFile: PayloadFile {}

/// Whether a system call is there and usable, found by calling it with
/// arguments the kernel refuses before doing anything (invalid flags).
public enum SyscallAvailability: String, Sendable {
    case available, notPermitted = "not permitted", absent
}
