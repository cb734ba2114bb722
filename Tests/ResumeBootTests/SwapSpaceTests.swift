import XCTest
@testable import ResumeBoot
import ResumeTestSupport
import ResumeCore
import ResumeSystem

/// A swap partition as the target of a kexec-jump hibernation: set aside
/// (its signature FASTRESUME), the image after its header, swap again
/// after a normal boot, its UUID and label kept.
extension KexecJumpTests {
    /// A swap header (version 1, a UUID, a label) with `signature`.
    static func swapDisk(signature: [UInt8] = SwapSpace.setAsideSignature, bytes: Int = 8 << 20) -> [UInt8] {
        var disk = [UInt8](repeating: 0, count: bytes)
        disk[0x400] = 1
        for i in 0..<16 { disk[0x40c + i] = UInt8(0xA0 + i) }
        disk.replaceSubrange(0x41c..<0x424, with: Array("swapdisk".utf8))
        disk.replaceSubrange(4086..<4096, with: signature)
        return disk
    }

    func testTheFirstPageSaysWhatTheDeviceIs() {
        XCTAssertEqual(SwapSpace.state(firstPage: Self.swapDisk(signature: SwapSpace.swapSignature, bytes: 4096)), .swap)
        XCTAssertEqual(SwapSpace.state(firstPage: Self.swapDisk(bytes: 4096)), .setAside)
        XCTAssertEqual(SwapSpace.state(firstPage: [UInt8](repeating: 0, count: 4096)), .other)
        XCTAssertEqual(SwapSpace.state(firstPage: [1, 2, 3]), .other)
    }

    func savedIntoSwap() throws -> [UInt8] {
        let b = hibernateKernel()
        b.devices["/dev/vdb"] = MemoryImage(Self.swapDisk())
        _ = runAgent(b)
        let disk = b.devices["/dev/vdb"]!.bytes
        XCTAssertEqual(Array(disk[0..<4096]), Array(Self.swapDisk()[0..<4096]), "the swap header is left as it was")
        return disk
    }

    func testHibernateKernelWritesTheImageAfterTheSwapHeader() throws {
        let disk = try savedIntoSwap()
        let reader = try ImageReader(source: MemoryImage(Array(disk[4096...])))
        try reader.verifyContents()
        XCTAssertEqual(reader.header.kind, .memory)
    }

    func testBootKernelRestoresFromTheSwapPartitionResumeNames() throws {
        let c = bootKernel(image: try savedIntoSwap())
        _ = runAgent(c)
        XCTAssertTrue(c.events.contains("jump"), "\(c.logs)")
        XCTAssertTrue(c.events.contains("write /dev/vdb at \(4096 + 16)"), "the consumed mark is at the image's header: \(c.events)")
    }

    func testANormalBootGivesTheSwapBackWithItsUUIDAndLabel() throws {
        let c = bootKernel(image: try savedIntoSwap(), memoryTop: 128 << 20)
        _ = runAgent(c)
        XCTAssertFalse(c.events.contains("jump"))
        XCTAssertTrue(c.logs.contains { $0.hasPrefix("decision: boot normally") && $0.contains("another firmware memory map") }, "\(c.logs)")
        let page = Array(c.devices["/dev/vdb"]!.bytes[0..<4096])
        XCTAssertEqual(page, Array(Self.swapDisk(signature: SwapSpace.swapSignature)[0..<4096]), "SWAPSPACE2 again, nothing else changed")
        XCTAssertTrue(c.logs.contains { $0.contains("/dev/vdb is swap again") }, "\(c.logs)")
    }

    func testScanningNeverFindsAnImageInSwapNorGivesItBack() throws {
        let c = bootKernel(image: try savedIntoSwap())
        c.files["/proc/cmdline"] = "console=ttyS0"
        _ = runAgent(c)
        XCTAssertFalse(c.events.contains("jump"))
        XCTAssertEqual(SwapSpace.state(firstPage: Array(c.devices["/dev/vdb"]!.bytes[0..<4096])), .setAside)
    }
}
