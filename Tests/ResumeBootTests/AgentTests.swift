import XCTest
@testable import ResumeBoot
import ResumeTestSupport
import ResumeReports
import ResumeCore
import ResumeSystem

final class AgentTests: XCTestCase {
    func run(_ system: FakeSystem, cmdline: String, dryRun: Bool = false) -> Int32 {
        system.files["/proc/cmdline"] = cmdline
        var options = Agent.Options()
        options.dryRun = dryRun
        return Agent(system: system, options: options).run()
    }

    static func validImage(createdAt: UInt64 = 1_700_000_000) throws -> [UInt8] {
        try Images.kernel(createdAt: createdAt)
    }

    func testNoImageOnlinesEveryOfflineBlockAndContinues() {
        let system = FakeSystem()
        system.addDevice("vda", info: { var i = BlockDeviceInfo(); i.type = "ext4"; return i }())
        system.addDevice("vdb1")
        XCTAssertEqual(run(system, cmdline: "root=/dev/vda"), ExitStatus.continueBoot)
        XCTAssertEqual(system.writes.map(\.0), (4..<12).map { "/sys/devices/system/memory/memory\($0)/state" })
        XCTAssertTrue(system.writes.allSatisfy { $0.1 == "online" })
        XCTAssertTrue(system.memoryStates.allSatisfy { $0 == "online" })
        XCTAssertTrue(system.logs.contains("decision: boot normally: no resume image found on 2 block device(s)"), "\(system.logs)")
        XCTAssertTrue(system.logs.contains("memory: 8 blocks onlined, all 12 blocks online (1536 MiB)"), "\(system.logs)")
        XCTAssertTrue(system.logs.last!.hasPrefix("handover after 0 ms, peak memory 2184 KiB"))
        XCTAssertEqual(system.deviceWrites, [])
    }

    func testNoresumeDoesNotProbe() {
        let system = FakeSystem()
        system.addDevice("vdb1", image: (try? Self.validImage()) ?? [])
        XCTAssertEqual(run(system, cmdline: "noresume resume=/dev/vdb1"), ExitStatus.continueBoot)
        XCTAssertEqual(system.probes, [])
        XCTAssertTrue(system.logs.contains("noresume given: not probing"))
        XCTAssertTrue(system.logs.contains("decision: boot normally: noresume given"))
        XCTAssertTrue(system.memoryStates.allSatisfy { $0 == "online" })
    }

    func testMissingNamedDeviceIsWaitedForWithABound() {
        let system = FakeSystem()
        let start = system.now
        XCTAssertEqual(run(system, cmdline: "resume=PARTLABEL=nowhere resume_agent.wait=3"), ExitStatus.continueBoot)
        XCTAssertGreaterThanOrEqual(system.now - start, 3000)
        XCTAssertLessThanOrEqual(system.now - start, 3100)
        XCTAssertTrue(system.logs.contains("waiting up to 3 s for PARTLABEL=nowhere"))
        XCTAssertTrue(system.logs.contains("PARTLABEL=nowhere did not appear within 3 s"))
        XCTAssertTrue(system.logs.contains("decision: boot normally: PARTLABEL=nowhere did not appear within 3 s"))
        XCTAssertTrue(system.memoryStates.allSatisfy { $0 == "online" })
    }

    func testDefaultWaitIsThirtySecondsAndADeviceThatAppearsLateIsUsed() throws {
        let system = FakeSystem()
        var info = BlockDeviceInfo()
        info.partLabel = "fastresume"
        system.addDevice("vdb1", image: try Self.validImage(), info: info)
        system.appearsAt["/dev/vdb1"] = system.now + 2_500
        XCTAssertEqual(run(system, cmdline: "resume=PARTLABEL=fastresume"), ExitStatus.continueBoot)
        XCTAssertTrue(system.logs.contains("waiting up to 30 s for PARTLABEL=fastresume"), "\(system.logs)")
        XCTAssertTrue(system.logs.contains { $0.hasPrefix("found kernel image on /dev/vdb1") }, "\(system.logs)")
        XCTAssertLessThan(system.now, 1_000 + 3_000)
    }

    func testCorruptChunkIsRejectedWhileLoadingAndNothingIsLeftLoaded() throws {
        let system = FakeSystem()
        var bytes = try Self.validImage()
        bytes[4096 + 5] ^= 0xFF
        system.addDevice("vdb1", image: bytes)
        XCTAssertEqual(run(system, cmdline: ""), ExitStatus.continueBoot)
        XCTAssertTrue(system.logs.contains("rejected /dev/vdb1: chunk 0: stored checksum mismatch"), "\(system.logs)")
        XCTAssertTrue(system.logs.contains("decision: boot normally: no valid resume image (rejected /dev/vdb1: chunk 0: stored checksum mismatch)"), "\(system.logs)")
        XCTAssertEqual(system.events, ["unload"], "nothing loaded, nothing written, no jump")
        XCTAssertEqual(system.devices["/dev/vdb1"]!.bytes, bytes)
        XCTAssertTrue(system.memoryStates.allSatisfy { $0 == "online" })
    }

