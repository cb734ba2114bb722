#if canImport(Glibc)
import Glibc
#endif
import ResumeCore
import ResumeSystem

/// The hibernate kernel B's side of a kexec-jump hibernation: kernel A
/// jumped here with KEXEC_PRESERVE_CONTEXT (`resume-image hibernate
/// --kexec-jump`); save A's memory as a memory image (docs/FORMAT.md,
/// kind 4), then power off (hibernation) or jump back (a checkpoint).
///
/// A's RAM is not B's: A's side made it ACPI data on B's command line, so
/// B reads it through /dev/mem and never allocates it. Pages A's buddy
/// allocator holds free are left out (A's vmcoreinfo says where its struct
/// pages are). When anything goes wrong, B jumps back to A, which goes on
/// running: a failed save never costs the running system.
public struct KernelASave {
    let system: BootSystem
    let request: JumpSaveRequest
    let waitSeconds: UInt32

    public init(system: BootSystem, request: JumpSaveRequest, waitSeconds: UInt32 = AgentSettings.defaultWaitSeconds) {
        self.system = system
        self.request = request
        self.waitSeconds = waitSeconds
    }

    /// Saves, then powers off or jumps back. Returns only when neither
    /// happened, with the exit status for the boot script.
    public func run() -> Int32 {
        let r = request
        system.log("kexec jump from kernel A (re-entry point \(hexAddress(r.reentry))): saving A's memory to \(r.target), then \(r.then == .poweroff ? "powering off" : "jumping back")")
        let then: JumpSaveRequest.Then
        do {
            try save()
            then = r.then
        } catch {
            system.log("kernel A not saved: \(error.reason); jumping back to A, which goes on running")
            then = .back
        }
        if then == .poweroff {
            system.log("powering off; the next boot puts kernel A back")
            system.log("power off failed: \(system.powerOff()); jumping back to A")
        }
        return jumpBack()
    }

    struct SaveFailure: Error { var reason: String }

    func save() throws(SaveFailure) {
        let start = system.monotonicMilliseconds()
        let device = try findTarget()
        if let info = system.probe(device), info.holdsData {
            throw SaveFailure(reason: "refusing to write over \(device): libblkid sees \(info.summary.escapingControlCharacters) there")
        }
        let memory: any ImageSource
        do { memory = try system.openPhysicalMemory() } catch {
            throw SaveFailure(reason: "cannot open /dev/mem (the hibernate kernel needs DEVMEM without STRICT_DEVMEM): \(error)")
        }
        let info: VMCoreInfo
        do {
            let note = ScratchBuffer(count: Int(request.vmcoreinfo.size))
            try memory.read(into: note.memory, at: request.vmcoreinfo.address)
            info = try VMCoreInfo.parse(note: Array(note.memory))
        } catch {
            throw SaveFailure(reason: "kernel A's vmcoreinfo at \(hexAddress(request.vmcoreinfo.address)): \(error)")
        }
        var map = PageMap(ranges: request.ram)
        if let pages = info.pages {
            let scanStart = system.monotonicMilliseconds()
            var scan = FreePageScan(info: pages) { address, buffer in try memory.read(into: buffer, at: address) }
            do {
                let free = try scan.markFree(in: &map)
                system.log("kernel A \(info.release.escapingControlCharacters): \(map.totalPages) pages, \(free) free (left out), \(map.savedPages) in use; found in \(system.monotonicMilliseconds() - scanStart) ms")
            } catch {
                map = PageMap(ranges: request.ram)
                system.log("cannot tell kernel A's free pages (\(error)): saving every page")
            }
        } else {
            system.log("kernel A's vmcoreinfo does not locate its struct pages: saving every page")
        }
        var header = ImageHeader(kind: .memory)
        header.entryAddress = request.reentry
        header.memoryLayoutHash = request.memoryMapHash
        header.producerRelease = info.release
        header.producerMachine = system.uname().machine
        header.kernelBuildID = info.buildID
        header.createdAt = UInt64(max(0, time(nil)))
        do {
            let sink = try system.openImageForUpdate(device, base: 0)
            var writer = ImageWriter(sink: AnySink(sink), header: header, pool: WorkerPool(threads: WorkerPool.onlineCPUs))
            var bits = BytesInput(map.bits)
            try writer.append(.pageMap, from: &bits)
            for (r, range) in map.ranges.enumerated() {
                var pages = SavedPages(memory: memory, map: map, range: r)
                try writer.append(.pages, from: &pages, physicalAddress: range.start, memorySize: range.end - range.start)
            }
            let written = try writer.finish()
            let ms = system.monotonicMilliseconds() - start
            system.log("saved kernel A to \(device): \(map.savedPages) of \(map.totalPages) pages (\(sizeText(written.rawTotal - written.entries[0].rawSize))) as \(sizeText(written.imageSize)) in \(ms) ms (synced)")
        } catch {
            throw SaveFailure(reason: "writing the image to \(device): \(error)")
        }
    }

