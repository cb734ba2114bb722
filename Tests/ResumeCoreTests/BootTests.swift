import XCTest
@testable import ResumeCore

final class CommandLineTests: XCTestCase {
    func testSplittingFollowsTheKernel() {
        let c = KernelCommandLine("root=/dev/vda  quiet\tfoo=\"a b\" \"bar=c d\" resume-agent.wait=5\n")
        XCTAssertEqual(c.value("root"), "/dev/vda")
        XCTAssertTrue(c.has("quiet"))
        XCTAssertNil(c.value("quiet"))
        XCTAssertEqual(c.value("foo"), "a b")
        XCTAssertEqual(c.value("bar"), "c d")
        XCTAssertEqual(c.value("resume_agent.wait"), "5", "- and _ are the same in a name")
        XCTAssertEqual(KernelCommandLine("a=1 a=2").value("a"), "2", "the last one wins")
    }

    func testResumeDeviceForms() {
        XCTAssertEqual(DeviceSpec.parse("/dev/vdb1"), .path("/dev/vdb1"))
        XCTAssertEqual(DeviceSpec.parse("UUID=1234-ABCD"), .tag(name: "UUID", value: "1234-ABCD"))
        XCTAssertEqual(DeviceSpec.parse("PARTLABEL=fastresume"), .tag(name: "PARTLABEL", value: "fastresume"))
        XCTAssertEqual(DeviceSpec.parse("PARTUUID=abc"), .tag(name: "PARTUUID", value: "abc"))
        XCTAssertEqual(DeviceSpec.parse("LABEL=swap"), .tag(name: "LABEL", value: "swap"))
        XCTAssertEqual(DeviceSpec.parse("254:17"), .number(major: 254, minor: 17))
        XCTAssertNil(DeviceSpec.parse("FOO=bar"))
        XCTAssertNil(DeviceSpec.parse("UUID="))
        XCTAssertNil(DeviceSpec.parse("vdb1"))
    }

    func testSettingsDefaultsAndBounds() {
        let none = AgentSettings(KernelCommandLine("quiet"))
        XCTAssertNil(none.device)
        XCTAssertEqual(none.waitSeconds, 0, "nothing named: no wait")
        XCTAssertTrue(none.scan)

        let named = AgentSettings(KernelCommandLine("resume=PARTLABEL=x"))
        XCTAssertEqual(named.waitSeconds, 30, "initramfs-tools' default")

        let resumewait = AgentSettings(KernelCommandLine("resume=/dev/sda2 resumewait"))
        XCTAssertEqual(resumewait.waitSeconds, AgentSettings.resumewaitSeconds, "bounded, never forever")

        let all = AgentSettings(KernelCommandLine("noresume resume=/dev/sda2 resume_offset=34816 resumedelay=2 resume_agent.wait=7 resume_agent.dry_run resume_agent.scan=0"))
        XCTAssertTrue(all.noresume)
        XCTAssertEqual(all.offsetPages, 34816)
        XCTAssertEqual(all.delaySeconds, 2)
        XCTAssertEqual(all.waitSeconds, 7)
        XCTAssertTrue(all.dryRun)
        XCTAssertFalse(all.scan)
        XCTAssertEqual(all.warnings, [])
    }

    func testBadValuesAreWarnedAboutNotTrusted() {
        let s = AgentSettings(KernelCommandLine("resume=garbage resume_offset=-1 resumedelay=99999 resume_agent.wait=abc"))
        XCTAssertNil(s.device)
        XCTAssertEqual(s.offsetPages, 0)
        XCTAssertEqual(s.delaySeconds, 0)
        XCTAssertEqual(s.warnings.count, 4, "\(s.warnings)")
        XCTAssertTrue(s.warnings[0].hasPrefix("resume=garbage is not"))
    }
}

final class DecisionTests: XCTestCase {
    func header(_ kind: ImageKind, createdAt: UInt64) -> ImageHeader {
        var h = ImageHeader(kind: kind)
        h.createdAt = createdAt
        return h
    }
    let canRestore: (ImageKind) -> String? = { _ in nil }

    func testSkippedAndMissing() {
        XCTAssertEqual(Decider.decide(search: .skipped(BootReason(.noresume, "noresume given")), devices: [], restorable: canRestore),
                       .bootNormally(BootReason(.noresume, "noresume given")))
        XCTAssertEqual(Decider.decide(search: .named(.path("/dev/x"), found: nil, waitedSeconds: 30), devices: [], restorable: canRestore),
                       .bootNormally(BootReason(.deviceMissing, "/dev/x did not appear within 30 s")))
    }

