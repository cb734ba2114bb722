import XCTest
@testable import ResumeBoot
import ResumeReports
import ResumeTestSupport
import ResumeCore
import ResumeSystem

/// Confinement on real hardware: memory held back at boot with
/// memmap=SIZE%START-1+0xefffffff, handed to kmem and onlined by the agent,
/// against a FakeSystem that plays /proc/iomem, /sys/bus/dax and kmem.
final class HeldBackMemoryTests: XCTestCase {
    static let gib: UInt64 = 1 << 30
    static let mib: UInt64 = 1 << 20
    let confined = "console=ttyS0 root=/dev/vda memmap=1G%4G-1+0xefffffff"

    /// The test VM: 512 MiB at boot (blocks 0-3), 1 GiB held back at 4 GiB.
    func machine(node: Int? = 0, driver: String? = "device_dax", cmdline: String? = nil) -> FakeSystem {
        let system = FakeSystem(onlineBlocks: 4, offlineBlocks: 0)
        system.files["/proc/cmdline"] = cmdline ?? confined
        system.holdBack(start: 4 * Self.gib, size: Self.gib, node: node, driver: driver)
        return system
    }

    func boot(_ system: FakeSystem, dryRun: Bool = false) {
        var options = Agent.Options()
        options.dryRun = dryRun
        _ = Agent(system: system, options: options).run()
    }

    func testMemmapSoftReserveIsParsedAsTheKernelDoes() {
        func held(_ text: String) -> [PhysicalRange] { MemmapParameter.heldBack(KernelCommandLine(text)) }
        XCTAssertEqual(held("memmap=1G%4G-1+0xefffffff"), [PhysicalRange(start: 4 * Self.gib, size: Self.gib)])
        XCTAssertEqual(held("memmap=0x40000000%0x100000000-1+4026531839"), [PhysicalRange(start: 4 * Self.gib, size: Self.gib)])
        XCTAssertEqual(held("memmap=512M%4G+0xefffffff,1G%6G-1+0xefffffff"),
                       [PhysicalRange(start: 4 * Self.gib, size: 512 * Self.mib), PhysicalRange(start: 6 * Self.gib, size: Self.gib)])
        // Other memmap forms hold nothing back for kmem.
        XCTAssertEqual(held("memmap=1G$4G memmap=1G!4G memmap=1G%4G-1+2 memmap=exactmap memmap=1G%4G-1+0xefffffffjunk"), [])
        XCTAssertEqual(MemmapParameter.sizeArgument(Self.gib), "1G")
        XCTAssertEqual(MemmapParameter.sizeArgument(1536 * Self.mib), "1536M")
    }

    func testIOMemGivesTheTopOfBootRAMAndTheHeldBackRanges() {
        let text = """
        00000000-00000fff : Reserved
        00001000-0009fbff : System RAM
        00100000-1ffdffff : System RAM
          01000000-01ffffff : Kernel code
        100000000-13fffffff : hmem.0
          100000000-13fffffff : Soft Reserved
            100000000-13fffffff : dax0.0
              100000000-13fffffff : System RAM (kmem)
        """
        let entries = IOMem.parse(text)
        XCTAssertEqual(IOMem.topOfRAM(entries), 0x1ffe0000)
        XCTAssertEqual(IOMem.softReserved(entries), [PhysicalRange(start: 4 * Self.gib, size: Self.gib)])
        XCTAssertTrue(IOMem.hasAddedRAM(entries, in: PhysicalRange(start: 4 * Self.gib, size: Self.gib)))
        XCTAssertTrue(IOMem.addressesHidden(IOMem.parse("00000000-00000000 : System RAM\n00000000-00000000 : Soft Reserved\n")))
    }

    func testNoImageBootLoadsTheModulesHandsTheDaxDeviceToKmemAndOnlinesItsBlocks() {
        let system = machine()
        boot(system)
        XCTAssertEqual(system.events, ["finit_module dax_hmem", "finit_module kmem"])
        XCTAssertEqual(system.writes.map(\.0).filter { $0.hasPrefix("/sys/bus/dax") },
                       ["/sys/bus/dax/drivers/device_dax/unbind", "/sys/bus/dax/drivers/kmem/new_id"])
        // Onlined with "online", never "online_movable".
        let states = system.writes.filter { $0.0.hasSuffix("/state") }
        XCTAssertEqual(states.count, 8)
        XCTAssertTrue(states.allSatisfy { $0.1 == "online" }, "\(states)")
        XCTAssertEqual(system.memoryStates.count, 12)
        XCTAssertTrue(system.memoryStates.allSatisfy { $0 == "online" })
        XCTAssertTrue(system.logs.contains { $0.hasPrefix("memory: held-back memory handed to kmem in ") && $0.contains("dax0.0 (0x100000000-0x13fffffff, 1024 MiB, node 0)") }, "\(system.logs)")
        XCTAssertTrue(system.logs.contains { $0.hasPrefix("memory: 8 blocks onlined, all 12 blocks online (1536 MiB)") }, "\(system.logs)")
        XCTAssertNil(HeldBackMemory.hibernationLoss(system), "memory held back at the top of RAM is safe to hibernate")
    }

