import XCTest
import Foundation
@testable import ResumeHost
import ResumeCore

/// The saved hibernate kernel's file: the one predicate, the meaning of
/// each header field, and each reason a file is not resumed.
final class SavedHibernateKernelFileTests: XCTestCase {
    let window = PhysicalRange(start: 0x4000_0000, size: 96 << 20)
    let identity: [UInt8] = (0..<32).map { UInt8($0) }

    func written(_ file: SavedHibernateKernelFile, entries: Int = 1) throws -> ImageHeader {
        let sink = MemoryImage()
        var writer = ImageWriter(sink: sink, header: file.header(createdAt: 1), pool: WorkerPool(threads: 1))
        for k in 0..<entries {
            var input = BytesInput([UInt8](repeating: 7, count: 8192))
            try writer.append(.segment, from: &input, physicalAddress: file.window.start + UInt64(k) * 8192, memorySize: 8192)
        }
        try writer.finish()
        return try ImageReader(source: MemoryImage(sink.bytes)).header
    }

    func saved(reentry: UInt64 = 0x4000_1000) -> SavedHibernateKernelFile {
        SavedHibernateKernelFile(window: PhysicalRange(start: window.start, size: 8192), reentry: reentry, identity: identity,
                                 firmwareMapHash: 0x1234, release: "6.12.118")
    }

    func testTheHeaderReadsBackAsTheSameFile() throws {
        let h = try written(saved())
        XCTAssertTrue(SavedHibernateKernelFile.isSavedHibernateKernel(h))
        XCTAssertEqual(try SavedHibernateKernelFile(h), saved())
        XCTAssertEqual(h.formatMinor, 2)
    }

    func testASegmentsImageToBootIsNotOne() throws {
        var h = try written(saved())
        h.kernelBuildID = []
        XCTAssertFalse(SavedHibernateKernelFile.isSavedHibernateKernel(h))
        XCTAssertThrowsError(try SavedHibernateKernelFile(h)) { XCTAssertTrue("\($0)".contains("not a saved hibernate kernel"), "\($0)") }
    }

    func testTwoSegmentsOrAnEntryOutsideTheWindowAreRefused() throws {
        XCTAssertThrowsError(try SavedHibernateKernelFile(try written(saved(), entries: 2))) { XCTAssertTrue("\($0)".contains("2 entries"), "\($0)") }
        var h = try written(saved())
        h.entryAddress = 0x4000_2000
        XCTAssertThrowsError(try SavedHibernateKernelFile(h)) {
            XCTAssertTrue("\($0)".contains("outside B's window"), "\($0)")
        }
    }

    func testEachMismatchHasItsReason() {
        let file = saved()
        let expected = SavedHibernateKernelFile.Expected(window: file.window, identity: identity, firmwareMapHash: 0x1234)
        XCTAssertNil(file.mismatch(expected))
        var other = expected
        other.window.start += 1 << 21
        XCTAssertTrue(file.mismatch(other)!.contains("not in this window"))
        other = expected
        other.identity[0] ^= 1
        XCTAssertTrue(file.mismatch(other)!.contains("another kernel, initrd or window"))
        other = expected
        other.firmwareMapHash = 1
        XCTAssertTrue(file.mismatch(other)!.contains("another firmware memory map"))
    }

    func testASignedFileLoadsOnlyWithItsKey() throws {
        let key = try SigningKey(seed: [UInt8](repeating: 0x11, count: 32))
        let other = try SigningKey(seed: [UInt8](repeating: 0x22, count: 32))
        let path = NSTemporaryDirectory() + "kept-b-\(getpid()).img"
        defer { unlink(path) }
        let window = PhysicalRange(start: 0x4000_0000, size: 16384)
        let expected = SavedHibernateKernelFile.Expected(window: window, identity: identity, firmwareMapHash: 0x1234)
        let content = [UInt8](repeating: 5, count: 16384)
        try content.withUnsafeBytes {
            try KeptHibernateKernel.save($0, bReentry: 0x4000_10f2, release: "6.12.118", expected: expected, signer: key, to: path)
        }
        XCTAssertEqual(try KeptHibernateKernel.load(from: path, expected: expected, signedBy: key.publicKey).bReentry, 0x4000_10f2)
        XCTAssertThrowsError(try KeptHibernateKernel.load(from: path, expected: expected, signedBy: other.publicKey)) {
            XCTAssertTrue("\($0)".contains("not trusted"), "\($0)")
        }
        try content.withUnsafeBytes {
            try KeptHibernateKernel.save($0, bReentry: 0x4000_10f2, release: "6.12.118", expected: expected, to: path)
        }
        XCTAssertThrowsError(try KeptHibernateKernel.load(from: path, expected: expected, signedBy: key.publicKey)) {
            XCTAssertTrue("\($0)".contains("not signed"), "\($0)")
        }
    }
}
