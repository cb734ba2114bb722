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
    /// `resume_agent.break=`: a test's power cut during the save.
    let breaks: BreakPoints

    public init(system: BootSystem, request: JumpSaveRequest, waitSeconds: UInt32 = AgentSettings.defaultWaitSeconds,
                breaks: BreakPoints = BreakPoints()) {
        self.system = system
        self.request = request
        self.waitSeconds = waitSeconds
        self.breaks = breaks
    }

    /// Saves, then powers off or jumps back. Returns only when neither
    /// happened, with the exit status for the boot script. A kept B (a
    /// mailbox) comes back here whenever A jumps to it again,
    /// with A's next request in the mailbox.
    public func run() -> Int32 {
        var request = self.request
        while true {
            let r = request
            let what = r.then == .park ? "parking: jumping back at once, so that A can keep this kernel"
                : "saving A's memory to \(r.target), then \(r.then == .poweroff ? "powering off" : "jumping back")"
            system.log("kexec jump from kernel A (re-entry point \(hexAddress(r.reentry))): \(what)")
            var then = r.then
            if then != .park {
                do {
                    try save(r)
                } catch {
                    system.log("kernel A not saved: \(error.reason); jumping back to A, which goes on running")
                    then = .back
                }
            }
            if then == .poweroff {
                system.log("powering off; the next boot puts kernel A back")
                system.log("power off failed: \(system.powerOff()); jumping back to A")
            }
            guard let next = jumpBack(r) else { return ExitStatus.continueBoot }
            request = next
        }
    }

    struct SaveFailure: Error { var reason: String }

    func save(_ request: JumpSaveRequest) throws(SaveFailure) {
        let start = system.monotonicMilliseconds()
        let device = try findTarget(request.target)
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
        // The page map is one bit per page of A's RAM: it must fit easily in B's.
        let mapBytes = request.ranges.reduce(0) { $0 + $1.pages } / 8
        let ownRAM = ((try? system.readText("/proc/meminfo")).flatMap { ProcFields.number("MemTotal", in: $0) } ?? 0) * 1024
        guard mapBytes <= ownRAM / 4 else {
            throw SaveFailure(reason: "kernel A's RAM needs a \(sizeText(mapBytes)) page map, more than this hibernate kernel can spare of its \(sizeText(ownRAM)) (give it a larger window)")
        }
        var map = PageMap(ranges: request.ranges)
        if let pages = info.pages {
            let scanStart = system.monotonicMilliseconds()
            var scan = FreePageScan(info: pages) { address, buffer in try memory.read(into: buffer, at: address) }
            do {
                let free = try scan.markFree(in: &map)
                system.log("kernel A \(info.release.escapingControlCharacters): \(map.totalPages) pages, \(free) free (left out, \(scan.onPerCPULists) of them on per-CPU free lists), \(map.savedPages) in use; found in \(system.monotonicMilliseconds() - scanStart) ms")
            } catch {
                map = PageMap(ranges: request.ranges)
                system.log("cannot tell kernel A's free pages (\(error)): saving every page")
            }
            if let symbol = request.kexecImage { leaveOutStagedKernel(symbol: symbol, scan: scan, memory: memory, map: &map) }
        } else {
            system.log("kernel A's vmcoreinfo does not locate its struct pages: saving every page")
        }
        let signer = try takeSigningKey(request, memory: memory)
        defer { signer?.wipe() }
        var header = ImageHeader(kind: .memory)
        header.entryAddress = request.reentry
        header.memoryLayoutHash = request.memoryMapHash
        header.producerRelease = info.release
        header.producerMachine = system.uname().machine
        header.kernelBuildID = info.buildID
        header.createdAt = UInt64(max(0, time(nil)))
        do {
            // A swap partition A set aside: the image goes after its header.
            let sink = try system.openImageForUpdate(device, base: SwapSpaceDevice.imageBase(device, offsetPages: 0, system))
            var writer = ImageWriter(sink: AnySink(sink), header: header, pool: WorkerPool(threads: WorkerPool.onlineCPUs), signer: signer)
            var bits = BytesInput(map.bits)
            try writer.append(.pageMap, from: &bits)
            system.pause(at: .saveStart, breaks)
            let half = map.savedPages * ImageHeader.pageSize / 2
            var before: UInt64 = 0, paused = false
            for (r, range) in map.ranges.enumerated() {
                var pages = SavedPages(memory: memory, map: map, range: r)
                let type: EntryType = r == 0 && request.trampoline != nil ? .lowPages : .pages
                try writer.append(type, from: &pages, physicalAddress: range.start, memorySize: range.end - range.start) { written in
                    guard !paused, before + written >= half else { return }
                    paused = true
                    system.pause(at: .saveMiddle, breaks)
                }
                before += map.savedPages(inRange: r) * ImageHeader.pageSize
            }
            let written = try writer.finish { system.pause(at: .saveBeforeHeader, breaks) }
            let ms = system.monotonicMilliseconds() - start
            let signed = signer.map { ", signed by key \($0.publicKey.keyID)" } ?? ", unsigned"
            system.log("saved kernel A to \(device): \(map.savedPages) of \(map.totalPages) pages (\(sizeText(written.rawTotal - written.entries[0].rawSize))) as \(sizeText(written.imageSize))\(signed) in \(ms) ms (synced)")
        } catch {
            throw SaveFailure(reason: "writing the image to \(device): \(error)")
        }
    }

    /// The key A handed over to sign the image with (`JumpSigningKey`):
    /// from the mailbox of a kept B, else from this initramfs. Wherever it
    /// lay is wiped as it is taken; the caller wipes the key itself once
    /// the image is written. Nil when A handed none (the image is
    /// unsigned); a key that is there but unusable fails the save.
    func takeSigningKey(_ request: JumpSaveRequest, memory: any ImageSource) throws(SaveFailure) -> SigningKey? {
        var seed: [UInt8]?
        if let mailbox = request.mailbox {
            let at = mailbox + UInt64(JumpSigningKey.mailboxOffset)
            let field = ScratchBuffer(count: JumpSigningKey.mailboxBytes)
            if (try? memory.read(into: field.memory, at: at)) != nil, let found = JumpSigningKey.seed(inMailboxField: Array(field.memory)) {
                seed = found
                field.memory.initializeMemory(as: UInt8.self, repeating: 0)
                do { try system.wipePhysicalMemory(at: at, count: JumpSigningKey.mailboxBytes) } catch {
                    system.log("cannot wipe the signing key from the mailbox at \(hexAddress(at)): \(error)")
                }
            }
        }
        if seed == nil, system.exists(JumpSigningKey.initrdPath) {
            do { seed = try system.takeSecretFile(JumpSigningKey.initrdPath) } catch {
                throw SaveFailure(reason: "kernel A handed a signing key in \(JumpSigningKey.initrdPath), but it cannot be taken: \(error)")
            }
        }
        guard var bytes = seed else { return nil }
        seed = nil // `bytes` is then the only reference: zeroed in place, not copied.
        defer { for i in bytes.indices { bytes[i] = 0 } }
        do {
            let key = try SigningKey(seed: bytes)
            system.log("signing kernel A's image with the key kernel A handed over (key id \(key.publicKey.keyID))")
            return key
        } catch {
            throw SaveFailure(reason: "the signing key kernel A handed over is not usable: \(error)")
        }
    }

    /// The target device, waited for with a bound (B's disks may still be
    /// coming up when its initramfs runs).
    func findTarget(_ target: DeviceSpec) throws(SaveFailure) -> String {
        let deadline = system.monotonicMilliseconds() + UInt64(waitSeconds) * 1000
        while true {
            switch target {
            case let .path(path) where system.exists(path): return path
            case let .tag(name, value):
                if let path = system.evaluateTag(name: name, value: value) { return path }
            case let .number(major, minor):
                let path = "/dev/block/\(major):\(minor)"
                if system.exists(path) { return path }
            default: break
            }
            guard system.monotonicMilliseconds() < deadline else {
                throw SaveFailure(reason: "\(target) did not appear within \(waitSeconds) s")
            }
            system.sleep(milliseconds: 200)
        }
    }

    /// One page, placed at the last page of B's own RAM, as the only
    /// segment of a KEXEC_PRESERVE_CONTEXT load: B's relocate_kernel swaps
    /// it in (and back out later) and calls the entry, which goes on to A's
    /// re-entry point, and A's `kexec -e` returns. The page is zero and the
    /// entry A's re-entry point; with a mailbox, the page is `JumpMailbox`'s
    /// `toA` trampoline and the entry is the page, so A learns where this
    /// kernel goes on. (kexec-tools' --load-jump-back-helper fails here with
    /// ENOMEM.) Returns A's next request when A jumps here again.
    func jumpBack(_ request: JumpSaveRequest) -> JumpSaveRequest? {
        let ram = IOMem.parse((try? system.readText(IOMem.path)) ?? "").filter { $0.depth == 0 && $0.name == "System RAM" }
        guard let top = ram.map(\.range.end).max(), top >= 2 * ImageHeader.pageSize else {
            system.log("cannot jump back to A: no System RAM in /proc/iomem")
            return nil
        }
        let page = ScratchBuffer(count: Int(ImageHeader.pageSize))
        page.memory.initializeMemory(as: UInt8.self, repeating: 0)
        let destination = (top & ~(ImageHeader.pageSize - 1)) - ImageHeader.pageSize
        var entry = request.reentry
        if let mailbox = request.mailbox {
            JumpMailbox.toA(mailbox: mailbox, aReentry: request.reentry).withUnsafeBytes { page.memory.copyMemory(from: $0) }
            entry = destination
        }
        do {
            try system.kexecLoadPreservingContext(entry: entry, segments: [
                KexecSegment(buffer: UnsafeRawBufferPointer(page.memory), memory: destination, memorySize: ImageHeader.pageSize),
            ])
        } catch {
            system.log("cannot jump back to A: \(KexecPolicy.explain(call: "kexec_load", errno: SystemError("kexec_load", path: nil, error).errno))")
            return nil
        }
        system.log("jumping back to kernel A at \(hexAddress(request.reentry))\(request.mailbox == nil ? "" : " (through the mailbox at \(hexAddress(destination)))")")
        do {
            try system.kexecJumpAndReturn()
        } catch {
            system.kexecUnload()
            system.log("the jump back to A failed: \(error)")
            return nil
        }
        // A jumped to this kernel again.
        system.kexecUnload()
        guard let mailbox = request.mailbox else {
            system.log("kernel A jumped to this hibernate kernel again: doing as before")
            return request
        }
        return nextRequest(mailbox: mailbox, previous: request)
    }

    /// A jumped to this kernel again: its request is in the mailbox. What
    /// B's page cache holds of the disks may be stale (A and other boots
    /// wrote them since), so it is dropped first.
    func nextRequest(mailbox: UInt64, previous: JumpSaveRequest) -> JumpSaveRequest? {
        try? system.writeText("/proc/sys/vm/drop_caches", "3")
        let page = ScratchBuffer(count: Int(ImageHeader.pageSize))
        do { try system.openPhysicalMemory().read(into: page.memory, at: mailbox) } catch {
            system.log("back in the hibernate kernel, but its mailbox at \(hexAddress(mailbox)) is unreadable: \(error)")
            return nil
        }
        let bytes = Array(page.memory)
        let magic = JumpMailbox.u64(bytes, JumpMailbox.magicOffset)
        let reentry = magic == JumpMailbox.resumed ? JumpMailbox.u64(bytes, JumpMailbox.aReentryOffset) : previous.reentry
        guard magic == JumpMailbox.resumed || magic == JumpMailbox.request, let text = JumpMailbox.request(bytes) else {
            system.log("back in the hibernate kernel without a request from A in the mailbox at \(hexAddress(mailbox))")
            return nil
        }
        let line = KernelCommandLine("kexec_jump_back_entry=\(hexAddress(reentry)) resume_agent.jump_mailbox=\(hexAddress(mailbox)) " + text)
        switch JumpSaveRequest.parse(line) {
        case let .success(next):
            system.log("kernel A jumped here again (\(magic == JumpMailbox.resumed ? "this kernel resumed from its saved image" : "the same jump")): its request is in the mailbox")
            return next
        case let .failure(error):
            system.log("kernel A's request in the mailbox is not usable: \(error); jumping back")
            var back = previous
            back.reentry = reentry
            back.then = .park
            return back
        }
    }
}

