#if canImport(Glibc)
import Glibc
#endif

/// The two loops every file job here needs, in one place each. Both go
/// through `retryingEINTR`, so EINTR is retried there and nowhere else.
enum IO {
    /// Writes all of `bytes` with `write` (a write(2) or pwrite(2) of the
    /// rest, given how much is done). Short writes go on; a write of 0
    /// bytes is ENOSPC (a block device's end), never a spin.
    static func writeAll(_ bytes: UnsafeRawBufferPointer, call: String = "write", path: String?,
                         _ write: (_ rest: UnsafeRawBufferPointer, _ done: Int) -> Int) throws(SystemError) {
        var done = 0
        while done < bytes.count {
            let n = try retryingEINTR(call, path: path) { write(UnsafeRawBufferPointer(rebasing: bytes[done...]), done) }
            if n == 0 { throw SystemError(call, path: path, errno: ENOSPC) }
            done += n
        }
    }

    /// Fills `buffer` with `read` (a read(2) or pread(2) of the rest, given
    /// how much is done) until it is full or the file ends. Returns how many
    /// bytes arrived: fewer than asked only at the end of the file.
    static func readFully(into buffer: UnsafeMutableRawBufferPointer, call: String = "read", path: String?,
                          _ read: (_ rest: UnsafeMutableRawBufferPointer, _ done: Int) -> Int) throws(SystemError) -> Int {
        var done = 0
        while done < buffer.count {
            let n = try retryingEINTR(call, path: path) { read(UnsafeMutableRawBufferPointer(rebasing: buffer[done...]), done) }
            if n == 0 { break }
            done += n
        }
        return done
    }
}
