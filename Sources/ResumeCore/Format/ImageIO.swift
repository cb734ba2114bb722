/// The byte stores the format reads from and writes to. The core does no
/// I/O of its own: ResumeSystem implements these over file descriptors,
/// the tests over memory.
public protocol ImageSource {
    /// Bytes available (a file's size, a block device's size).
    var byteCount: UInt64 { get }
    /// Fills `buffer` entirely from `offset`, or throws.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws
    /// A hint that [offset, offset+count) is read next (readahead); optional.
    func prefetch(at offset: UInt64, count: UInt64)
}

extension ImageSource {
    public func prefetch(at offset: UInt64, count: UInt64) {}
}

public protocol ImageSink {
    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws
    /// Makes everything written so far durable (fsync).
    func sync() throws
}

/// A sequential input for the writer: returns 0 at the end.
public protocol SequentialInput {
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// An image held in memory: tests, the fuzzer, small tools.
public final class MemoryImage: ImageSource, ImageSink {
    public var bytes: [UInt8]
    public private(set) var syncCount = 0
    public init(_ bytes: [UInt8] = []) { self.bytes = bytes }

    public var byteCount: UInt64 { UInt64(bytes.count) }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws {
        guard offset <= UInt64(bytes.count), UInt64(buffer.count) <= UInt64(bytes.count) - offset else {
            throw FormatError.truncated(what: "read at \(offset)", needed: offset + UInt64(buffer.count),
                                        available: UInt64(bytes.count))
        }
        bytes.withUnsafeBytes { all in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: all[Int(offset)..<(Int(offset) + buffer.count)]))
        }
    }

    public func write(_ data: UnsafeRawBufferPointer, at offset: UInt64) throws {
        let end = Int(offset) + data.count
        if bytes.count < end { bytes += [UInt8](repeating: 0, count: end - bytes.count) }
        bytes.withUnsafeMutableBytes { all in
            UnsafeMutableRawBufferPointer(rebasing: all[Int(offset)..<end]).copyMemory(from: data)
        }
    }

    public func sync() throws { syncCount += 1 }
}

/// A byte array as writer input.
public struct BytesInput: SequentialInput {
    let bytes: [UInt8]
    var position = 0
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, bytes.count - position)
        bytes.withUnsafeBytes { all in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: all[position..<(position + n)]))
        }
        position += n
        return n
    }
}
