#if canImport(Glibc)
import Glibc
#endif
import CResumeShims
import ResumeCore
import SystemPackage

extension SystemError {
    /// swift-system's Errno as our error, naming the call and the path.
    init(_ call: String, path: String?, _ errno: Errno) {
        self.init(call, path: path, errno: errno.rawValue)
    }
}

/// A regular file or block device opened for image I/O through
/// swift-system's FileDescriptor (open(2), pread(2), pwrite(2), close(2),
/// retried on EINTR there), plus the calls it does not wrap: fstat(2),
/// ioctl(BLKGETSIZE64), fsync(2), posix_fadvise(2).
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
            throw SystemError("open", path: path, error as? Errno ?? .ioError)
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

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws {
        var done = 0
        while done < buffer.count {
            let n: Int
            do {
                n = try descriptor.read(fromAbsoluteOffset: Int64(base + offset) + Int64(done),
                                        into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]))
            } catch {
                throw SystemError("read", path: path, error as? Errno ?? .ioError)
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
            let n: Int
            do {
                n = try descriptor.write(toAbsoluteOffset: Int64(base + offset) + Int64(done),
                                         UnsafeRawBufferPointer(rebasing: bytes[done...]))
            } catch {
                throw SystemError("write", path: path, error as? Errno ?? .ioError)
            }
            // A block device's end gives short writes, then 0: never spin.
            if n == 0 { throw SystemError("write", path: path, errno: ENOSPC) }
            done += n
        }
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
            throw SystemError("ftruncate", path: path, error as? Errno ?? .ioError)
        }
    }
}

/// A file read from start to end, as the image writer's input.
public struct FileInput: SequentialInput {
    public let file: DeviceFile
    var position: UInt64 = 0

    public init(path: String) throws(SystemError) { file = try DeviceFile(path: path) }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n: Int
        do { n = try file.descriptor.read(fromAbsoluteOffset: Int64(file.base + position), into: buffer) } catch {
            throw SystemError("read", path: file.path, error as? Errno ?? .ioError)
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
