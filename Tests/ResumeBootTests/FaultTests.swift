import XCTest
@testable import ResumeBoot
import ResumeCore
import ResumeSystem
import ResumeTestSupport

/// "Never resume an image twice" under faults: on every restore path, a
/// consumed mark that cannot be written or synced, or a kernel that holds
/// nothing after the load, means no irreversible step (Commit.swift).
final class FaultTests: XCTestCase {
    static let irreversible: Set<String> = ["jump", "atomic restore"]

    func boot(_ system: FakeSystem, _ cmdline: String = "") {
        system.files["/proc/cmdline"] = cmdline
        system.files["/proc/meminfo"] = "MemTotal:        1500000 kB\n"
        XCTAssertEqual(Agent(system: system, options: Agent.Options()).run(), ExitStatus.continueBoot)
    }

    func images() throws -> [(String, [UInt8])] {
        [("kernel", try Images.kernel()), ("segments", try Images.segments()), ("snapshot", try Images.snapshot())]
    }

    func testAConsumedMarkThatCannotBeWrittenOrSyncedStopsEveryPath() throws {
        for (kind, image) in try images() {
            for call in ["open-rw /dev/vdb1", "write /dev/vdb1", "sync /dev/vdb1"] {
                let system = FakeSystem()
                system.addDevice("vdb1", image: image)
                system.failing[call] = 5  // EIO
                boot(system)
                let context = "\(kind) image, \(call) failing: \(system.events) \(system.logs)"
                XCTAssertTrue(system.events.filter(Self.irreversible.contains).isEmpty, context)
                XCTAssertTrue(system.logs.contains { $0.hasPrefix("decision: boot normally: resume from /dev/vdb1 failed: cannot mark the image on /dev/vdb1 consumed") }, context)
                // Rolled back: nothing left loaded or frozen, memory online.
                if kind == "snapshot" {
                    XCTAssertEqual(system.events.suffix(2), ["free", "unfreeze"], context)
                } else {
                    XCTAssertEqual(system.events.last, "unload", context)
                }
                XCTAssertTrue(system.memoryStates.allSatisfy { $0 == "online" }, context)
            }
        }
    }

    func testNothingLoadedMeansNoMarkAndNoJump() throws {
        for (kind, image) in try images() where kind != "snapshot" {
            let system = FakeSystem()
            system.addDevice("vdb1", image: image)
            system.failing["read /sys/kernel/kexec_loaded"] = 2
            boot(system)
            XCTAssertFalse(system.events.contains { Self.irreversible.contains($0) || $0.hasPrefix("write /dev/vdb1") }, "\(system.events)")
            XCTAssertTrue(system.logs.contains { $0.contains("the kernel reports no kexec image loaded") }, "\(system.logs)")
        }
    }

    func testASnapshotThatCannotBeFrozenIsFreedAndNotMarked() throws {
        let system = FakeSystem()
        system.addDevice("vdb1", image: try Images.snapshot())
        system.failing["freeze"] = 16
        boot(system)
        XCTAssertEqual(system.events, ["open /dev/snapshot (online blocks: 12)", "failed freeze", "free"])
        XCTAssertTrue(system.deviceWrites.isEmpty)
    }

    func testEveryFailingCallBeforeTheMarkLeavesTheImageValid() throws {
        // Each call on the way, failed in turn: the image is never marked,
        // nothing irreversible happens, and the boot goes on.
        let calls = ["memfd_create", "kexec_file_load", "kexec_load", "open /dev/snapshot", "write /dev/snapshot", "freeze", "read /proc/meminfo"]
        for (kind, image) in try images() {
            for call in calls {
                let system = FakeSystem()
                system.addDevice("vdb1", image: image)
                system.failing[call] = 5
                boot(system)
                // Failed before the mark (the memory line's MemTotal is read after it, too).
                let beforeMark = system.events.prefix { !$0.hasPrefix("write /dev/vdb1") && !Self.irreversible.contains($0) }
                XCTAssertTrue(system.events.filter(Self.irreversible.contains).isEmpty || !beforeMark.contains("failed \(call)"),
                              "\(kind), \(call): \(system.events)")
                if beforeMark.contains("failed \(call)") {
                    XCTAssertTrue(system.deviceWrites.isEmpty, "\(kind), \(call): \(system.events)")
                    XCTAssertEqual(try ImageReader(source: system.devices["/dev/vdb1"]!).header.state, .valid)
                }
            }
        }
    }

