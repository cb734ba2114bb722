/// Kernel A's real-mode trampoline: the pages below 1 MiB that A's
/// secondary CPUs start from (INIT, then a SIPI to its 16-bit code, which
/// switches to long mode with the page table and GDT A wrote into it at
/// boot). x86-64 reserves the first MiB at boot and uses nothing else in it
/// after boot, but this it uses every time a CPU comes online, and a kexec
/// jump brings A's secondary CPUs back online through it. B and C, booting
/// in low memory, put their own trampolines there (the same kernel on the
/// same machine allocates the same pages), so B must leave A's alone (it
/// is ACPI data in B's `memmap=exactmap`) and save it, and the restore stub
/// puts it back.
///
/// Found from A's own data, as crash and makedumpfile find symbols:
/// `real_mode_header` (/proc/kallsyms, a data symbol: CONFIG_KALLSYMS_ALL)
/// points at the trampoline's start; /proc/kcore reads that pointer and
/// maps its direct-map address to a physical one; its size is the real-mode
/// blob's (`real_mode_blob_end - real_mode_blob`, whole pages), as the
/// kernel's `reserve_real_mode` sizes it.
public enum RealModeTrampoline {
    public static let symbols = ["real_mode_header", "real_mode_blob", "real_mode_blob_end"]
    public static let path = KallsymsScan.path, kcore = "/proc/kcore"
    /// The trampoline lives below this (the kernel allocates it under 1 MiB).
    public static let limit: UInt64 = 1 << 20

    /// The addresses of `symbols` from a scan of /proc/kallsyms, or why not.
    public static func addresses(_ scan: KallsymsScan) -> Result<[String: UInt64], Failure> {
        if scan.hidden { return .failure(Failure("\(path) hides addresses (kernel.kptr_restrict): run as root")) }
        for name in symbols where scan.addresses[name] == nil {
            return .failure(Failure("\(path) has no \(name) (a kernel without CONFIG_KALLSYMS_ALL lists no data symbols)"))
        }
        return .success(scan.addresses.filter { symbols.contains($0.key) })
    }

    /// The same from the file's text.
    public static func addresses(kallsyms text: String) -> Result<[String: UInt64], Failure> {
        addresses(KallsymsScan.scanning(text, names: symbols))
    }

    /// The trampoline's physical range from the symbols' addresses, the
    /// pointer read at `real_mode_header`, and the direct-map address.
    public static func range(addresses: [String: UInt64], header: UInt64) -> Result<PhysicalRange, Failure> {
        guard let blob = addresses["real_mode_blob"], let end = addresses["real_mode_blob_end"], end > blob, end - blob < limit else {
            return .failure(Failure("real_mode_blob..real_mode_blob_end is not a size below 1 MiB"))
        }
        let size = (end - blob + ImageHeader.pageSize - 1) & ~(ImageHeader.pageSize - 1)
        guard header % ImageHeader.pageSize == 0, header < limit, size <= limit - header else {
            return .failure(Failure("real_mode_header points at \(hexAddress(header)), not a page below 1 MiB with \(size) bytes after it"))
        }
        return .success(PhysicalRange(start: header, size: size))
    }

    /// The `PT_LOAD`s of /proc/kcore (an ELF64 core file: virtual address,
    /// physical address or all ones, file offset, size), from its first
    /// `bytes` (the ELF header and its program headers).
    public struct Load: Sendable, Equatable {
        public var virtualAddress: UInt64, physicalAddress: UInt64, offset: UInt64, size: UInt64
    }

    /// How many bytes of /proc/kcore hold its ELF header and program
    /// headers, from its first 64 bytes; nil if it is not an ELF64 core.
    public static func headerBytes(_ first: [UInt8]) -> Int? {
        guard first.count >= 64, first[0..<4] == [0x7F, 0x45, 0x4C, 0x46], first[4] == 2, first[5] == 1 else { return nil }
        let b = LittleEndianBytes(first)
        guard b.u16(16) == 4, b.u16(54) == 56, b.u16(56) > 0, b.u64(32) < 1 << 20 else { return nil }
        return Int(b.u64(32)) + Int(b.u16(56)) * 56
    }

    public static func loads(_ bytes: [UInt8]) -> [Load] {
        guard let need = headerBytes(bytes), bytes.count >= need else { return [] }
        let b = LittleEndianBytes(bytes)
        let phoff = Int(b.u64(32))
        return (0..<Int(b.u16(56))).compactMap { i in
            let o = phoff + i * 56
            guard b.u32(o) == 1 else { return nil }
            return Load(virtualAddress: b.u64(o + 16), physicalAddress: b.u64(o + 24), offset: b.u64(o + 8), size: b.u64(o + 32))
        }
    }

    /// The load holding `virtual` (and `count` bytes after it).
    public static func load(holding virtual: UInt64, count: UInt64 = 1, in loads: [Load]) -> Load? {
        loads.first { virtual >= $0.virtualAddress && virtual - $0.virtualAddress < $0.size && $0.size - (virtual - $0.virtualAddress) >= count }
    }

    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }
}
