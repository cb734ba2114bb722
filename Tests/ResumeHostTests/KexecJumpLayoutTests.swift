import XCTest
@testable import ResumeHost
import ResumeBoot
import ResumeCore

/// A's side of a kexec-jump hibernation: where B goes and what B's command
/// line says, from /proc/iomem and /sys/firmware/memmap as the QEMU guests
/// of Tests/jump show them (KexecJumpFixtures.swift: captured there).
final class KexecJumpLayoutTests: XCTestCase {
    typealias F = KexecJumpFixtures
    let mib: UInt64 = 1 << 20

    func layout(_ iomem: String, _ fwmap: String, memTotalKiB: UInt64, window: PhysicalRange? = nil) throws -> PhysicalRange {
        try KexecJumpLayout.chooseWindow(iomem: IOMem.parse(iomem), firmware: F.firmware(fwmap), memTotal: memTotalKiB << 10,
                                         requested: window)
    }

    func failure(_ body: () throws -> PhysicalRange) -> String {
        do { return "no failure: \(try body())" } catch { return "\(error)" }
    }

    func testMem1GOf2GPutsBAt1GiB() throws {
        let window = try layout(F.iomemMem1G, F.fwmap2G, memTotalKiB: F.memTotalMem1G)
        XCTAssertEqual(window, PhysicalRange(start: 1 << 30, size: 96 * mib))
        XCTAssertEqual(window.description, "0x40000000-0x45ffffff")
    }

    func testAllOfRAMInUseIsRefusedNamingTheParameters() {
        let message = failure { try layout(F.iomemWhole1G, F.fwmap1G, memTotalKiB: F.memTotalWhole1G) }
        XCTAssertEqual(message, "no memory for the hibernate kernel: boot A with mem=, memmap=SIZE$START or crashkernel= (see resume-image(1))")
    }

    func testTooLittleUnusedRAMSaysHowMuchThereIs() {
        // mem=960M of 1 GiB: 64 MiB less QEMU's last 140 KiB is unused.
        let iomem = F.iomemWhole1G.replacingRange("00100000-3ffdcfff : System RAM", with: "00100000-3bffffff : System RAM")
        let message = failure { try layout(iomem, F.fwmap1G, memTotalKiB: 940_000) }
        XCTAssertEqual(message, "no memory for the hibernate kernel: A leaves at most 63 MiB unused, B needs 96 MiB: boot A with mem=, memmap=SIZE$START or crashkernel= (see resume-image(1))")
    }

    func testAWindowOverHalfOfARAMIsRefused() {
        // mem=160M: 96 MiB is more than half of what A has.
        let iomem = F.iomemWhole1G.replacingRange("00100000-3ffdcfff : System RAM", with: "00100000-09ffffff : System RAM")
        let message = failure { try layout(iomem, F.fwmap1G, memTotalKiB: 150_000) }
        XCTAssertTrue(message.hasPrefix("A has 146 MiB of RAM; the hibernate kernel's 96 MiB window must be at most half of it"), message)
    }

    func testMemmapReservedRegionIsUsed() throws {
        // memmap=128M$512M: the kernel makes it "Reserved" and splits its RAM.
        let iomem = F.iomemWhole1G.replacingRange("00100000-3ffdcfff : System RAM", with: """
            00100000-1fffffff : System RAM
            20000000-27ffffff : Reserved
            28000000-3ffdcfff : System RAM
            """)
        XCTAssertEqual(try layout(iomem, F.fwmap1G, memTotalKiB: 890_000), PhysicalRange(start: 512 * mib, size: 96 * mib))
    }

    func testCrashKernelRegionIsUsed() throws {
        let iomem = F.iomemWhole1G.replacingRange("  01000000-015fffff : Kernel code", with: """
              01000000-015fffff : Kernel code
              30000000-37ffffff : Crash kernel
            """)
        XCTAssertEqual(try layout(iomem, F.fwmap1G, memTotalKiB: F.memTotalWhole1G), PhysicalRange(start: 768 * mib, size: 96 * mib))
    }

    func testRequestedWindowMustBeUnusedRAM() throws {
        let inside = PhysicalRange(start: 0x5000_0000, size: 64 * mib)
        XCTAssertEqual(try layout(F.iomemMem1G, F.fwmap2G, memTotalKiB: F.memTotalMem1G, window: inside), inside)
        let aRAM = PhysicalRange(start: 0x3000_0000, size: 64 * mib)
        XCTAssertTrue(failure { try layout(F.iomemMem1G, F.fwmap2G, memTotalKiB: F.memTotalMem1G, window: aRAM) }
            .hasPrefix("--window 0x30000000-0x33ffffff is not RAM that A leaves unused (unused: 0x40000000-0x7ffdcfff)"))
    }

