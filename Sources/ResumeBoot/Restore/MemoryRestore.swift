import CRestoreStub
import ResumeCore
import ResumeSystem

/// Memory images (kernel A saved by a kexec-jump hibernate kernel): the
/// boot kernel C checks the whole image, loads the restore stub, the page
/// map and the stub's chunks as one kexec segment, and jumps; after C has
/// stopped, the stub puts A's pages in place and enters A's re-entry point
/// (stub/restore-stub.h has the segment's layout).
///
/// One segment whatever A's size: kexec_load stages at most half of RAM,
/// and this way only the image (compressed, free pages left out) must fit,
/// not A's RAM. The segment is placed in pages A did not save, so the stub
/// never overwrites itself; C's own memory is A's to take back once C has
/// stopped. Confined (memmap= held memory back), C writes A's pages there
/// in place through device-dax, and the stub's chunks too, in a run A left
/// free, so that the segment holds only the stub, its map and its table.
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
        let ranges = PageMap.ranges(of: h)
        guard h.entries.count >= 2, h.entries[0].type == .pageMap, ranges.count == h.entries.count - 1 else {
            throw BootReason(.imageInvalid, "kernel A's image has no page map followed by its pages entries")
        }
        // Confined (memmap= held memory back): A's pages there are written in
        // place through device-dax, and the held-back memory stays offline.
        // Otherwise the segment may land in memory held back at boot (a
        // DIMM), and kexec_load's half-of-RAM limit counts online memory:
        // bring it all online first.
        let heldBack = Self.mapHeldBack(system, over: ranges)
        if heldBack.isEmpty, let result = try? MemoryHotplug.onlineEverything(system, cmdline: try? system.readText("/proc/cmdline")),
           !result.onlined.isEmpty {
            system.log("memory: \(result.onlined.count) blocks onlined for kernel A's image (\(result.layout.onlineMiB) MiB online)")
        }
        let totalRAM = ((try? system.readText("/proc/meminfo")).flatMap { ProcFields.number("MemTotal", in: $0) } ?? 0) * 1024
        let mapEnd = ranges.map(\.end).max() ?? 0
        guard mapEnd <= Self.maxMappedBytes, totalRAM > 0, h.entries[0].rawSize <= totalRAM / 64 else {
            throw BootReason(.otherMemory, "kernel A's RAM ends at \(hexAddress(mapEnd)), beyond what this machine and the restore stub handle")
        }
        let plan: RestorePlan
        do {
            let map = try PageMap(ranges: ranges, bits: try reader.readEntry(0, limit: h.entries[0].rawSize))
            try map.check(against: h)
            plan = try RestorePlan(map: map, chunkPages: Self.chunkPages(h), heldBack: heldBack.map(\.range))
        } catch {
            throw BootReason(error, otherwise: .imageInvalid)
        }
        // The stub's chunks: their stored sizes from the (checked) table;
        // a split chunk goes to the stub uncompressed.
        var storedData: UInt64 = 0, rawData: UInt64 = 0
        var stubChunkCount: UInt64 = 0
        do {
            try reader.forEachDescriptor(from: h.entries[1].firstChunk, count: h.chunkCount - h.entries[1].firstChunk) { index, d, _ in
                let c = plan.chunks[Int(index - h.entries[1].firstChunk)]
                guard c.stubPages > 0 else { return }
                stubChunkCount += 1
                storedData += c.route == .stub ? UInt64(d.storedSize) : UInt64(c.stubPages) * ImageHeader.pageSize
                rawData += UInt64(c.stubPages) * ImageHeader.pageSize
            }
        } catch {
            throw BootReason(error, otherwise: .deviceUnreadable)
        }
        // Confined, the stub's chunks go into held-back memory A left free
        // (never a page A saved, nor one C puts in place): kexec_load then
        // copies only the stub, its map and its table, and the stub reads
        // them where C wrote them. C decodes them there too, on every CPU,
        // while it reads, when a free run holds them decoded: the stub, on
        // one CPU after C stopped, then only copies (on 2 TCG CPUs about
        // even, 0.4 s moved from the stub to C; more CPUs favour C).
        let heldRanges = heldBack.map(\.range)
        let decodedParked = heldBack.isEmpty ? nil : Self.place(rawData, ram: heldRanges, savedByA: plan.map)
        let parked = decodedParked ?? (heldBack.isEmpty ? nil : Self.place(storedData, ram: heldRanges, savedByA: plan.map))
        let decodeForStub = decodedParked != nil
        let stubData = decodeForStub ? rawData : storedData
        let layout = SegmentLayout(stubBytes: UInt64(RestoreStubCode.bytes.count), mapBytes: h.entries[0].rawSize,
                                   chunkCount: stubChunkCount, dataBytes: stubData, chunkSize: UInt64(h.chunkSize), dataAddress: parked)
        guard layout.total <= totalRAM / 2 else {
            throw BootReason(.loadFailed, "kernel A's image needs a \(sizeText(layout.total)) kexec segment; kexec_load stages at most half of the \(sizeText(totalRAM)) online")
        }
        let ram = IOMem.parse((try? system.readText(IOMem.path)) ?? "").filter { $0.depth == 0 && $0.name == "System RAM" }.map(\.range)
        guard let base = Self.place(layout.total, ram: ram, savedByA: plan.stubMap) else {
            throw BootReason(.loadFailed, "no \(sizeText(layout.total)) run of this kernel's RAM is free in kernel A for the restore stub")
        }
        let mapLimit = (max(mapEnd, base + layout.total, (parked ?? 0) + stubData) + (1 << 30) - 1) & ~((1 << 30) - 1)
        let buffer = ScratchBuffer(count: Int(layout.total))
        RestoreStubCode.bytes.withUnsafeBytes { buffer.memory.copyMemory(from: $0) }
        plan.stubMap.bits.withUnsafeBytes {
            UnsafeMutableRawBufferPointer(rebasing: buffer.memory[Int(layout.mapOffset)...]).copyMemory(from: $0)
        }
        let start = system.monotonicMilliseconds()
        let cpus = WorkerPool.onlineCPUs
        let stubChunks: UnsafeMutableRawBufferPointer
        if let parked, let region = heldBack.first(where: { parked >= $0.range.start && parked < $0.range.end }) {
            let at = Int(parked - region.range.start)
            stubChunks = UnsafeMutableRawBufferPointer(rebasing: region.mapping.memory[at..<(at + Int(stubData))])
        } else {
            stubChunks = UnsafeMutableRawBufferPointer(rebasing: buffer.memory[Int(layout.dataOffset)..<Int(layout.dataOffset + stubData)])
        }
        do {
            try place(plan, heldBack: heldBack, layout: layout, into: buffer.memory, stubChunks: stubChunks, decodeForStub: decodeForStub,
                      pool: WorkerPool(threads: cpus))
        } catch {
            throw BootReason(error, otherwise: .deviceUnreadable)
        }
        layout.writeParameters(into: buffer.memory, entry: h.entryAddress, ranges: ranges, chunks: plan.stubChunks, mapLimit: mapLimit)
        let ms = system.monotonicMilliseconds() - start
        let devices = heldBack.map { "\($0.name) \($0.range)" }.joined(separator: ", ")
        system.log("kernel A's image: \(plan.map.savedPages) of \(plan.map.totalPages) pages saved, \(sizeText(h.storedTotal)) stored; "
            + "\(plan.inPlacePages) pages put in place through dax\(heldBack.isEmpty ? " (no device-dax memory mapped)" : " (\(devices))") and \(plan.stubPages) left to the restore stub, "
            + "in \(ms) ms on \(cpus) CPU\(cpus == 1 ? "" : "s"); stub segment \(sizeText(layout.total)) at \(hexAddress(base))"
            + (parked.map { ", its chunks (\(sizeText(stubData)), \(decodeForStub ? "decoded" : "as stored")) in held-back memory at \(hexAddress($0))" } ?? "")
            + ", A's re-entry point \(hexAddress(h.entryAddress))")
        let segments = [KexecSegment(buffer: UnsafeRawBufferPointer(buffer.memory), memory: base, memorySize: layout.total)]
        do {
            try system.kexecLoad(entry: base, segments: segments)
        } catch {
            throw BootReason(.loadFailed, KexecPolicy.explain(call: "kexec_load", errno: SystemError("kexec_load", path: nil, error).errno))
        }
        segment = buffer
    }

    /// Held-back memory C can write A's pages into: each device-dax device
    /// of a `memmap=` range that holds some of A's ranges, bound to
    /// device_dax (taken back from kmem if a kernel with kmem built in gave
    /// it to kmem at boot), mapped whole. A device that cannot be
    /// mapped is left out (its pages go to the stub, and it is onlined if
    /// the boot goes on).
    struct HeldBackRegion {
        var name: String
        var range: PhysicalRange
        var mapping: MappedMemory
    }

    static func mapHeldBack(_ system: BootSystem, over ranges: [PageMap.Range]) -> [HeldBackRegion] {
        let cmdline = try? system.readText("/proc/cmdline")
        guard !MemmapParameter.heldBack(KernelCommandLine(cmdline ?? "")).isEmpty else { return [] }
        // dax_hmem makes the devices (a module on Debian's kernels).
        for failure in HeldBackMemory.loadModules(system) { system.log("memory: \(failure)") }
        let survey = HeldBackMemory.survey(system, cmdline: cmdline)
        var out: [HeldBackRegion] = []
        for region in survey.regions {
            guard ranges.contains(where: { region.range.overlaps(PhysicalRange(start: $0.start, size: $0.end - $0.start)) }) else { continue }
            guard var device = region.device else {
                system.log("held-back \(region.range) holds some of kernel A's pages but has no device-dax device; the restore stub writes them")
                continue
            }
            if device.driver == "kmem" {
                do {
                    device = try HeldBackMemory.reclaimFromKmem(system, device)
                    system.log("memory: \(device.name) taken back from kmem for device_dax (its blocks were offline), to put kernel A's pages there")
                } catch {
                    system.log("memory: \(error); the restore stub writes kernel A's pages there")
                    continue
                }
            }
            guard device.driver == "device_dax" else {
                system.log("held-back \(region.range) holds some of kernel A's pages but \(device.name) is bound to \(device.driver ?? "no driver"), not device_dax; the restore stub writes them")
                continue
            }
            do {
                out.append(HeldBackRegion(name: device.name, range: device.range,
                                          mapping: try system.mapDevice("/dev/\(device.name)", bytes: device.range.size)))
            } catch {
                system.log("cannot map \(device.name) (\(device.range)) to put kernel A's pages there: \(error); the restore stub writes them")
            }
        }
        return out
    }

    /// The pages of each chunk of each `pages` entry.
    static func chunkPages(_ h: ImageHeader) -> [[UInt32]] {
        h.entries.dropFirst().map { e in
            (0..<e.chunkCount).map { i in UInt32(min(UInt64(h.chunkSize), e.rawSize - i * UInt64(h.chunkSize)) / ImageHeader.pageSize) }
        }
    }

    /// Every chunk of A's pages, once, on every CPU: decoded (and checked)
    /// straight into held-back memory, or checked and handed to the stub
    /// as stored, or, split, decoded once and shared between the two.
    /// `stubChunks`: where the stub's chunks go, back to back (in the
    /// segment, or in held-back memory); `decodeForStub`: decoded there
    /// (the stub copies them), not as stored (the stub decodes them).
    func place(_ plan: RestorePlan, heldBack: [HeldBackRegion], layout: SegmentLayout,
               into segment: UnsafeMutableRawBufferPointer, stubChunks: UnsafeMutableRawBufferPointer, decodeForStub: Bool,
               pool: WorkerPool) throws {
        let h = reader.header, hash = h.chunkHash, firstChunk = h.entries[1].firstChunk
        let page = Int(ImageHeader.pageSize)
        // Where each chunk's stub bytes go, given in chunk order as the table streams past.
        let dataAt = UnsafeMutableBufferPointer<Int>.allocate(capacity: max(plan.chunks.count, 1))
        defer { dataAt.deallocate() }
        var cursor = 0, slot = 0
        let regions = heldBack.map { ($0.range, $0.mapping.memory) }
        try reader.forEachStoredChunk(entries: 1..<h.entries.count, pool: pool, queued: { index, d in
            let c = plan.chunks[Int(index - firstChunk)]
            guard c.stubPages > 0 else { return }
            let asStored = c.route == .stub && !decodeForStub
            let stored = asStored ? UInt32(d.storedSize) : c.stubPages * UInt32(page)
            let raw = asStored ? d.rawSize : stored
            segment.storeBytes(of: stored.littleEndian, toByteOffset: Int(layout.chunksOffset) + slot * 8, as: UInt32.self)
            segment.storeBytes(of: raw.littleEndian, toByteOffset: Int(layout.chunksOffset) + slot * 8 + 4, as: UInt32.self)
            dataAt[Int(index - firstChunk)] = cursor
            cursor += Int(stored)
            slot += 1
        }, work: { index, d, stored, scratch in
            let c = Int(index - firstChunk), chunk = plan.chunks[c]
            if chunk.route == .stub && !decodeForStub {
                if let failure = ImageReader<AnySource>.checkStored(stored, d, index: index, hash: hash) { return failure }
                UnsafeMutableRawBufferPointer(rebasing: stubChunks[dataAt[c]..<(dataAt[c] + stored.count)]).copyMemory(from: stored)
                return nil
            }
            let raw = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<Int(d.rawSize)])
            if let failure = ImageReader<AnySource>.checkAndDecode(stored, d, index: index, hash: hash, into: raw) { return failure }
            var toStub = chunk.stubPages > 0 ? dataAt[c] : 0
            plan.forEachPage(of: c, count: d.rawSize / UInt32(page)) { j, address in
                let source = UnsafeRawBufferPointer(rebasing: raw[(j * page)..<((j + 1) * page)])
                if let (range, memory) = regions.first(where: { address >= $0.0.start && address < $0.0.end }) {
                    let at = Int(address - range.start)
                    UnsafeMutableRawBufferPointer(rebasing: memory[at..<(at + page)]).copyMemory(from: source)
                } else {
                    UnsafeMutableRawBufferPointer(rebasing: stubChunks[toStub..<(toStub + page)]).copyMemory(from: source)
                    toStub += page
                }
            }
            return nil
        })
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
        // Honest checksums can still name memory that is not RAM here: the
        // stub would write there.
        for (i, e) in h.entries.enumerated() where e.type.holdsPages {
            let range = PhysicalRange(start: e.physicalAddress, size: e.memorySize)
            guard map.isRAM(range) else {
                throw BootReason(.imageInvalid, "kernel A's image: \(e.type.name) \(i) range \(range) is not RAM in this machine's firmware memory map")
            }
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
    let chunkCount: UInt64, dataBytes: UInt64, chunkSize: UInt64
    /// The stored chunks' physical address when they lie outside the segment.
    let dataAddress: UInt64?

    init(stubBytes: UInt64, mapBytes: UInt64, chunkCount: UInt64, dataBytes: UInt64, chunkSize: UInt64, dataAddress: UInt64? = nil) {
        func pageUp(_ v: UInt64) -> UInt64 { (v + 4095) & ~4095 }
        self.chunkCount = chunkCount
        self.dataBytes = dataBytes
        self.chunkSize = chunkSize
        self.dataAddress = dataAddress
        paramsOffset = pageUp(stubBytes)
        mapOffset = paramsOffset + 4096
        chunksOffset = pageUp(mapOffset + mapBytes)
        dataOffset = pageUp(chunksOffset + chunkCount * 8)
        scratchOffset = pageUp(dataOffset + (dataAddress == nil ? dataBytes : 0))
        // Stack, page tables for up to 64 GiB (PML4, PDPT, 64 PDs), one chunk's decode buffer.
        scratchBytes = MemoryRestore.stackBytes + (2 + 64) * 4096 + chunkSize
        total = scratchOffset + scratchBytes
    }

    /// `chunks[r]`: the stub's chunks of range `r`. The params page is
    /// `struct fr_stub_params` of stub/restore-stub.h (CRestoreStub): its
    /// layout lives there alone.
    func writeParameters(into memory: UnsafeMutableRawBufferPointer, entry: UInt64, ranges: [PageMap.Range], chunks: [UInt64], mapLimit: UInt64) {
        var p = fr_stub_params()
        p.magic = FR_STUB_MAGIC
        p.entry = entry
        p.map_limit = mapLimit
        p.scratch_off = scratchOffset
        p.scratch_bytes = scratchBytes
        p.map_off = mapOffset
        p.chunks_off = chunksOffset
        p.chunk_count = chunkCount
        p.data_off = dataAddress == nil ? dataOffset : 0
        p.data_bytes = dataBytes
        p.chunk_size = chunkSize
        p.nranges = UInt64(ranges.count)
        withUnsafeMutableBytes(of: &p.ranges) { slots in
            let out = slots.bindMemory(to: fr_stub_range.self)
            for (i, (r, n)) in zip(ranges, chunks).enumerated() where i < Int(FR_STUB_MAX_RANGES) {
                out[i] = fr_stub_range(start: r.start, pages: r.pages, chunks: n)
            }
        }
        p.status = 0
        p.segment_bytes = total
        p.data_addr = dataAddress ?? 0
        withUnsafeBytes(of: &p) { UnsafeMutableRawBufferPointer(rebasing: memory[Int(paramsOffset)..<(Int(paramsOffset) + $0.count)]).copyMemory(from: $0) }
    }
}

func hexBytes(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

func hex16(_ v: UInt64) -> String {
    let digits = String(v, radix: 16)
    return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
}
