import XCTest
@testable import ResumeBoot
import ResumeTestSupport
import ResumeCore
import ResumeSystem

final class SnapshotRestoreTests: XCTestCase {
    let stream = Images.stream

    func snapshotImage(release: String = "6.1.0-test-amd64", onlineBlocks: Int = 12) throws -> [UInt8] {
        try Images.snapshot(release: release, onlineBlocks: onlineBlocks)
    }

    func boot(_ system: FakeSystem, _ cmdline: String = "") {
        system.files["/proc/cmdline"] = cmdline
        _ = Agent(system: system, options: Agent.Options()).run()
    }

    func testSnapshotIsFedAfterMemoryIsOnlineThenFrozenMarkedAndRestored() throws {
        let system = FakeSystem()
        system.addDevice("vdb1", image: try snapshotImage())
        boot(system)
        XCTAssertTrue(system.snapshot.received == stream, "the stream fed to /dev/snapshot differs (\(system.snapshot.received.count) bytes)")
        XCTAssertEqual(system.events, ["open /dev/snapshot (online blocks: 12)", "freeze", "write /dev/vdb1 at 16", "sync /dev/vdb1",
                                       "atomic restore", "free", "unfreeze"])
        XCTAssertTrue(system.logs.contains("decision: resume snapshot image on /dev/vdb1"), "\(system.logs)")
        XCTAssertTrue(system.logs.contains { $0.hasPrefix("Read 48 kbytes in ") }, "\(system.logs)")
        XCTAssertTrue(system.logs.contains("restoring the snapshot (SNAPSHOT_ATOMIC_RESTORE); this does not return"))
        XCTAssertEqual(try ImageReader(source: system.devices["/dev/vdb1"]!).header.state, .consumed)
    }

    func testAnotherKernelsSnapshotIsRefusedUntouched() throws {
        let system = FakeSystem()
        system.addDevice("vdb1", image: try snapshotImage(release: "6.12.0-other"))
        boot(system)
        XCTAssertTrue(system.events.isEmpty, "\(system.events)")
        XCTAssertTrue(system.logs.contains("decision: boot normally: resume from /dev/vdb1 failed: the snapshot was made by kernel 6.12.0-other, this is 6.1.0-test-amd64"), "\(system.logs)")
        XCTAssertTrue(system.memoryStates.allSatisfy { $0 == "online" })
    }

    func testSnapshotForAnotherMemorySizeIsRefused() throws {
        let system = FakeSystem()
        system.addDevice("vdb1", image: try snapshotImage(onlineBlocks: 4))
        boot(system)
        XCTAssertFalse(system.events.contains("freeze"))
        XCTAssertTrue(system.logs.contains { $0.contains("the snapshot needs 512 MiB online in blocks of 128 MiB; this machine has 1536 MiB") }, "\(system.logs)")
    }

    func testKernelRefusingTheHeaderFreesAndBootsNormally() throws {
        let system = FakeSystem()
        system.snapshot.headerErrno = KexecPolicy.Errno.EPERM
        system.addDevice("vdb1", image: try snapshotImage())
        boot(system)
        XCTAssertEqual(system.events, ["open /dev/snapshot (online blocks: 12)", "free"])
        XCTAssertTrue(system.logs.contains { $0.contains("the kernel refused the snapshot's header (EPERM)") }, "\(system.logs)")
        XCTAssertEqual(try ImageReader(source: system.devices["/dev/vdb1"]!).header.state, .valid)
    }

    func testCorruptChunkStopsTheFeedBeforeAnythingIrreversible() throws {
        let system = FakeSystem()
        var bytes = try snapshotImage()
        bytes[4096 + 5000] ^= 0x40
        system.addDevice("vdb1", image: bytes)
        boot(system)
        XCTAssertFalse(system.events.contains("freeze"))
        XCTAssertTrue(system.events.contains("free"))
        XCTAssertTrue(system.logs.contains { $0.hasPrefix("rejected /dev/vdb1: chunk ") }, "\(system.logs)")
        XCTAssertTrue(system.devices["/dev/vdb1"]!.bytes == bytes, "the image was written")
    }

    func testKernelHibernationImageOnTheNamedDeviceIsHandedToTheKernel() throws {
        let system = FakeSystem()
        var info = BlockDeviceInfo()
        info.type = "swsuspend"
        system.addDevice("vdb1", info: info)
        system.files["/sys/class/block/vdb1/dev"] = "254:17\n"
        boot(system, "resume=/dev/vdb1")
        XCTAssertTrue(system.logs.contains("decision: resume the kernel's hibernation image on /dev/vdb1"), "\(system.logs)")
        let writes = system.writes.map(\.0)
        let resumeWrite = try XCTUnwrap(writes.firstIndex(of: "/sys/power/resume"))
        XCTAssertEqual(system.writes[resumeWrite].1, "254:17")
        XCTAssertTrue(writes[..<resumeWrite].filter { $0.hasSuffix("/state") }.count == 8, "memory first: \(writes)")
    }

    /// resume=/dev/mapper/NAME (a node dmsetup made, no sysfs name of its
    /// own) and a /dev/VG/LV link: the kernel gets the node's number.
    func testKernelHibernationImageOnADeviceMapperNameGetsItsNodesNumber() throws {
        for (resume, node) in [("/dev/mapper/vg-swap", "/dev/mapper/vg-swap"), ("/dev/vg/swap", "/dev/mapper/vg-swap")] {
            let system = FakeSystem()
            var info = BlockDeviceInfo()
            info.type = "swsuspend"
            system.devices[node] = MemoryImage([UInt8](repeating: 0, count: 8192))
            system.blkid[node] = info
            system.blkid[resume] = info
            system.blockNumbers[node] = "253:3"
            if resume != node {
                system.links[resume] = node
                system.devices[resume] = system.devices[node]
            }
            boot(system, "resume=\(resume)")
            XCTAssertTrue(system.writes.contains { $0 == ("/sys/power/resume", "253:3") }, "\(resume): \(system.writes) \(system.logs)")
        }
    }

    func testKernelHibernationImageFoundByScanningIsLeftAlone() throws {
        let system = FakeSystem()
        var info = BlockDeviceInfo()
        info.type = "swsuspend"
        system.addDevice("vdb1", info: info)
        boot(system)
        XCTAssertFalse(system.writes.contains { $0.0 == "/sys/power/resume" })
        XCTAssertTrue(system.logs.contains("found the kernel's own hibernation image (TYPE=swsuspend) on /dev/vdb1"), "\(system.logs)")
    }
}