    /// The contract with the agent in B (docs/KEXEC-JUMP.md).
    func testBCommandLine() throws {
        let iomem = IOMem.parse(F.iomemMem1G)
        let firmware = F.firmware(F.fwmap2G)
        let window = try layout(F.iomemMem1G, F.fwmap2G, memTotalKiB: F.memTotalMem1G)
        var b = KexecJumpLayout.BCommandLine(window: window, firmware: firmware, iomem: iomem, target: "/dev/vda",
                                             then: "poweroff", vmcoreinfo: KexecJumpLayout.vmcoreinfoArgument("0x000000000290e000 1024\n")!)
        b.consoles = ["ttyS0"]
        b.tscKHz = KexecJumpLayout.cpuKHz("processor\t: 0\ncpu MHz\t\t: 2394.454\n")
        b.append = "loglevel=7"
        let hash = String(firmware.hash, radix: 16)
        XCTAssertEqual(b.text, "console=ttyS0 noapic nolapic nokaslr no_console_suspend i8042.noaux i8042.nokbd tsc_early_khz=2394454 "
            + "memmap=exactmap memmap=640K@0 memmap=96M@1G memmap=1023M#1M memmap=950132K#1120M "
            + "resume_agent.jump_save=/dev/vda resume_agent.jump_then=poweroff resume_agent.jump_ram=100000-3fffffff "
            + "resume_agent.jump_vmcoreinfo=0x290e000,0x1024 resume_agent.jump_memmap=" + String(repeating: "0", count: 16 - hash.count) + hash
            + " loglevel=7")
        XCTAssertTrue(b.text.utf8.count <= KexecJumpLayout.maxCommandLine)
        // A's trampoline: ACPI data to B (B's own goes elsewhere), and saved.
        b.trampoline = PhysicalRange(start: 0x9_8000, size: 0x7000)
        XCTAssertTrue(b.text.contains("memmap=exactmap memmap=608K@0 memmap=4K@636K memmap=28K#608K memmap=96M@1G "), b.text)
        XCTAssertTrue(b.text.contains(" resume_agent.jump_trampoline=98000-9efff "), b.text)
    }

    /// Kernel A's trampoline from /proc/kallsyms and /proc/kcore's program headers.
    func testTrampolineFromKallsymsAndKcore() throws {
        let kallsyms = """
            ffffffff8193d000 D real_mode_blob
            ffffffff81943264 D real_mode_blob_end
            ffffffff819ad658 B real_mode_header
            ffffffff819ad660 B other
            """
        guard case let .success(addresses) = RealModeTrampoline.addresses(kallsyms: kallsyms) else { return XCTFail() }
        XCTAssertEqual(addresses["real_mode_header"], 0xffff_ffff_819a_d658)
        let scan = KallsymsScan.scanning(kallsyms + "\nffffffffc0123000 t other\t[a_module]", names: ["other", "kexec_image"])
        XCTAssertEqual(scan.addresses, ["other": 0xffff_ffff_819a_d660], "a module's symbol of the same name is not the kernel's")
        // Fed in pieces that cut lines anywhere, as read(2) returns them.
        var pieces = KallsymsScan(names: RealModeTrampoline.symbols)
        let bytes = Array((kallsyms + "\n").utf8)
        for at in stride(from: 0, to: bytes.count, by: 7) {
            bytes[at..<min(at + 7, bytes.count)].withUnsafeBytes { pieces.feed($0) }
        }
        XCTAssertEqual(pieces.addresses, addresses)
        var long = KallsymsScan(names: ["x"])
        [UInt8](repeating: 0x41, count: 5000).withUnsafeBytes { long.feed($0) }
        XCTAssertTrue(long.malformed, "a line longer than kallsyms has is refused, not kept growing")
        XCTAssertEqual(RealModeTrampoline.range(addresses: addresses, header: 0x9_8000), .success(PhysicalRange(start: 0x9_8000, size: 0x7000)))
        XCTAssertEqual(RealModeTrampoline.range(addresses: addresses, header: 0xF_C000),
                       .failure(.init("real_mode_header points at 0xfc000, not a page below 1 MiB with 28672 bytes after it")))
        XCTAssertEqual(RealModeTrampoline.addresses(kallsyms: kallsyms.replacingZeros()),
                       .failure(.init("/proc/kallsyms hides addresses (kernel.kptr_restrict): run as root")))
        XCTAssertEqual(RealModeTrampoline.addresses(kallsyms: "ffffffff81000000 T _text\n"),
                       .failure(.init("/proc/kallsyms has no real_mode_header (a kernel without CONFIG_KALLSYMS_ALL lists no data symbols)")))
        // An ELF64 core: two PT_LOADs (kernel text, the direct map) and a note.
        var core = [UInt8](repeating: 0, count: 64 + 3 * 56)
        func put(_ at: Int, _ v: UInt64, _ width: Int) { for i in 0..<width { core[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) } }
        core[0..<6] = [0x7F, 0x45, 0x4C, 0x46, 2, 1]
        put(16, 4, 2); put(32, 64, 8); put(54, 56, 2); put(56, 3, 2)
        let loads: [(UInt32, UInt64, UInt64, UInt64, UInt64)] = [
            (4, 0, 0, 0, 0x100),
            (1, 0xffff_ffff_8100_0000, 0x100_0000, 0x1000, 0x200_0000),
            (1, 0xffff_8880_0000_0000, 0, 0x10_0000_0000, 0x8000_0000),
        ]
        for (i, l) in loads.enumerated() {
            let o = 64 + i * 56
            put(o, UInt64(l.0), 4); put(o + 8, l.3, 8); put(o + 16, l.1, 8); put(o + 24, l.2, 8); put(o + 32, l.4, 8); put(o + 40, l.4, 8)
        }
        XCTAssertEqual(RealModeTrampoline.headerBytes(Array(core[0..<64])), core.count)
        let parsed = RealModeTrampoline.loads(core)
        XCTAssertEqual(parsed.count, 2)
        XCTAssertEqual(RealModeTrampoline.load(holding: 0xffff_ffff_819a_d658, count: 8, in: parsed)?.offset, 0x1000)
        let ram = try XCTUnwrap(RealModeTrampoline.load(holding: 0xffff_8880_0009_8000, in: parsed))
        XCTAssertEqual(ram.physicalAddress + 0xffff_8880_0009_8000 - ram.virtualAddress, 0x9_8000)
        XCTAssertNil(RealModeTrampoline.headerBytes([UInt8](repeating: 0, count: 64)))
    }

