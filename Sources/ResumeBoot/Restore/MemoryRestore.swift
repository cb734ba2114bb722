import ResumeCore
import ResumeSystem

/// Memory images (kernel A saved by a kexec-jump hibernate kernel): the
/// boot kernel C checks the whole image, loads the restore stub, the page
/// map and the stored chunks as one kexec segment, and jumps; after C has
/// stopped, the stub puts A's pages in place and enters A's re-entry point
/// (stub/restore-stub.h has the segment's layout).
///
/// One segment whatever A's size: kexec_load stages at most half of RAM,
/// and this way only the image (compressed, free pages left out) must fit,
/// not A's RAM. The segment is placed in pages A did not save, so the stub
/// never overwrites itself; C's own memory is A's to take back once C has
/// stopped.
struct MemoryRestore: RestorePath {
    let system: BootSystem
    let reader: ImageReader<AnySource>
    /// The stub's segment, kept until the jump.
    private var segment: ScratchBuffer?

    init(system: BootSystem, reader: ImageReader<AnySource>) {
        self.system = system
        self.reader = reader
    }

    var irreversibleStep: String { "jumping to the restore stub, then kernel A (reboot LINUX_REBOOT_CMD_KEXEC)" }
    var verb: String { "jumping" }

    static let stackBytes: UInt64 = 0x10000
    /// The stub identity-maps at most this much (its page tables' size).
    static let maxMappedBytes: UInt64 = 64 << 30
    static let lowestBase: UInt64 = 16 << 20, baseAlignment: UInt64 = 2 << 20

    mutating func prepare() throws(BootReason) {
        let h = reader.header
        try checkSameMachineAndKernel(h)
        // The segment may land in memory held back at boot, and kexec_load's
        // half-of-RAM limit counts online memory: bring it all online first.
        if let result = try? MemoryHotplug.onlineEverything(system, cmdline: try? system.readText("/proc/cmdline")),
           !result.onlined.isEmpty {
            system.log("memory: \(result.onlined.count) blocks onlined for kernel A's image (\(result.layout.onlineMiB) MiB online)")
        }
        let totalRAM = ((try? system.readText("/proc/meminfo")).flatMap { ProcFields.number("MemTotal", in: $0) } ?? 0) * 1024
        let ranges = PageMap.ranges(of: h)
        let mapEnd = ranges.map(\.end).max() ?? 0
        guard mapEnd <= Self.maxMappedBytes, totalRAM > 0, h.entries[0].rawSize <= totalRAM / 64 else {
            throw BootReason(.otherMemory, "kernel A's RAM ends at \(hexAddress(mapEnd)), beyond what this machine and the restore stub handle")
        }
        let map: PageMap
        do {
            map = try PageMap(ranges: ranges, bits: try reader.readEntry(0, limit: h.entries[0].rawSize))
            try map.check(against: h)
        } catch {
            throw BootReason(error, otherwise: .imageInvalid)
        }
        let layout = SegmentLayout(header: h, stubBytes: UInt64(RestoreStubCode.bytes.count))
        guard layout.total <= totalRAM / 2 else {
            throw BootReason(.loadFailed, "kernel A's image needs a \(sizeText(layout.total)) kexec segment; kexec_load stages at most half of the \(sizeText(totalRAM)) online")
        }
        let ram = IOMem.parse((try? system.readText(IOMem.path)) ?? "").filter { $0.depth == 0 && $0.name == "System RAM" }.map(\.range)
        guard let base = Self.place(layout.total, ram: ram, savedByA: map) else {
            throw BootReason(.loadFailed, "no \(sizeText(layout.total)) run of this kernel's RAM is free in kernel A for the restore stub")
        }
        let mapLimit = (max(mapEnd, base + layout.total) + (1 << 30) - 1) & ~((1 << 30) - 1)
        let buffer = ScratchBuffer(count: Int(layout.total))
        buffer.memory.initializeMemory(as: UInt8.self, repeating: 0)
        RestoreStubCode.bytes.withUnsafeBytes { buffer.memory.copyMemory(from: $0) }
        map.bits.withUnsafeBytes {
            UnsafeMutableRawBufferPointer(rebasing: buffer.memory[Int(layout.mapOffset)...]).copyMemory(from: $0)
        }
        var chunk = 0
        do {
            let data = UnsafeMutableRawBufferPointer(rebasing: buffer.memory[Int(layout.dataOffset)..<Int(layout.dataOffset + h.storedTotal - h.entries[0].storedSize)])
            try reader.loadStoredChunks(entries: 1..<h.entries.count, into: data, pool: WorkerPool(threads: WorkerPool.onlineCPUs)) { _, stored, raw in
                let at = Int(layout.chunksOffset) + chunk * 8
                buffer.memory.storeBytes(of: stored.littleEndian, toByteOffset: at, as: UInt32.self)
                buffer.memory.storeBytes(of: raw.littleEndian, toByteOffset: at + 4, as: UInt32.self)
                chunk += 1
            }
        } catch {
            throw BootReason(error, otherwise: .deviceUnreadable)
        }
        layout.writeParameters(into: buffer.memory, header: h, ranges: ranges, mapLimit: mapLimit)
        system.log("kernel A's image: \(map.savedPages) of \(map.totalPages) pages saved, \(sizeText(h.storedTotal)) stored; restore stub segment \(sizeText(layout.total)) at \(hexAddress(base)), A's re-entry point \(hexAddress(h.entryAddress))")
        let segments = [KexecSegment(buffer: UnsafeRawBufferPointer(buffer.memory), memory: base, memorySize: layout.total)]
        do {
            try system.kexecLoad(entry: base, segments: segments)
        } catch {
            throw BootReason(.loadFailed, KexecPolicy.explain(call: "kexec_load", errno: SystemError("kexec_load", path: nil, error).errno))
        }
        segment = buffer
    }