    func testCorruptImageIsRejectedWithItsReasonAndLeftUntouched() throws {
        let system = FakeSystem()
        var bytes = try Self.validImage()
        bytes[0x30] ^= 0x01  // chunk size: the header checksum catches it
        system.addDevice("vdb1", image: bytes)
        XCTAssertEqual(run(system, cmdline: ""), ExitStatus.continueBoot)
        XCTAssertTrue(system.logs.contains { $0.hasPrefix("rejected /dev/vdb1: header checksum mismatch") }, "\(system.logs)")
        XCTAssertTrue(system.logs.contains { $0.hasPrefix("decision: boot normally: no valid resume image (rejected /dev/vdb1") })
        XCTAssertEqual(system.devices["/dev/vdb1"]!.bytes, bytes)
        XCTAssertEqual(system.deviceWrites, [])
    }

    func testConsumedImageIsNeverResumed() throws {
        let system = FakeSystem()
        let image = MemoryImage(try Self.validImage())
        try markConsumed(image)
        system.addDevice("vdb1", image: image.bytes)
        _ = run(system, cmdline: "")
        XCTAssertTrue(system.logs.contains("rejected /dev/vdb1: image already consumed (one-shot image was used)"), "\(system.logs)")
    }

    func testScanPassesOverFilesystemsWithoutReadingThem() throws {
        let system = FakeSystem()
        var ext4 = BlockDeviceInfo()
        ext4.type = "ext4"
        system.addDevice("vda", image: try Self.validImage(), info: ext4)
        _ = run(system, cmdline: "")
        XCTAssertTrue(system.logs.contains("decision: boot normally: no resume image found on 1 block device(s)"), "\(system.logs)")
    }

    func testKernelImageWithoutKexecFileLoadBootsNormallyAndSaysWhy() throws {
        let system = FakeSystem()
        system.fileLoad = .notPermitted
        system.addDevice("vdb1", image: try Self.validImage())
        _ = run(system, cmdline: "")
        XCTAssertTrue(system.logs.contains("decision: boot normally: kernel image on /dev/vdb1 cannot be restored: kexec_file_load is not permitted on this kernel"), "\(system.logs)")
        XCTAssertTrue(system.memoryStates.allSatisfy { $0 == "online" })
        XCTAssertEqual(system.deviceWrites, [])
    }

    func testWatchdogIsArmedForWaitDelayAndRestoreThenDisarmed() {
        let system = FakeSystem()
        _ = run(system, cmdline: "resume=PARTLABEL=x resume_agent.wait=2 resumedelay=1")
        XCTAssertEqual(system.watchdog, [2 + 1 + 300, 0])
        let custom = FakeSystem()
        _ = run(custom, cmdline: "resume_agent.timeout=45")
        XCTAssertEqual(custom.watchdog, [45, 0])
    }

    func testDryRunChangesNothing() {
        let system = FakeSystem()
        system.addDevice("vdb1")
        XCTAssertEqual(run(system, cmdline: "", dryRun: true), ExitStatus.continueBoot)
        XCTAssertTrue(system.writes.isEmpty)
        XCTAssertTrue(system.logs.contains("dry run: would online 8 memory blocks (1024 MiB)"), "\(system.logs)")
    }

    func testOutsideAnInitramfsItRefusesAndChangesNothing() {
        let system = FakeSystem()
        system.initramfs = false
        XCTAssertEqual(run(system, cmdline: ""), ExitStatus.refused)
        XCTAssertTrue(system.writes.isEmpty)
        XCTAssertTrue(system.logs.first!.hasPrefix("refusing to run: / is not an initramfs"))
    }

    func testABlockThatRefusesToComeOnlineIsReportedAndTheRestAreOnlined() {
        let system = FakeSystem()
        system.refusingBlocks = [6]
        _ = run(system, cmdline: "")
        XCTAssertTrue(system.logs.contains { $0.hasPrefix("memory: could not online memory6: write /sys/devices/system/memory/memory6/state") }, "\(system.logs)")
        XCTAssertTrue(system.logs.contains("memory: 7 blocks onlined, 11 of 12 blocks online (1408 MiB)"), "\(system.logs)")
    }

    func testProbeReportsWithoutWritingOrWaiting() throws {
        let system = FakeSystem()
        var info = BlockDeviceInfo()
        info.partLabel = "fastresume"
        system.addDevice("vdb1", image: try Self.validImage(), info: info)
        let report = Probe(system: system, cmdline: "resume=PARTLABEL=missing").run()
        XCTAssertEqual(report.decision, .bootNormally(BootReason(.deviceMissing, "PARTLABEL=missing did not appear within 0 s")))
        XCTAssertTrue(system.writes.isEmpty)
        XCTAssertEqual(system.now, 1_000)
        let text = report.text()
        XCTAssertTrue(text.contains("/dev/vdb1: PARTLABEL=fastresume"), text)
        XCTAssertTrue(text.contains("memory4-11: offline"), text)
        XCTAssertTrue(report.json().contains("\"partlabel\": \"fastresume\""))
    }
}
