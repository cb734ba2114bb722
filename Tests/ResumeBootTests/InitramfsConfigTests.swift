import XCTest
@testable import ResumeBoot
import ResumeCore
import ResumeSystem
import ResumeTestSupport

/// RESUME= from initramfs-tools' configuration, and the run before local-top.
final class InitramfsConfigTests: XCTestCase {
    func testTheLastAssignmentWinsAndOnlyPlainValuesCount() {
        XCTAssertEqual(InitramfsConfig.resume(fromFiles: ["RESUME=none\n", "# set by the installer\nRESUME=UUID=1234-abcd\n"]), "UUID=1234-abcd")
        XCTAssertEqual(InitramfsConfig.resume(fromFiles: ["export RESUME=\"PARTLABEL=fast resume\"  # quoted\n"]), "PARTLABEL=fast resume")
        XCTAssertEqual(InitramfsConfig.resume(fromFiles: ["RESUME='/dev/vdb1'\n"]), "/dev/vdb1")
        XCTAssertNil(InitramfsConfig.resume(fromFiles: ["MODULES=most\n", "#RESUME=/dev/sda2\n"]))
        // Not understood: skipped, never guessed at.
        XCTAssertEqual(InitramfsConfig.resume(fromFiles: ["RESUME=/dev/vda1\nRESUME=$(blkid -L swap)\nRESUME=\"$X\"\n"]), "/dev/vda1")
    }

    func system(conf: [String: String], cmdline: String) throws -> FakeSystem {
        let system = FakeSystem()
        system.files["/conf/initramfs.conf"] = "MODULES=most\nRESUME=\n"
        for (name, text) in conf { system.files["/conf/conf.d/\(name)"] = text }
        system.files["/proc/cmdline"] = cmdline
        var info = BlockDeviceInfo()
        info.partLabel = "images"
        system.addDevice("vdb1", info: info)
        system.addDevice("vdc1", image: try Images.kernel(), info: { var i = BlockDeviceInfo(); i.partLabel = "fastresume"; return i }())
        return system
    }

    func testConfiguredResumeNamesTheDeviceWhenTheCommandLineDoesNot() throws {
        let system = try system(conf: ["resume": "RESUME=PARTLABEL=fastresume\n"], cmdline: "root=/dev/vda")
        _ = Agent(system: system, options: Agent.Options()).run()
        XCTAssertTrue(system.logs.contains("resume device from initramfs-tools' configuration: RESUME=PARTLABEL=fastresume"), "\(system.logs)")
        XCTAssertTrue(system.logs.contains("decision: resume kernel image on /dev/vdc1"), "\(system.logs)")
    }

    func testTheCommandLineWinsOverTheConfiguration() throws {
        let system = try system(conf: ["resume": "RESUME=PARTLABEL=fastresume\n"], cmdline: "resume=PARTLABEL=images")
        _ = Agent(system: system, options: Agent.Options()).run()
        XCTAssertTrue(system.logs.contains("decision: boot normally: no resume image on /dev/vdb1 (PARTLABEL=images)"), "\(system.logs)")
    }

    func testResumeNoneInTheConfigurationMeansNoResume() throws {
        let system = try system(conf: ["resume": "RESUME=none\n"], cmdline: "")
        _ = Agent(system: system, options: Agent.Options()).run()
        XCTAssertTrue(system.events.isEmpty)
        XCTAssertTrue(system.logs.contains("decision: boot normally: RESUME=none given"), "\(system.logs)")
    }

    func testTheEarlyRunDefersAMissingDeviceWithoutWaitingOrOnlining() throws {
        let system = FakeSystem()
        system.files["/proc/cmdline"] = "resume=/dev/mapper/vg-swap"
        var options = Agent.Options()
        options.early = true
        XCTAssertEqual(Agent(system: system, options: options).run(), ExitStatus.deferred)
        XCTAssertEqual(system.now, 1_000, "it waited")
        XCTAssertEqual(system.memoryStates.filter { $0 == "online" }.count, 4, "memory was onlined before the decision")
        XCTAssertTrue(system.logs.contains { $0.hasPrefix("/dev/mapper/vg-swap is not there yet: deciding after local-top") }, "\(system.logs)")

        // After local-top the volume is there: the second run decides.
        system.addDevice("mapper/vg-swap", image: try Images.kernel())
        XCTAssertEqual(Agent(system: system, options: Agent.Options()).run(), ExitStatus.continueBoot)
        XCTAssertTrue(system.logs.contains("decision: resume kernel image on /dev/mapper/vg-swap"), "\(system.logs)")
    }

    func testTheEarlyRunDecidesAtOnceWhenTheDeviceIsThere() throws {
        let system = FakeSystem()
        system.files["/proc/cmdline"] = "resume=/dev/vdb1"
        system.addDevice("vdb1")
        var options = Agent.Options()
        options.early = true
        XCTAssertEqual(Agent(system: system, options: options).run(), ExitStatus.continueBoot)
        XCTAssertTrue(system.memoryStates.allSatisfy { $0 == "online" })
    }
}