    /// Only the very kernel and machine A ran on: the same release and
    /// build, the same firmware memory map. Checked before anything is loaded.
    func checkSameMachineAndKernel(_ h: ImageHeader) throws(BootReason) {
        let (release, _) = system.uname()
        guard h.producerRelease == release else {
            throw BootReason(.otherKernel, "kernel A's image was saved from kernel \(h.producerRelease.escapingControlCharacters), this is \(release)")
        }
        guard let own = (try? system.readBytes(KernelNotes.path)).flatMap(KernelNotes.buildID) else {
            throw BootReason(.otherKernel, "cannot read this kernel's build id (\(KernelNotes.path)), so cannot tell it is kernel A's")
        }
        guard own == h.kernelBuildID else {
            throw BootReason(.otherKernel, "kernel A's image was saved from build \(hexBytes(h.kernelBuildID)) of \(release), this is build \(hexBytes(own))")
        }
        guard let map = FirmwareMemoryMap.read({ try? system.readText($0) }) else {
            throw BootReason(.otherMemory, "cannot read this machine's firmware memory map (/sys/firmware/memmap)")
        }
        guard map.hash == h.memoryLayoutHash else {
            throw BootReason(.otherMemory, "kernel A's image was saved on a machine with another firmware memory map (hash \(hex16(h.memoryLayoutHash)), this one \(hex16(map.hash)))")
        }
    }

    /// The lowest base (2 MiB aligned, at least 16 MiB) where `size` bytes
    /// lie in this kernel's RAM and hold no page A saved.
    static func place(_ size: UInt64, ram: [PhysicalRange], savedByA map: PageMap) -> UInt64? {
        let page = ImageHeader.pageSize
        func align(_ v: UInt64) -> UInt64 { (v + baseAlignment - 1) & ~(baseAlignment - 1) }
        for r in ram.sorted(by: { $0.start < $1.start }) {
            var base = align(max(r.start, lowestBase))
            scan: while base + size <= r.end, base + size <= maxMappedBytes {
                var address = base
                while address < base + size {
                    if let bit = map.bit(of: address), map.isSaved(bit) {
                        base = align(address + page)
                        continue scan
                    }
                    address += page
                }
                return base
            }
        }
        return nil
    }

    func confirmLoaded() throws(BootReason) { try Self.confirmKexecLoaded(system) }
    func rollBack() { system.kexecUnload() }
    func irreversible() -> BootReason { BootReason(.irreversibleFailed, "the jump failed: \(system.kexecJump())") }
}

/// Where each part of the stub's segment goes (stub/restore-stub.h).
struct SegmentLayout {
    let paramsOffset: UInt64, mapOffset: UInt64, chunksOffset: UInt64, dataOffset: UInt64
    let scratchOffset: UInt64, scratchBytes: UInt64, total: UInt64
    let chunkCount: UInt64

    init(header h: ImageHeader, stubBytes: UInt64) {
        func pageUp(_ v: UInt64) -> UInt64 { (v + 4095) & ~4095 }
        let mapBytes = h.entries[0].rawSize
        chunkCount = h.entries.dropFirst().reduce(0) { $0 + $1.chunkCount }
        paramsOffset = pageUp(stubBytes)
        mapOffset = paramsOffset + 4096
        chunksOffset = pageUp(mapOffset + mapBytes)
        dataOffset = pageUp(chunksOffset + chunkCount * 8)
        scratchOffset = pageUp(dataOffset + h.storedTotal - h.entries[0].storedSize)
        // Stack, page tables for up to 64 GiB (PML4, PDPT, 64 PDs), one chunk's decode buffer.
        scratchBytes = MemoryRestore.stackBytes + (2 + 64) * 4096 + UInt64(h.chunkSize)
        total = scratchOffset + scratchBytes
    }

    func writeParameters(into memory: UnsafeMutableRawBufferPointer, header h: ImageHeader, ranges: [PageMap.Range], mapLimit: UInt64) {
        let p = Int(paramsOffset)
        func put(_ at: Int, _ v: UInt64) { memory.storeBytes(of: v.littleEndian, toByteOffset: p + at, as: UInt64.self) }
        put(0x00, 0x3130_4255_5453_5246) // "FRSTUB01"
        put(0x08, h.entryAddress)
        put(0x10, mapLimit)
        put(0x18, scratchOffset)
        put(0x20, scratchBytes)
        put(0x28, mapOffset)
        put(0x30, chunksOffset)
        put(0x38, chunkCount)
        put(0x40, dataOffset)
        put(0x48, h.storedTotal - h.entries[0].storedSize)
        put(0x50, UInt64(h.chunkSize))
        put(0x58, UInt64(ranges.count))
        for (i, (r, e)) in zip(ranges, h.entries.dropFirst()).enumerated() {
            put(0x60 + i * 24, r.start)
            put(0x68 + i * 24, r.pages)
            put(0x70 + i * 24, e.chunkCount)
        }
        put(0x1C8, 0)
        put(0x1D0, total)
    }
}

func hexBytes(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

func hex16(_ v: UInt64) -> String {
    let digits = String(v, radix: 16)
    return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
}