    func testNewestValidImageWinsAndRejectionsDoNotBlockIt() {
        let devices = [
            ProbedDevice(path: "/dev/a", finding: .image(header(.kernel, createdAt: 10))),
            ProbedDevice(path: "/dev/b", finding: .rejected(BootReason(.imageInvalid, "chunk 3: stored checksum mismatch"))),
            ProbedDevice(path: "/dev/c", finding: .image(header(.segments, createdAt: 20))),
            ProbedDevice(path: "/dev/d", finding: .other(type: "ext4")),
        ]
        guard case let .resume(kind, device, _) = Decider.decide(search: .scanned, devices: devices, restorable: canRestore) else {
            return XCTFail("expected a resume")
        }
        XCTAssertEqual(kind, ImageKind.segments)
        XCTAssertEqual(device, "/dev/c")
    }

    func testEqualTimesPreferTheFirstDevice() {
        let devices = [ProbedDevice(path: "/dev/a", finding: .image(header(.kernel, createdAt: 5))),
                       ProbedDevice(path: "/dev/b", finding: .image(header(.kernel, createdAt: 5)))]
        guard case let .resume(_, device, _) = Decider.decide(search: .scanned, devices: devices, restorable: canRestore) else {
            return XCTFail("expected a resume")
        }
        XCTAssertEqual(device, "/dev/a")
    }

    func testRejectionsAndUnrestorableKindsAreReasons() {
        XCTAssertEqual(Decider.decide(search: .scanned, devices: [ProbedDevice(path: "/dev/b", finding: .rejected(BootReason(.imageInvalid, "bad magic")))], restorable: canRestore),
                       .bootNormally(BootReason(.imageInvalid, "no valid resume image (rejected /dev/b: bad magic)")))
        XCTAssertEqual(Decider.decide(search: .scanned, devices: [ProbedDevice(path: "/dev/a", finding: .image(header(.snapshot, createdAt: 1)))],
                                      restorable: { _ in "no /dev/snapshot" }),
                       .bootNormally(BootReason(.kindUnsupported, "snapshot image on /dev/a cannot be restored: no /dev/snapshot")))
        XCTAssertEqual(Decider.decide(search: .named(.path("/dev/x"), found: "/dev/x", waitedSeconds: 30),
                                      devices: [ProbedDevice(path: "/dev/x", finding: .other(type: "swap"))], restorable: canRestore),
                       .bootNormally(BootReason(.noImage, "no resume image on /dev/x (/dev/x)")))
    }
}

final class ELFTests: XCTestCase {
    /// A minimal ELF64 executable with the given PT_LOAD segments.
    static func elf(entry: UInt64, segments: [(paddr: UInt64, data: [UInt8], memsz: UInt64)]) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 64 + 56 * segments.count)
        func put(_ at: Int, _ v: UInt64, _ w: Int) { for i in 0..<w { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) } }
        b.replaceSubrange(0..<4, with: [0x7F, 0x45, 0x4C, 0x46])
        b[4] = 2; b[5] = 1; b[6] = 1
        put(16, 2, 2); put(18, 62, 2); put(24, entry, 8); put(32, 64, 8); put(54, 56, 2); put(56, UInt64(segments.count), 2)
        var dataOffset = b.count
        for (i, s) in segments.enumerated() {
            let o = 64 + 56 * i
            put(o, 1, 4); put(o + 8, UInt64(dataOffset), 8); put(o + 16, s.paddr, 8); put(o + 24, s.paddr, 8)
            put(o + 32, UInt64(s.data.count), 8); put(o + 40, s.memsz, 8)
            dataOffset += s.data.count
        }
        for s in segments { b += s.data }
        return b
    }

    func testParsesLoadSegmentsByPhysicalAddress() throws {
        let exe = try ELFExecutable.parse(Self.elf(entry: 0x100000, segments: [(0x100000, [1, 2, 3], 0x2000), (0x200000, [], 0x1000)]))
        XCTAssertEqual(exe.entry, 0x100000)
        XCTAssertEqual(exe.segments.map(\.physicalAddress), [0x100000, 0x200000])
        XCTAssertEqual(exe.segments.map(\.fileSize), [3, 0])
        XCTAssertEqual(exe.segments.map(\.memorySize), [0x2000, 0x1000])
    }

    func testRejectsBrokenFiles() {
        var truncated = Self.elf(entry: 0, segments: [(0x1000, [1, 2, 3, 4], 0x1000)])
        truncated.removeLast(2)
        XCTAssertThrowsError(try ELFExecutable.parse(truncated)) {
            XCTAssertEqual("\($0)", "not a usable ELF executable: segment 0: file data runs past the end of the file")
        }
        XCTAssertThrowsError(try ELFExecutable.parse(Array("not an elf at all, but long enough to be read as a header......".utf8)))
        XCTAssertThrowsError(try ELFExecutable.parse(Self.elf(entry: 0, segments: [(0x1000, [1], 0)]))) {
            XCTAssertEqual("\($0)", "not a usable ELF executable: segment 0: p_memsz is smaller than p_filesz")
        }
    }
}
