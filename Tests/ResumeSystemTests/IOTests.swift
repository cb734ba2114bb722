import XCTest
@testable import ResumeSystem
#if canImport(Glibc)
import Glibc
#endif

/// The syscall layer's loops, played with scripted results: short
/// transfers, EINTR, the end of a file, a write of 0 bytes.
final class IOTests: XCTestCase {
    func testWriteAllGoesOnAfterShortWritesAndRetriesEINTR() throws {
        let bytes: [UInt8] = Array(0..<100)
        var written: [UInt8] = []
        var script: [Int] = [30, -1, 50, 20]  // -1: interrupted
        try bytes.withUnsafeBytes { raw in
            try IO.writeAll(raw, path: "/dev/test") { rest, done in
                let n = script.removeFirst()
                if n == -1 { errno = EINTR; return -1 }
                XCTAssertEqual(done, written.count)
                written += rest.prefix(n)
                return n
            }
        }
        XCTAssertEqual(written, bytes)
        XCTAssertTrue(script.isEmpty)
    }

    func testWriteAllNeverSpinsOnAZeroWrite() {
        let bytes = [UInt8](repeating: 1, count: 10)
        var calls = 0
        XCTAssertThrowsError(try bytes.withUnsafeBytes { raw in
            try IO.writeAll(raw, path: "/dev/full-disk") { _, _ in calls += 1; return calls == 1 ? 4 : 0 }
        }) { error in
            XCTAssertEqual((error as? SystemError)?.errno, ENOSPC)
        }
        XCTAssertEqual(calls, 2)
    }

    func testWriteAllReportsTheCallsErrno() {
        let bytes = [UInt8](repeating: 1, count: 10)
        XCTAssertThrowsError(try bytes.withUnsafeBytes { raw in
            try IO.writeAll(raw, path: "/dev/vdb1") { _, _ in errno = EROFS; return -1 }
        }) { error in
            XCTAssertEqual(error as? SystemError, SystemError("write", path: "/dev/vdb1", errno: EROFS))
        }
    }

    func testReadFullyStopsAtTheEndAndSaysHowMuchArrived() throws {
        var buffer = [UInt8](repeating: 0, count: 64)
        var script: [Int] = [10, -1, 20, 0]
        let n = try buffer.withUnsafeMutableBytes { raw in
            try IO.readFully(into: raw, path: "/proc/test") { rest, _ in
                let n = script.removeFirst()
                if n == -1 { errno = EINTR; return -1 }
                for i in 0..<n { rest[i] = 7 }
                return n
            }
        }
        XCTAssertEqual(n, 30)
        XCTAssertEqual(buffer.prefix(30), ArraySlice(repeating: 7, count: 30))
    }

    func testSystemErrorFromAnyErrorIsTheOneMapping() {
        XCTAssertEqual(SystemError("open", path: "/x", SystemError("open", path: "/x", errno: EACCES)).errno, EACCES)
        struct Other: Error {}
        XCTAssertEqual(SystemError("open", path: "/x", Other()).errno, EIO)
    }

    /// The kernel rate-limits each /dev/kmsg open to 10 lines per 5 s, so the
    /// log opens it afresh every few lines; every line must arrive, as one
    /// record each, with control characters from image text escaped.
    func testKernelLogReopensKmsgAndKeepsEveryLine() throws {
        let path = "/tmp/resume-kmsg-test-\(getpid())"
        unlink(path)
        close(open(path, O_CREAT | O_WRONLY, 0o600))
        defer { unlink(path) }
        let log = KernelLog(prefix: "t: ", useKmsg: true, kmsgPath: path, printkPath: "/nonexistent")
        for i in 0..<20 { log.write("line \(i)") }
        log.write("forged\nresume-agent: decision: resume\u{1b}[2J")
        XCTAssertEqual(log.reopens, 20 / KernelLog.linesPerOpen)
        let text = String(decoding: try LiveSystem.readSmallFile(path), as: UTF8.self)
        let records = text.components(separatedBy: "<14>").dropFirst()
        XCTAssertEqual(records.count, 21)
        XCTAssertEqual(Array(records.prefix(20)), (0..<20).map { "t: line \($0)" })
        XCTAssertEqual(records.last, "t: forged\\x0aresume-agent: decision: resume\\x1b[2J")
    }
}
