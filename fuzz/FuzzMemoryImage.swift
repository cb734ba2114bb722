// libFuzzer targets over the readers of the kexec-jump paths' files:
//   memory-image  a memory image (kind 4) with its page map: the header's
//                 layout rules, the table, the page map as the agent builds
//                 it (PageMap) and as verify counts it (PageMapCount), the
//                 chunks, and the firmware-map check C makes of each range;
//   kept-kernel   a kept hibernate kernel's file: the one predicate, its
//                 fields and the checks A makes before it loads one.
// Any bytes give a verdict, never a crash, a hang or an allocation sized
// by the input's numbers; and the two page-map readers agree.

func fuzzMemoryImage(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    var bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if size > 0, data[size - 1] & 1 == 1 { reseal(&bytes) }
    guard let reader = try? ImageReader(source: MemoryImage(bytes)), reader.header.kind == .memory else { return 0 }
    let h = reader.header
    // The agent's map: the page map entry, read with a bound, then the ranges' rules.
    var agentVerdict = true
    do {
        try reader.checkTable()
        let map = try PageMap(ranges: PageMap.ranges(of: h), bits: try reader.readEntry(0, limit: 1 << 20))
        try map.check(against: h)
        guard map.savedPages <= map.totalPages else { fatalError("more saved pages than the ranges hold") }
    } catch {
        agentVerdict = false
    }
    // verify's streaming count must say the same of the same bytes
    // (a page map past the agent's bound aside).
    var verifyVerdict = true
    do { try reader.verifyContents() } catch { verifyVerdict = false }
    if verifyVerdict, !agentVerdict, h.entries.first.map({ $0.rawSize <= 1 << 20 }) == true {
        fatalError("verify accepts a page map the agent refuses")
    }
    // C's check of each range against a firmware map: RAM at 1 MiB-2 GiB.
    let firmware = FirmwareMemoryMap(entries: [.init(start: 0, end: 0x9_fbff, type: "System RAM"),
                                               .init(start: 0x10_0000, end: 0x7fff_ffff, type: "System RAM")])
    for e in h.entries where e.type.holdsPages {
        _ = firmware.isRAM(PhysicalRange(start: e.physicalAddress, size: e.memorySize))
    }
    return 0
}

func fuzzKeptKernel(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    var bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if size > 0, data[size - 1] & 1 == 1 { reseal(&bytes) }
    guard let reader = try? ImageReader(source: MemoryImage(bytes)) else { return 0 }
    let h = reader.header
    guard SavedHibernateKernelFile.isSavedHibernateKernel(h) else { return 0 }
    guard let file = try? SavedHibernateKernelFile(h) else { return 0 }
    // Its fields give back the header they were read from.
    let again = file.header(createdAt: h.createdAt)
    guard again.entryAddress == h.entryAddress, again.kernelBuildID == h.kernelBuildID,
          again.memoryLayoutHash == h.memoryLayoutHash, again.producerRelease == h.producerRelease else {
        fatalError("a saved hibernate kernel's fields do not give back its header")
    }
    let expected = SavedHibernateKernelFile.Expected(window: PhysicalRange(start: 0x4000_0000, size: 8192),
                                                     identity: [UInt8](repeating: 0xAB, count: 32), firmwareMapHash: 0x1234)
    guard file.mismatch(expected) == nil else { return 0 }
    // What A does next with a file that fits: the whole file, checked.
    do {
        try reader.requireValidState()
        try reader.checkTable()
        var filled: UInt64 = 0
        try reader.forEachChunk(entry: 0) { _, _, raw in filled += UInt64(raw.count) }
        guard filled == file.window.size else { fatalError("a verified saved hibernate kernel does not fill its window") }
    } catch {}
    return 0
}
