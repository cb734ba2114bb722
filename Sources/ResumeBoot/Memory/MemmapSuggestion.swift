import ResumeCore
import ResumeSystem

/// The `memmap=` that confines the boot kernel on this machine
/// (`resume-probe --suggest-memmap`): hold back the RAM from a 2 GiB
/// boundary to the top of RAM, leaving the boot enough below it.
///
/// - At the top: memory held back below the top of RAM becomes a
///   hibernation nosave region (a snapshot silently omits it).
/// - 2 GiB aligned: kmem adds whole memory blocks, 128 MiB here but 2 GiB
///   on machines booted with 64 GiB or more.
/// - Low memory: the boot needs `bootBytes` (the kernel, the unpacked
///   initramfs, udev, the agent with its decode buffers and, for a kernel
///   image, kernel B and its initrd in memory for kexec: the test VM does
///   all of it in 512 MiB, MemTotal about 400000 kB), plus the struct
///   pages of the memory brought online (64 bytes per 4 KiB page and the
///   page tables: about 17 MiB per GiB, measured), taken from low memory.
public struct MemmapSuggestion: Sendable, Equatable {
    public var region: PhysicalRange
    public var topOfRAM: UInt64
    /// RAM below the region: what the boot kernel runs in.
    public var lowBytes: UInt64
    public var neededLowBytes: UInt64
    /// A BIOS boot with KASLR may place the kernel inside the region when
    /// it is larger than its start: then `nokaslr`.
    public var nokaslr: Bool

    public static let alignment: UInt64 = 2 << 30
    public static let bootBytes: UInt64 = 384 << 20
    public static let structPagesPerGiB: UInt64 = 17 << 20
    /// Holding back less than this is not worth a boot parameter.
    public static let smallestRegion: UInt64 = 1 << 30

    public var parameter: String {
        "memmap=\(MemmapParameter.sizeArgument(region.size))%\(MemmapParameter.sizeArgument(region.start))-1+0xefffffff"
    }

    public static func neededLow(heldBack bytes: UInt64) -> UInt64 {
        bootBytes + (bytes + (1 << 30) - 1) / (1 << 30) * structPagesPerGiB
    }

    /// From the firmware's RAM ranges; nil when no region of at least
    /// `smallestRegion` leaves the boot enough.
    public static func make(ram: [PhysicalRange], efi: Bool) -> MemmapSuggestion? {
        guard let top = ram.max(by: { $0.end < $1.end }) else { return nil }
        var start = (top.start + alignment - 1) / alignment * alignment
        while start < top.end, top.end - start >= smallestRegion {
            let low = ram.reduce(UInt64(0)) { sum, r in sum + (r.start < start ? min(r.end, start) - r.start : 0) }
            let needed = neededLow(heldBack: top.end - start)
            if low >= needed {
                let region = PhysicalRange(start: start, size: top.end - start)
                return MemmapSuggestion(region: region, topOfRAM: top.end, lowBytes: low, neededLowBytes: needed,
                                        nokaslr: !efi && region.size > region.start)
            }
            start += alignment
        }
        return nil
    }

    /// The firmware's RAM: /sys/firmware/memmap (the map before memmap=
    /// changed it), else /proc/iomem's System RAM and Soft Reserved.
    public static func firmwareRAM(_ system: BootSystem) -> (ram: [PhysicalRange], source: String)? {
        let root = "/sys/firmware/memmap"
        if let names = try? system.list(root) {
            var ram: [PhysicalRange] = []
            for name in names {
                func field(_ f: String) -> String? { (try? system.readText("\(root)/\(name)/\(f)"))?.trimmingWhitespace() }
                guard field("type") == "System RAM", let s = field("start").flatMap({ MemmapParameter.memparse(Substring($0))?.0 }),
                      let e = field("end").flatMap({ MemmapParameter.memparse(Substring($0))?.0 }), e >= s else { continue }
                ram.append(PhysicalRange(start: s, size: e - s + 1))
            }
            if !ram.isEmpty { return (ram.sorted { $0.start < $1.start }, root) }
        }
        guard let text = try? system.readText(IOMem.path) else { return nil }
        let entries = IOMem.parse(text)
        guard !IOMem.addressesHidden(entries) else { return nil }
        let ram = entries.filter { $0.depth == 0 && $0.name == "System RAM" }.map(\.range) + IOMem.softReserved(entries)
        return ram.isEmpty ? nil : (ram.sorted { $0.start < $1.start }, IOMem.path)
    }

    public var explanation: [String] {
        [
            "holds back \(region) (\(sizeText(region.size))): from a 2 GiB boundary (kmem adds whole memory blocks, up to 2 GiB each) to the top of RAM (held back below the top, it would be a hibernation nosave region: snapshots would silently omit it)",
            "leaves \(sizeText(lowBytes)) below it for the boot, which needs at least \(sizeText(neededLowBytes)): \(sizeText(Self.bootBytes)) for the kernel, the initramfs, udev and the agent (its decode buffers, a kernel image held for kexec), plus \(sizeText(Self.structPagesPerGiB)) per GiB held back for the struct pages of that memory once it is online",
            nokaslr
                ? "nokaslr: add it: on a BIOS boot KASLR may place the kernel inside the held-back memory (it is larger than the memory below it)"
                : "nokaslr: not needed (\(region.size > region.start ? "a UEFI boot" : "the held-back memory is no larger than its start"))",
        ]
    }
}
