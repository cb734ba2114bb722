import XCTest
@testable import ResumeBoot
import ResumeTestSupport
import ResumeCore
import ResumeSystem

/// The jump paths, with the fake kernel recording every call in order.
final class RestoreTests: XCTestCase {
    let kernel = Images.kernel
    let initrd = Images.initrd

    func kernelImage(cmdline: String = "console=ttyS0 marker=B", reusable: Bool = false) throws -> [UInt8] {
        try Images.kernel(cmdline: cmdline, reusable: reusable)
    }

    func boot(_ system: FakeSystem, _ cmdline: String) -> Int32 {
        system.files["/proc/cmdline"] = cmdline
        return Agent(system: system, options: Agent.Options()).run()
    }

    func testOneShotKernelImageIsLoadedMarkedConsumedThenJumpedTo() throws {
        let system = FakeSystem()
        system.addDevice("vdb1", image: try kernelImage())
        _ = boot(system, "root=/dev/vda console=ttyS0 loglevel=7 resume_agent.pass=loglevel")
        XCTAssertEqual(system.loadedKernel, kernel)
        XCTAssertEqual(system.loadedInitrd, initrd)
        XCTAssertEqual(system.loadedCmdline, "console=ttyS0 marker=B loglevel=7")
        // Load, then the 8-byte state write and its sync, and only then the jump.
        XCTAssertEqual(system.events, ["kexec_file_load", "write /dev/vdb1 at 16", "sync /dev/vdb1", "jump", "unload"])
        XCTAssertEqual(try ImageReader(source: system.devices["/dev/vdb1"]!).header.state, .consumed)
        XCTAssertTrue(system.logs.contains("decision: resume kernel image on /dev/vdb1"), "\(system.logs)")
        XCTAssertTrue(system.logs.contains("jumping to the kernel image (reboot LINUX_REBOOT_CMD_KEXEC); this does not return"))
        // The fake's jump "fails": the boot goes on, memory online, and the
        // image stays consumed, so it is not resumed on the next boot.
        XCTAssertTrue(system.logs.contains { $0.hasPrefix("decision: boot normally: resume from /dev/vdb1 failed: the jump failed") }, "\(system.logs)")
        XCTAssertTrue(system.memoryStates.allSatisfy { $0 == "online" })
    }

    func testReusableImageIsNotMarked() throws {
        let system = FakeSystem()
        system.addDevice("vdb1", image: try kernelImage(reusable: true))
        _ = boot(system, "")
        XCTAssertEqual(system.events, ["kexec_file_load", "jump", "unload"])
        XCTAssertEqual(try ImageReader(source: system.devices["/dev/vdb1"]!).header.state, .valid)
    }

    func testSignatureRefusalUnloadsAndBootsNormallyWithoutConsumingTheImage() throws {
        let system = FakeSystem()
        system.kexecError = KexecPolicy.Errno.EKEYREJECTED
        system.addDevice("vdb1", image: try kernelImage())
        XCTAssertEqual(boot(system, ""), ExitStatus.continueBoot)
        XCTAssertEqual(system.events, ["kexec_file_load", "unload"])
        XCTAssertTrue(system.logs.contains { $0.hasPrefix("decision: boot normally: resume from /dev/vdb1 failed: kexec_file_load: the kernel refused kernel B's signature") }, "\(system.logs)")
        XCTAssertEqual(try ImageReader(source: system.devices["/dev/vdb1"]!).header.state, .valid)
        XCTAssertTrue(system.memoryStates.allSatisfy { $0 == "online" })
    }

    func testNotAKernelIsRejectedWithENOEXEC() throws {
        let system = FakeSystem()
        system.kexecError = KexecPolicy.Errno.ENOEXEC
        system.addDevice("vdb1", image: try kernelImage())
        _ = boot(system, "")
        XCTAssertTrue(system.logs.contains("rejected /dev/vdb1: kexec_file_load: the kernel does not recognise the image as a kernel it can load (ENOEXEC)"), "\(system.logs)")
        XCTAssertTrue(system.logs.contains { $0.hasPrefix("decision: boot normally: no valid resume image") }, "\(system.logs)")
    }

    func testTooLongCommandLineIsRefusedBeforeTheKernelSeesIt() throws {
        let system = FakeSystem()
        system.addDevice("vdb1", image: try kernelImage(cmdline: String(repeating: "x", count: 2100)))
        _ = boot(system, "")
        XCTAssertEqual(system.events, ["unload"])
        XCTAssertTrue(system.logs.contains { $0.contains("command line is 2100 bytes; x86 takes at most 2047") }, "\(system.logs)")
    }

    func segmentsImage(memorySize: UInt64) throws -> [UInt8] { try Images.segments(memorySize: memorySize) }

    func testSegmentsAreLoadedAtTheirAddresses() throws {
        let system = FakeSystem()
        system.files["/proc/meminfo"] = "MemTotal:         500000 kB\n"
        system.addDevice("vdb1", image: try segmentsImage(memorySize: 0x1000))
        _ = boot(system, "")
        XCTAssertEqual(system.events.first, "kexec_load 1000000")
        XCTAssertEqual(system.loadedSegments.map(\.0), [0x100_0000])
        XCTAssertEqual(system.loadedSegments.map(\.1), [[0xF4, 0xEB, 0xFD]])
        XCTAssertEqual(system.loadedSegments.map(\.2), [0x1000])
    }

    func testSegmentsOverHalfOfRAMAreRefusedWithOurMessage() throws {
        let system = FakeSystem()
        system.files["/proc/meminfo"] = "MemTotal:         500000 kB\n"
        system.addDevice("vdb1", image: try segmentsImage(memorySize: 300 << 20))
        _ = boot(system, "")
        XCTAssertFalse(system.events.contains { $0.hasPrefix("kexec_load") })
        XCTAssertTrue(system.logs.contains { $0.contains("more than half of the 500000 KiB of RAM online") }, "\(system.logs)")
    }

    func testErrnoTableCoversTheFallbacks() {
        XCTAssertTrue(KexecPolicy.explain(call: "kexec_file_load", errno: KexecPolicy.Errno.ENOKEY).contains("signature"))
        XCTAssertTrue(KexecPolicy.explain(call: "kexec_file_load", errno: KexecPolicy.Errno.EPERM).contains("lockdown"))
        XCTAssertTrue(KexecPolicy.explain(call: "kexec_file_load", errno: KexecPolicy.Errno.ENOSYS).contains("ENOSYS"))
        XCTAssertTrue(KexecPolicy.explain(call: "kexec_load", errno: KexecPolicy.Errno.EADDRNOTAVAIL).contains("outside"))
    }
}
