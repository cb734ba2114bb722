import ResumeCore

/// /proc/iomem, /sys/firmware/memmap and MemTotal of the QEMU guests of
/// Tests/jump (the KEXEC_JUMP kernel, `-accel tcg -smp 1`), as
/// mkimage/jump/init prints them (JT-IOMEM and JT-FWMAP lines).
enum KexecJumpFixtures {
    /// "START END TYPE" per line, as the JT-FWMAP lines give /sys/firmware/memmap/N.
    static func firmware(_ text: String) -> FirmwareMemoryMap {
        var files: [String: String] = [:]
        for (n, line) in text.split(separator: "\n").enumerated() {
            let words = line.split(separator: " ", maxSplits: 2)
            files["/sys/firmware/memmap/\(n)/start"] = String(words[0]) + "\n"
            files["/sys/firmware/memmap/\(n)/end"] = String(words[1]) + "\n"
            files["/sys/firmware/memmap/\(n)/type"] = String(words[2]) + "\n"
        }
        return FirmwareMemoryMap.read { files[$0] }!
    }

    /// QEMU -m 2G.
    static let fwmap2G = """
        0x0 0x9fbff System RAM
        0x9fc00 0x9ffff Reserved
        0xf0000 0xfffff Reserved
        0x100000 0x7ffdcfff System RAM
        0x7ffdd000 0x7fffffff Reserved
        0xfffc0000 0xffffffff Reserved
        0xfd00000000 0xffffffffff Reserved
        """
    /// QEMU -m 1G.
    static let fwmap1G = """
        0x0 0x9fbff System RAM
        0x9fc00 0x9ffff Reserved
        0xf0000 0xfffff Reserved
        0x100000 0x3ffdcfff System RAM
        0x3ffdd000 0x3fffffff Reserved
        0xfffc0000 0xffffffff Reserved
        0xfd00000000 0xffffffffff Reserved
        """
    /// A: -m 2G, mem=1G (Tests/jump hibernate-a).
    static let iomemMem1G = """
        00000000-00000fff : Reserved
        00001000-0009fbff : System RAM
        0009fc00-0009ffff : Reserved
        000a0000-000bffff : PCI Bus 0000:00
        000c0000-000c9bff : Video ROM
        000ca000-000cadff : Adapter ROM
        000cb000-000cb5ff : Adapter ROM
        000f0000-000fffff : Reserved
          000f0000-000fffff : System ROM
        00100000-3fffffff : System RAM
          01000000-015fffff : Kernel code
          01600000-0170cfff : Kernel rodata
          01800000-018c91bf : Kernel data
          01985000-019fffff : Kernel bss
        7ffdd000-7fffffff : Reserved
        80000000-febfffff : PCI Bus 0000:00
          fd000000-fdffffff : 0000:00:02.0
          fe000000-fe003fff : 0000:00:04.0
            fe000000-fe003fff : virtio-pci-modern
          feb80000-febbffff : 0000:00:03.0
          febc0000-febdffff : 0000:00:03.0
          febf0000-febf0fff : 0000:00:02.0
          febf1000-febf1fff : 0000:00:04.0
        fec00000-fec003ff : IOAPIC 0
        fed00000-fed003ff : HPET 0
          fed00000-fed003ff : PNP0103:00
        fffc0000-ffffffff : Reserved
        100000000-17fffffff : PCI Bus 0000:00
        fd00000000-ffffffffff : Reserved
        """
    static let memTotalMem1G: UInt64 = 1_020_848
    /// -m 1G, no mem= (Tests/jump refusals; MemTotal from a C boot of -m 1G):
    /// as captured, it differs from `iomemMem1G` in these three lines only.
    static let iomemWhole1G = iomemMem1G
        .replacingRange("00100000-3fffffff : System RAM", with: "00100000-3ffdcfff : System RAM")
        .replacingRange("7ffdd000-7fffffff : Reserved", with: "3ffdd000-3fffffff : Reserved")
        .replacingRange("80000000-febfffff : PCI Bus 0000:00", with: "40000000-febfffff : PCI Bus 0000:00")
    static let memTotalWhole1G: UInt64 = 1_020_708
}

extension String {
    /// This text with the line `old` replaced (it must be there).
    func replacingRange(_ old: String, with new: String) -> String {
        let lines = split(separator: "\n", omittingEmptySubsequences: false)
        precondition(lines.contains { $0 == old }, "no line \(old)")
        return lines.map { $0 == old ? new : String($0) }.joined(separator: "\n")
    }
}