    func testModulesUdevLoadedAreNotLoadedAgainAndAnUnboundDeviceGoesStraightToKmem() {
        let system = machine(driver: nil)
        system.daxDevicesPresent = true
        system.files["/sys/module/dax_hmem/refcnt"] = "0\n"
        system.files["/sys/module/kmem/refcnt"] = "0\n"
        system.refresh()
        boot(system)
        XCTAssertEqual(system.events, [])
        XCTAssertEqual(system.writes.map(\.0).filter { $0.hasPrefix("/sys/bus/dax") }, ["/sys/bus/dax/drivers/kmem/new_id"])
        XCTAssertTrue(system.memoryStates.allSatisfy { $0 == "online" } && system.memoryStates.count == 12)
    }

    func testNoCommandLineHoldBackMeansNoModulesAndNoDaxWrites() {
        let system = FakeSystem()
        boot(system)
        XCTAssertTrue(system.events.isEmpty, "\(system.events)")
        XCTAssertFalse(system.writes.contains { $0.0.hasPrefix("/sys/bus/dax") })
        // DIMMs that arrive offline keep working.
        XCTAssertTrue(system.memoryStates.allSatisfy { $0 == "online" } && system.memoryStates.count == 12)
    }

    func testWithoutSRATTheRegionIsRefusedWithItsReasonAndTheBootGoesOn() {
        let system = machine(node: nil)
        boot(system)
        XCTAssertFalse(system.writes.contains { $0.0.hasSuffix("/kmem/new_id") }, "\(system.writes)")
        XCTAssertTrue(system.logs.contains("memory: dax0.0 (0x100000000-0x13fffffff, 1024 MiB) has no NUMA node from the firmware (no ACPI SRAT: target_node missing), so kmem rejects it; this memory stays offline this boot"), "\(system.logs)")
        XCTAssertTrue(system.logs.contains { $0.hasPrefix("memory: 0 blocks onlined, all 4 blocks online (512 MiB)") }, "\(system.logs)")
        XCTAssertTrue(system.logs.contains { $0.hasPrefix("handover after ") })
    }

    func testAMisalignedRegionIsRefused() {
        let system = FakeSystem(onlineBlocks: 4, offlineBlocks: 0)
        system.files["/proc/cmdline"] = "memmap=960M%4160M-1+0xefffffff"
        system.holdBack(start: 4160 * Self.mib, size: 960 * Self.mib)
        boot(system)
        XCTAssertFalse(system.writes.contains { $0.0.hasSuffix("/kmem/new_id") })
        XCTAssertTrue(system.logs.contains { $0.hasPrefix("memory: dax0.0 (0x104000000-0x13fffffff, 960 MiB) is not made of whole 128 MiB memory blocks: kmem adds whole blocks only") }, "\(system.logs)")
        XCTAssertEqual(system.memoryStates.count, 4)
    }

    func testARegionBelowTheTopOfRAMIsOnlinedWithItsWarningAndCaptureRefuses() {
        let system = FakeSystem(onlineBlocks: 4, offlineBlocks: 0)
        system.files["/proc/cmdline"] = "memmap=512M%4G-1+0xefffffff"
        system.bootRAM = [(0, 512 * Self.mib), (4 * Self.gib + 512 * Self.mib, 512 * Self.mib)]
        system.holdBack(start: 4 * Self.gib, size: 512 * Self.mib)
        boot(system)
        XCTAssertTrue(system.logs.contains { $0.hasPrefix("memory: held-back 0x100000000-0x11fffffff lies below the top of RAM (0x140000000): the kernel made it a hibernation nosave region") }, "\(system.logs)")
        XCTAssertTrue(system.writes.contains { $0.0.hasSuffix("/kmem/new_id") })
        let why = HeldBackMemory.hibernationLoss(system)
        XCTAssertNotNil(why)
        XCTAssertTrue(why?.hasPrefix("refusing to hibernate: memory held back at boot (0x100000000-0x11fffffff, soft reserved) lies below the top of RAM (0x140000000) and is online") ?? false, why ?? "")
    }

    func testAModuleThatWillNotLoadIsNamedAndTheBootGoesOn() {
        let system = machine()
        system.failing["finit_module kmem"] = 129 // EKEYREJECTED
        boot(system)
        XCTAssertTrue(system.logs.contains { $0.hasPrefix("memory: cannot load kmem: finit_module kmem: ") }, "\(system.logs)")
        XCTAssertTrue(system.logs.contains("memory: could not hand dax0.0 to kmem: open /sys/bus/dax/drivers/kmem/new_id: No such file or directory; it stays offline"), "\(system.logs)")
        XCTAssertEqual(system.memoryStates.count, 4)
        XCTAssertTrue(system.logs.contains { $0.hasPrefix("handover after ") })
    }