    /// The target device, waited for with a bound (B's disks may still be
    /// coming up when its initramfs runs).
    func findTarget() throws(SaveFailure) -> String {
        let deadline = system.monotonicMilliseconds() + UInt64(waitSeconds) * 1000
        while true {
            switch request.target {
            case let .path(path) where system.exists(path): return path
            case let .tag(name, value):
                if let path = system.evaluateTag(name: name, value: value) { return path }
            case let .number(major, minor):
                let path = "/dev/block/\(major):\(minor)"
                if system.exists(path) { return path }
            default: break
            }
            guard system.monotonicMilliseconds() < deadline else {
                throw SaveFailure(reason: "\(request.target) did not appear within \(waitSeconds) s")
            }
            system.sleep(milliseconds: 200)
        }
    }

    /// One zero page, placed at the last page of B's own RAM, as the only
    /// segment of a KEXEC_PRESERVE_CONTEXT load whose entry is A's re-entry
    /// point: B's relocate_kernel swaps the page in (and back out later),
    /// calls A's re-entry point, and A's `kexec -e` returns.
    /// (kexec-tools' --load-jump-back-helper fails here with ENOMEM.)
    func jumpBack() -> Int32 {
        let ram = IOMem.parse((try? system.readText(IOMem.path)) ?? "").filter { $0.depth == 0 && $0.name == "System RAM" }
        guard let top = ram.map(\.range.end).max(), top >= 2 * ImageHeader.pageSize else {
            system.log("cannot jump back to A: no System RAM in /proc/iomem")
            return ExitStatus.continueBoot
        }
        let page = ScratchBuffer(count: Int(ImageHeader.pageSize))
        page.memory.initializeMemory(as: UInt8.self, repeating: 0)
        let destination = (top & ~(ImageHeader.pageSize - 1)) - ImageHeader.pageSize
        do {
            try system.kexecLoadPreservingContext(entry: request.reentry, segments: [
                KexecSegment(buffer: UnsafeRawBufferPointer(page.memory), memory: destination, memorySize: ImageHeader.pageSize),
            ])
        } catch {
            system.log("cannot jump back to A: \(KexecPolicy.explain(call: "kexec_load", errno: SystemError("kexec_load", path: nil, error).errno))")
            return ExitStatus.continueBoot
        }
        system.log("jumping back to kernel A at \(hexAddress(request.reentry))")
        let failure = system.kexecJump()
        // Back here only if A jumps to B again, or if the jump failed.
        system.kexecUnload()
        system.log("back in the hibernate kernel: \(failure)")
        return ExitStatus.continueBoot
    }
}

/// A's saved pages of one range, in address order, read from /dev/mem in
/// runs of contiguous saved pages (one pread per run, up to the buffer).
struct SavedPages: SequentialInput {
    let memory: any ImageSource
    let map: PageMap
    let range: Int
    private var next: UInt64 = 0

    init(memory: any ImageSource, map: PageMap, range: Int) {
        self.memory = memory
        self.map = map
        self.range = range
    }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let page = ImageHeader.pageSize, r = map.ranges[range], first = map.firstBit[range]
        var filled = 0
        while filled + Int(page) <= buffer.count {
            while next < r.pages && !map.isSaved(first + next) { next += 1 }
            guard next < r.pages else { break }
            var run: UInt64 = 1
            let room = UInt64(buffer.count - filled) / page
            while run < room, next + run < r.pages, map.isSaved(first + next + run) { run += 1 }
            try memory.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<(filled + Int(run * page))]),
                            at: r.start + next * page)
            filled += Int(run * page)
            next += run
        }
        return filled
    }
}
