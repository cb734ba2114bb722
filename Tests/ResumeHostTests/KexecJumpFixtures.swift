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

    // PLACEHOLDER (replaced by captured text)
    static let fwmap2G = """
        0x0 0x9fbff System RAM
        0x9fc00 0x9ffff Reserved
        0xf0000 0xfffff Reserved
        0x100000 0x7ffdffff System RAM
        0x7ffe0000 0x7fffffff Reserved
        0xfeffc000 0xfeffffff Reserved
        0xfffc0000 0xffffffff Reserved
        """
    static let fwmap1G = """
        0x0 0x9fbff System RAM
        0x9fc00 0x9ffff Reserved
        0xf0000 0xfffff Reserved
        0x100000 0x3ffdffff System RAM
        0x3ffe0000 0x3fffffff Reserved
        0xfeffc000 0xfeffffff Reserved
        0xfffc0000 0xffffffff Reserved
        """
    static let iomemMem1G = """
        00000000-00000fff : Reserved
        00001000-0009fbff : System RAM
        0009fc00-0009ffff : Reserved
        000f0000-000fffff : Reserved
        00100000-3fffffff : System RAM
          01000000-01ffffff : Kernel code
        fec00000-fec003ff : IOAPIC 0
        """
    static let memTotalMem1G: UInt64 = 1_020_876
    static let iomemWhole1G = """
        00000000-00000fff : Reserved
        00001000-0009fbff : System RAM
        0009fc00-0009ffff : Reserved
        000f0000-000fffff : Reserved
        00100000-3ffdffff : System RAM
          01000000-01ffffff : Kernel code
        3ffe0000-3fffffff : Reserved
        fec00000-fec003ff : IOAPIC 0
        """
    static let memTotalWhole1G: UInt64 = 1_000_000
}