    func testTheWatchdogGrowsWithTheChosenImage() throws {
        let system = FakeSystem()
        system.addDevice("vdb1", image: try Images.kernel())
        boot(system, "resume_agent.timeout=10")
        XCTAssertEqual(system.watchdog.first, 10)
        XCTAssertEqual(system.watchdog.dropFirst().first, 11, "\(system.watchdog)")  // + 1 s for a tiny image
        XCTAssertEqual(system.watchdog.last, 0)
        XCTAssertEqual(AgentSettings(KernelCommandLine("resume_agent.timeout=10")).watchdogSeconds(restoring: 400 << 20), 10 + 101)
    }
}

/// Who may put an image in front of the agent, and failing closed.
final class TrustTests: XCTestCase {
    func boot(_ system: FakeSystem, _ cmdline: String?) {
        if let cmdline { system.files["/proc/cmdline"] = cmdline } else { system.files["/proc/cmdline"] = nil }
        _ = Agent(system: system, options: Agent.Options()).run()
    }

    /// A USB stick holding a valid kernel image: the scan never reads it.
    func usbStick(_ system: FakeSystem) throws {
        system.addDevice("sda", image: try Images.kernel())
        system.links["/sys/class/block/sda"] = "/sys/devices/pci0000:00/0000:00:04.0/usb2/2-1/2-1:1.0/host2/target2:0:0/2:0:0:0/block/sda"
    }

    func testScanningPassesOverUSBAndRemovableDevicesUnread() throws {
        let system = FakeSystem()
        try usbStick(system)
        system.addDevice("sdb", image: try Images.kernel())
        system.files["/sys/class/block/sdb/removable"] = "1\n"
        system.addDevice("mmcblk0p1", image: try Images.kernel())
        system.files["/sys/class/block/mmcblk0p1/partition"] = "1\n"
        system.links["/sys/class/block/mmcblk0p1"] = "/sys/devices/platform/sdhci/mmc_host/mmc0/mmc0:0001/block/mmcblk0/mmcblk0p1"
        boot(system, "root=/dev/vda")
        XCTAssertTrue(system.events.isEmpty, "\(system.events)")
        XCTAssertTrue(system.probes.isEmpty, "a passed-over device was probed: \(system.probes)")
        XCTAssertTrue(system.logs.contains("passed over /dev/sda: on the USB bus: not scanned (name it with resume= to use it)"), "\(system.logs)")
        XCTAssertTrue(system.logs.contains("passed over /dev/sdb: removable media: not scanned (name it with resume= to use it)"), "\(system.logs)")
        XCTAssertTrue(system.logs.contains { $0.hasPrefix("passed over /dev/mmcblk0p1: an MMC/SD/SDIO device") }, "\(system.logs)")
        XCTAssertTrue(system.logs.contains("decision: boot normally: no resume image found on 0 block device(s) (3 removable or USB device(s) passed over: name one with resume= to use it)"), "\(system.logs)")
    }

    func testAUSBDeviceNamedByResumeIsHonoured() throws {
        let system = FakeSystem()
        try usbStick(system)
        boot(system, "resume=/dev/sda")
        XCTAssertTrue(system.logs.contains("decision: resume kernel image on /dev/sda"), "\(system.logs)")
    }

    func testAnUnreadableCommandLineMeansNoResume() throws {
        let system = FakeSystem()
        system.addDevice("vdb1", image: try Images.kernel())
        system.failing["read /proc/cmdline"] = 13
        boot(system, "")
        XCTAssertEqual(system.events, ["failed read /proc/cmdline"])
        XCTAssertTrue(system.probes.isEmpty)
        XCTAssertTrue(system.logs.contains { $0.hasPrefix("cannot read /proc/cmdline") }, "\(system.logs)")
        XCTAssertTrue(system.logs.contains("decision: boot normally: cannot read the kernel command line, so noresume may be lost: not resuming"), "\(system.logs)")
        XCTAssertTrue(system.memoryStates.allSatisfy { $0 == "online" })
    }

