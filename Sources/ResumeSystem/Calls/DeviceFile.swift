#if canImport(Glibc)
import Glibc
#endif
import CResumeShims
import ResumeCore
import SystemPackage

/// A regular file or block device opened for image I/O: swift-system's
/// FileDescriptor opens, resizes and closes it; pread(2) and pwrite(2) go
/// through `IO`'s loops; fstat(2), ioctl(BLKGETSIZE64), fsync(2) and
/// posix_fadvise(2) are called directly.
public final class DeviceFile: ImageSource, ImageSink {
    public let path: String
    public let descriptor: FileDescriptor
    public let byteCount: UInt64
    public let isBlockDevice: Bool
    /// Where the image starts inside the file (`resume_offset`).
    public let base: UInt64

    public var fd: Int32 { descriptor.rawValue }

    /// Opens `path` read-only, or read-write with `writable`; `create`
    /// makes a regular file (truncating it).
    public init(path: String, writable: Bool = false, create: Bool = false, base: UInt64 = 0) throws(SystemError) {
        self.path = path
        let options: FileDescriptor.OpenOptions = create ? [.closeOnExec, .create, .truncate] : [.closeOnExec]
        let descriptor: FileDescriptor
        do {
            descriptor = try FileDescriptor.open(FilePath(path), writable ? .readWrite : .readOnly, options: options,
                                                 permissions: create ? [.ownerReadWrite, .groupRead, .otherRead] : nil)
        } catch {
            throw SystemError("open", path: path, error)
        }
        var st = stat()
        var size: UInt64 = 0
        do {
            _ = try retryingEINTR("fstat", path: path) { fstat(descriptor.rawValue, &st) }
            if (st.st_mode & S_IFMT) == S_IFBLK {
                _ = try retryingEINTR("ioctl BLKGETSIZE64", path: path) {
                    resume_ioctl_ptr(descriptor.rawValue, resume_BLKGETSIZE64, &size)
                }
            } else {
                size = UInt64(max(st.st_size, 0))
            }
        } catch {
            try? descriptor.close()
            throw error
        }
        self.descriptor = descriptor
        isBlockDevice = (st.st_mode & S_IFMT) == S_IFBLK
        byteCount = size >= base ? size - base : 0
        self.base = base
    }

    deinit { try? descriptor.close() }

    /// pread(2) until `buffer` is full; the file ending first is a truncated image.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws {
        let start = off_t(base + offset), fd = fd
        let done = try IO.readFully(into: buffer, call: "read", path: path) { rest, done in
            pread(fd, rest.baseAddress, rest.count, start + off_t(done))
        }
        if done < buffer.count {
            throw FormatError.truncated(what: "read of \(path) at \(offset)", needed: offset + UInt64(buffer.count),
                                        available: offset + UInt64(done))
        }
    }

    /// posix_fadvise(WILLNEED): the kernel starts reading while we decode.
    public func prefetch(at offset: UInt64, count: UInt64) {
        _ = posix_fadvise(fd, off_t(base + offset), off_t(count), POSIX_FADV_WILLNEED)
    }

    /// pwrite(2) of all of `bytes` (a block device's end: ENOSPC).
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        let start = off_t(base + offset), fd = fd
        try IO.writeAll(bytes, path: path) { rest, done in pwrite(fd, rest.baseAddress, rest.count, start + off_t(done)) }
    }

    /// fsync(2): for a block device this also flushes the disk's write cache.
    public func sync() throws {
        _ = try retryingEINTR("fsync", path: path) { fsync(fd) }
    }

    /// BLKFLSBUF: drops the block device's page cache (after a resume, the
    /// restored system's cache of the image partition is stale).
    public func dropCache() {
        if isBlockDevice { _ = resume_ioctl_int(fd, resume_BLKFLSBUF, 0) }
    }

    /// Makes a regular file exactly `size` bytes long (after writing an image over a longer one).
    public func truncate(to size: UInt64) throws {
        guard !isBlockDevice else { return }
        do { try descriptor.resize(to: Int64(base + size)) } catch {
            throw SystemError("ftruncate", path: path, error)
        }
    }
}

/// A file read from start to end, as the image writer's input.
public struct FileInput: SequentialInput {
    public let file: DeviceFile
    var position: UInt64 = 0

    public init(path: String) throws(SystemError) { file = try DeviceFile(path: path) }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let fd = file.fd, start = off_t(file.base + position)
        let n = try retryingEINTR("read", path: file.path) { pread(fd, buffer.baseAddress, buffer.count, start) }
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
