#if canImport(Glibc)
import Glibc
#endif
import CResumeShims
import ResumeCore

/// A regular file or block device opened for image I/O: open(2), pread(2),
/// pwrite(2), fsync(2), with sizes from fstat(2) or BLKGETSIZE64.
public final class DeviceFile: ImageSource, ImageSink {
    public let path: String
    public let fd: Int32
    public let byteCount: UInt64
    public let isBlockDevice: Bool
    /// Where the image starts inside the file (`resume_offset`).
    public let base: UInt64

    /// Opens `path` read-only, or read-write with `writable`; `create`
    /// makes a regular file (truncating it).
    public init(path: String, writable: Bool = false, create: Bool = false, base: UInt64 = 0) throws(SystemError) {
        self.path = path
        var flags = O_CLOEXEC | (writable ? O_RDWR : O_RDONLY)
        if create { flags |= O_CREAT | O_TRUNC }
        let fd = try retryingEINTR("open", path: path) { resume_open(path, flags, 0o644) }
        var st = stat()
        var size: UInt64 = 0
        do {
            _ = try retryingEINTR("fstat", path: path) { fstat(fd, &st) }
            if (st.st_mode & S_IFMT) == S_IFBLK {
                _ = try retryingEINTR("ioctl BLKGETSIZE64", path: path) { resume_ioctl_ptr(fd, resume_BLKGETSIZE64, &size) }
            } else {
                size = UInt64(max(st.st_size, 0))
            }
        } catch {
            close(fd)
            throw error
        }
        self.fd = fd
        isBlockDevice = (st.st_mode & S_IFMT) == S_IFBLK
        byteCount = size >= base ? size - base : 0
        self.base = base
    }

    deinit { close(fd) }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws {
        var done = 0
        while done < buffer.count {
            let n = try retryingEINTR("read", path: path) {
                pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(base + offset) + off_t(done))
            }
            if n == 0 {
                throw FormatError.truncated(what: "read of \(path) at \(offset)", needed: offset + UInt64(buffer.count),
                                            available: offset + UInt64(done))
            }
            done += n
        }
    }

    /// posix_fadvise(WILLNEED): the kernel starts reading while we decode.
    public func prefetch(at offset: UInt64, count: UInt64) {
        _ = posix_fadvise(fd, off_t(base + offset), off_t(count), POSIX_FADV_WILLNEED)
    }

    public func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        var done = 0
        while done < bytes.count {
            let n = try retryingEINTR("write", path: path) {
                pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(base + offset) + off_t(done))
            }
            // A block device's end gives short writes, then 0: never spin.
            if n == 0 { throw SystemError("write", path: path, errno: ENOSPC) }
            done += n
        }
    }

    public func sync() throws {
        _ = try retryingEINTR("fsync", path: path) { fsync(fd) }
    }

    /// Makes a regular file exactly `size` bytes long (after writing an image over a longer one).
    public func truncate(to size: UInt64) throws {
        guard !isBlockDevice else { return }
        _ = try retryingEINTR("ftruncate", path: path) { ftruncate(fd, off_t(base + size)) }
    }
}

/// A file read from start to end, as the image writer's input.
public struct FileInput: SequentialInput {
    public let file: DeviceFile
    var position: UInt64 = 0

    public init(path: String) throws(SystemError) { file = try DeviceFile(path: path) }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = try retryingEINTR("read", path: file.path) {
            pread(file.fd, buffer.baseAddress!, buffer.count, off_t(file.base + position))
        }
        position += UInt64(n)
        return n
    }

    /// The first `count` bytes (or fewer, for a short file).
    public func prefix(_ count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Int(min(UInt64(count), file.byteCount)))
        try bytes.withUnsafeMutableBytes { try file.read(into: $0, at: 0) }
        return bytes
    }
}