    func testResumeNoneMeansNoResumeAndAnOffsetWithoutADeviceIsWarnedAbout() throws {
        let system = FakeSystem()
        system.addDevice("vdb1", image: try Images.kernel())
        boot(system, "resume=none")
        XCTAssertTrue(system.events.isEmpty)
        XCTAssertTrue(system.logs.contains("decision: boot normally: resume=none given"), "\(system.logs)")

        let other = FakeSystem()
        boot(other, "resume_offset=256")
        XCTAssertTrue(other.logs.contains { $0.hasPrefix("warning: resume_offset=256 without resume=: ignored") }, "\(other.logs)")
    }

    /// Text read from a device is data (the format now refuses control
    /// characters in an image's own strings; a device's label is another way in).
    func testDeviceTextCannotForgeLogLines() throws {
        let system = FakeSystem()
        var info = BlockDeviceInfo()
        info.type = "ext4\ndecision: resume"
        system.addDevice("vdb1", image: try Images.kernel(), info: info)
        boot(system, "resume=/dev/vdb1")
        XCTAssertTrue(system.logs.contains("rejected /dev/vdb1: image magic, but libblkid also sees TYPE=ext4\\x0adecision: resume there"), "\(system.logs)")
    }
}

/// Signed images: with keys in the initramfs, only images they vouch for.
final class SignedImageTests: XCTestCase {
    func system(image: [UInt8], trusted: [SigningKey]) throws -> FakeSystem {
        let system = FakeSystem()
        system.addDevice("vdb1", image: image)
        for (i, key) in trusted.enumerated() { system.files["/etc/fastresume/keys/k\(i).pub"] = key.publicKey.fileText }
        system.files["/proc/cmdline"] = "resume=/dev/vdb1"
        return system
    }

    func testAnImageSignedByATrustedKeyIsRestored() throws {
        let key = try Images.key(1)
        let system = try system(image: try Images.kernel(signer: key), trusted: [key])
        _ = Agent(system: system, options: Agent.Options()).run()
        XCTAssertTrue(system.logs.contains("decision: resume kernel image on /dev/vdb1"), "\(system.logs)")
        XCTAssertTrue(system.events.contains("jump"))
    }

    func testUnsignedAndForeignImagesAreRefusedBeforeAnythingIsLoaded() throws {
        let key = try Images.key(1), other = try Images.key(2)
        for (image, why) in [(try Images.kernel(), "image is not signed, and only signed images are trusted"),
                             (try Images.kernel(signer: other), "image is signed by key \(other.publicKey.keyID), which is not trusted")] {
            let system = try system(image: image, trusted: [key])
            _ = Agent(system: system, options: Agent.Options()).run()
            XCTAssertTrue(system.events.isEmpty, "\(system.events)")
            XCTAssertTrue(system.logs.contains("rejected /dev/vdb1: \(why)"), "\(system.logs)")
            XCTAssertTrue(system.logs.contains("decision: boot normally: no valid resume image (rejected /dev/vdb1: \(why))"), "\(system.logs)")
            XCTAssertTrue(system.memoryStates.allSatisfy { $0 == "online" })
        }
    }

    func testAnUnreadableKeyFileStillMeansOnlySignedImages() throws {
        let system = try system(image: try Images.kernel(), trusted: [])
        system.files["/etc/fastresume/keys/broken.pub"] = "not a key\n"
        _ = Agent(system: system, options: Agent.Options()).run()
        XCTAssertTrue(system.events.isEmpty, "\(system.events)")
        XCTAssertTrue(system.logs.contains { $0.hasPrefix("warning: trusted key /etc/fastresume/keys/broken.pub: ") }, "\(system.logs)")
    }
}