extension KernelASave {
    /// A's kexec image of this kernel: its source pages (this kernel's
    /// staged copy, and the zero segment over the window) hold nothing A
    /// needs once it is back (its return swaps them with the window, which
    /// A does not use, and A unloads the image), so they are left out. The
    /// image's list pages and control pages (A's re-entry code) are kept.
    /// If the list cannot be read, they are saved as before.
    func leaveOutStagedKernel(symbol: UInt64, scan: FreePageScan, memory: any ImageSource, map: inout PageMap) {
        func read(_ address: UInt64, _ into: UnsafeMutableRawBufferPointer) throws { try memory.read(into: into, at: address) }
        do {
            let kimage = try KexecImageList.loaded(symbol: symbol, translate: scan.translate, read: read)
            let sources = try KexecImageList.sources(head: kimage[0], read: read)
            var left: UInt64 = 0
            for page in sources.values {
                if let bit = map.bit(of: page), map.isSaved(bit) {
                    map.markFree(bit)
                    left += 1
                }
            }
            system.log("left out \(left) pages of kernel A's staged copy of this kernel (its kexec image's source pages; A unloads it when it is back): \(map.savedPages) pages to save")
        } catch {
            system.log("cannot read kernel A's kexec image (\(error)): its staged copy of this kernel is saved too")
        }
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