    func testCrashKernelAndWindowAreNotAsRAMToSave() {
        let iomem = IOMem.parse("""
            00001000-0009fbff : System RAM
            00100000-3ffdffff : System RAM
              30000000-37ffffff : Crash kernel
            """)
        let crash = PhysicalRange(start: 0x3000_0000, size: 128 * mib)
        XCTAssertEqual(KexecJumpLayout.ramArgument(iomem: iomem, excluding: [crash]), "100000-2fffffff,38000000-3ffdffff")
    }

    func testSmallParsers() {
        let none = KernelCommandLine("")
        XCTAssertEqual(Lockdown.mode(securityfs: "none [integrity] confidentiality\n", cmdline: none), "integrity")
        XCTAssertEqual(Lockdown.mode(securityfs: "[none] integrity confidentiality\n", cmdline: none), "none")
        XCTAssertNil(Lockdown.restricting(securityfs: "[none] integrity confidentiality\n", cmdline: KernelCommandLine("lockdown=integrity")))
        XCTAssertEqual(Lockdown.restricting(securityfs: nil, cmdline: KernelCommandLine("quiet lockdown=confidentiality")), "confidentiality")
        XCTAssertNil(Lockdown.mode(securityfs: nil, cmdline: none))
        XCTAssertNil(KexecJumpLayout.vmcoreinfoArgument("garbage\n"))
        XCTAssertNil(KexecJumpLayout.vmcoreinfoArgument("0x0 1024\n"))
        XCTAssertEqual(KexecJumpLayout.cpuKHz("cpu MHz\t\t: 3000\n"), 3_000_000)
        XCTAssertNil(KexecJumpLayout.cpuKHz("model name : x\n"))
        XCTAssertTrue(KexecJumpLayout.configHasKexecJump("CONFIG_KEXEC=y\nCONFIG_KEXEC_JUMP=y\n"))
        XCTAssertFalse(KexecJumpLayout.configHasKexecJump("CONFIG_KEXEC=y\n# CONFIG_KEXEC_JUMP is not set\n"))
        XCTAssertTrue(KexecJumpLayout.isOneWord("PARTLABEL=fastresume"))
        XCTAssertFalse(KexecJumpLayout.isOneWord("/dev/vda resume_agent.jump_then=back"))
        XCTAssertFalse(KexecJumpLayout.isOneWord("LABEL=\"a\""))
    }
}

private extension String {
    /// The addresses a kernel.kptr_restrict shows: zeros.
    func replacingZeros() -> String {
        split(separator: "\n").map { line in String(repeating: "0", count: 16) + line.dropFirst(16) }.joined(separator: "\n")
    }
}
