#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemPackage

/// A failed system call: which call, on what, and errno. Environment errors
/// (ENOENT, EACCES, EIO...) are values callers handle; programmer errors
/// (EBADF, EFAULT) mean a bug and are reported the same way, loudly.
public struct SystemError: Error, Equatable, CustomStringConvertible, Sendable {
    public var call: String
    public var path: String?
    public var errno: Int32

    public init(_ call: String, path: String? = nil, errno: Int32) {
        self.call = call
        self.path = path
        self.errno = errno
    }

    public var description: String {
        let what = path.map { "\(call) \($0)" } ?? call
        return "\(what): \(String(cString: strerror(errno)))"
    }
}

extension SystemError {
    /// Any error from a call as a SystemError: ours as they are, swift-system's
    /// `Errno` with its code, anything else as EIO. The one errno mapping.
    public init(_ call: String, path: String?, _ error: any Error) {
        switch error {
        case let error as SystemError: self = error
        case let error as Errno: self.init(call, path: path, errno: error.rawValue)
        default: self.init(call, path: path, errno: EIO)
        }
    }
}

/// Runs a system call, retrying on EINTR (the one place that does), and
/// turns -1 into a `SystemError` carrying errno.
@inline(__always)
func retryingEINTR<T: BinaryInteger>(_ call: String, path: String? = nil, _ body: () -> T) throws(SystemError) -> T {
    while true {
        let r = body()
        if r != -1 { return r }
        let e = Glibc.errno
        if e == EINTR { continue }
        throw SystemError(call, path: path, errno: e)
    }
}