    func testDryRunSaysWhatItWouldDoAndChangesNothing() {
        let system = machine()
        boot(system, dryRun: true)
        XCTAssertTrue(system.events.isEmpty, "\(system.events)")
        XCTAssertTrue(system.writes.isEmpty, "\(system.writes)")
        XCTAssertTrue(system.logs.contains("dry run: memmap= holds back 0x100000000-0x13fffffff (1024 MiB); would load dax_hmem and kmem and hand each dax device to kmem"), "\(system.logs)")
    }

    func testSnapshotRestoreOnlinesHeldBackMemoryBeforeOpeningSnapshot() throws {
        let system = machine()
        // Made on the same machine with the held-back memory online.
        let image = MemoryImage()
        var h = ImageHeader(kind: .snapshot)
        h.chunkSize = 4096
        h.createdAt = 1_700_000_000
        h.producerRelease = "6.1.0-test-amd64"
        let layout = MemoryLayout(blockSize: 128 << 20, blocks: ([0, 1, 2, 3] + Array(32..<40)).map { MemoryBlock(index: $0, state: "online") })
        h.requiredMemoryBytes = layout.onlineBytes
        h.memoryBlockSize = layout.blockSize
        h.memoryLayoutHash = layout.onlineLayoutHash
        var w = ImageWriter(sink: image, header: h)
        var s = BytesInput(Images.stream)
        try w.append(.stream, from: &s)
        try w.finish()
        system.addDevice("vdb1", image: image.bytes)
        boot(system)
        XCTAssertEqual(Array(system.events.prefix(3)), ["finit_module dax_hmem", "finit_module kmem", "open /dev/snapshot (online blocks: 12)"])
        XCTAssertTrue(system.events.contains("atomic restore"), "\(system.events)")
    }

    func testProbeShowsHeldBackMemoryAndSuggestsMemmap() {
        let system = machine()
        system.files["/sys/firmware/memmap/0/start"] = "0x0\n"
        system.files["/sys/firmware/memmap/0/end"] = "0x9fbff\n"
        system.files["/sys/firmware/memmap/0/type"] = "System RAM\n"
        system.files["/sys/firmware/memmap/1/start"] = "0x100000\n"
        system.files["/sys/firmware/memmap/1/end"] = "0x1ffdffff\n"
        system.files["/sys/firmware/memmap/1/type"] = "System RAM\n"
        system.files["/sys/firmware/memmap/2/start"] = "0x100000000\n"
        system.files["/sys/firmware/memmap/2/end"] = "0x13fffffff\n"
        system.files["/sys/firmware/memmap/2/type"] = "System RAM\n"
        system.daxDevicesPresent = true
        system.refresh()
        let report = Probe(system: system, suggestMemmap: true).run()
        let text = report.text()
        XCTAssertTrue(text.contains("held-back memory (memmap=): 1 range, 1024 MiB"), text)
        XCTAssertTrue(text.contains("  0x100000000-0x13fffffff (1024 MiB): dax0.0, driver device_dax, node 0, can be onlined: yes"), text)
        XCTAssertTrue(text.contains("  memmap=1G%4G-1+0xefffffff"), text)
        XCTAssertTrue(text.contains("nokaslr: not needed"), text)
        let json = report.json()
        XCTAssertTrue(json.contains("\"held_back_memory\""), json)
        XCTAssertTrue(json.contains("\"memmap\": \"memmap=1G%4G-1+0xefffffff\""), json)
    }

    func testSuggestionKeepsEnoughLowMemoryAndNamesNokaslrForBIOS() {
        // 64 GiB machine: RAM to 2 GiB, then 4 GiB to 66 GiB.
        let ram = [PhysicalRange(start: 0x100000, size: 2 * Self.gib - 0x100000), PhysicalRange(start: 4 * Self.gib, size: 62 * Self.gib)]
        let s = MemmapSuggestion.make(ram: ram, efi: false)
        XCTAssertNotNil(s)
        guard let s else { return }
        // 2 GiB below 4 GiB would be too little for 62 GiB of struct pages
        // (384 + 62 * 17 = 1438 MiB fits; at 4 GiB it does).
        XCTAssertEqual(s.region, PhysicalRange(start: 4 * Self.gib, size: 62 * Self.gib))
        XCTAssertEqual(s.parameter, "memmap=62G%4G-1+0xefffffff")
        XCTAssertTrue(s.nokaslr, "SIZE > START on a BIOS boot")
        XCTAssertFalse(MemmapSuggestion.make(ram: ram, efi: true)!.nokaslr)
        // Too little memory to hold any back.
        XCTAssertNil(MemmapSuggestion.make(ram: [PhysicalRange(start: 0, size: 512 * Self.mib)], efi: true))
    }
}
