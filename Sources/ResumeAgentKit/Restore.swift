import ResumeCore
import ResumeSystem

/// The restore paths: decode an image into what the kernel takes, checking
/// every chunk on the way, load it, mark a one-shot image consumed (synced),
/// and jump. Each step before the jump can fail; every failure unloads what
/// was loaded and returns the reason, so the agent boots normally.
struct Restorer {
    let system: BootSystem
    let settings: AgentSettings
    let cmdline: KernelCommandLine

    /// Decodes chunks on every online CPU. Made per restore, so a boot that
    /// restores nothing starts no threads.
    func makePool() -> WorkerPool { WorkerPool(threads: WorkerPool.onlineCPUs) }

    /// Returns only when the jump did not happen, with the reason.
    /// `rejected` is true when the image itself is at fault (a chunk failed
    /// its check), so the agent can try another candidate.
    func restore(device: String, header: ImageHeader) -> (reason: String, rejected: Bool) {
        let base = settings.offsetPages * ImageHeader.pageSize
        let reader: ImageReader<AnySource>
        do {
            reader = try ImageReader(source: AnySource(try system.openImage(device, base: base)))
            try reader.requireValidState()
            try reader.checkTable()
            // The device may have changed since it was examined.
            guard reader.header == header else { return ("the image on \(device) changed while the agent ran", true) }
        } catch {
            return ("\(error)", true)
        }
        if header.kind == .snapshot { return restoreSnapshot(reader, device: device, base: base) }
        let start = system.monotonicMilliseconds()
        do {
            switch header.kind {
            case .kernel: try loadKernel(reader)
            case .segments: try loadSegments(reader)
            case .snapshot: break
            }
        } catch {
            system.kexecUnload()
            return Self.explain(error)
        }
        let ms = system.monotonicMilliseconds() - start
        system.log("loaded \(header.kind.name) image from \(device): \(header.rawTotal) bytes decoded and checked in \(ms) ms\(speed(header.rawTotal, ms))")

        if !header.isReusable {
            do {
                try markConsumed(try system.openImageForUpdate(device, base: base))
                system.log("marked the one-shot image on \(device) consumed (synced)")
            } catch {
                system.kexecUnload()
                return ("cannot mark the image on \(device) consumed, so not jumping (it could be resumed twice): \(error)", false)
            }
        }
        system.log("jumping to the \(header.kind.name) image (reboot LINUX_REBOOT_CMD_KEXEC); this does not return")
        let error = system.kexecJump()
        system.kexecUnload()
        return ("the jump failed: \(error)", false)
    }

    struct LoadFailure: Error {
        var reason: String
        var imageAtFault = false
    }

    /// A failure while loading, as a reason, and whether the image itself
    /// is at fault (a failed check: the agent then tries another image).
    static func explain(_ error: Error) -> (reason: String, rejected: Bool) {
        switch error {
        case let failure as LoadFailure: (failure.reason, failure.imageAtFault)
        case let error as FormatError: ("\(error)", true)
        default: ("\(error)", false)
        }
    }

    /// kernel kind: kernel and initrd into memfds, cmdline into memory,
    /// then kexec_file_load. The payload lives in memory once, as the
    /// kernel needs it there; nothing touches a disk.
    func loadKernel(_ reader: ImageReader<AnySource>) throws {
        let h = reader.header
        let pool = makePool()
        let decodeStart = system.monotonicMilliseconds()
        var kernel: (any PayloadFile)?
        var initrd: (any PayloadFile)?
        var imageCmdline = ""
        for (i, e) in h.entries.enumerated() {
            switch e.type {
            case .kernel, .initrd:
                let file = try system.createPayloadFile(e.type == .kernel ? "resume-kernel" : "resume-initrd")
                try reader.forEachChunk(entry: i, pool: pool) { _, _, raw in try file.append(raw) }
                if e.type == .kernel { kernel = file } else { initrd = file }
            case .cmdline:
                let bytes = try reader.readEntry(i, limit: ImageHeader.maxCmdlineBytes)
                guard !bytes.contains(0) else { throw LoadFailure(reason: "the image's command line contains a NUL byte", imageAtFault: true) }
                imageCmdline = String(decoding: bytes, as: UTF8.self)
            default:
                throw LoadFailure(reason: "a kernel image holds a \(e.type.name) entry", imageAtFault: true)
            }
        }
        guard let kernel else { throw LoadFailure(reason: "the image has no kernel", imageAtFault: true) }
        let line = KexecPolicy.commandLine(image: imageCmdline, running: cmdline, pass: settings.pass)
        guard line.utf8.count < KexecPolicy.maxCommandLine else {
            throw LoadFailure(reason: "kernel B's command line is \(line.utf8.count) bytes; x86 takes at most \(KexecPolicy.maxCommandLine - 1)")
        }
        system.log("decoded and checked \(h.rawTotal) bytes in \(system.monotonicMilliseconds() - decodeStart) ms; kernel B command line: \(line)")
        let loadStart = system.monotonicMilliseconds()
        do {
            try system.kexecFileLoad(kernel: kernel, initrd: initrd, cmdline: line)
            system.log("kexec_file_load took \(system.monotonicMilliseconds() - loadStart) ms")
        } catch let error as SystemError {
            throw LoadFailure(reason: KexecPolicy.explain(call: "kexec_file_load", errno: error.errno),
                              imageAtFault: error.errno == KexecPolicy.Errno.ENOEXEC)
        }
    }

    /// segments kind: each segment decoded into a buffer, checked against
    /// kexec's own rules, then kexec_load. Buffers are sized from the
    /// header only after the half-of-RAM check bounds them by real memory.
    func loadSegments(_ reader: ImageReader<AnySource>) throws {
        let h = reader.header
        let pool = makePool()
        let total = totalRAM()
        if let why = KexecPolicy.checkSegments(h.entries, totalRAM: total) { throw LoadFailure(reason: why) }
        var buffers: [ScratchBuffer] = []
        for (i, e) in h.entries.enumerated() {
            let buffer = ScratchBuffer(count: Int(e.rawSize))
            var filled = 0
            try reader.forEachChunk(entry: i, pool: pool) { _, _, raw in
                UnsafeMutableRawBufferPointer(rebasing: buffer.memory[filled..<(filled + raw.count)]).copyMemory(from: raw)
                filled += raw.count
            }
            buffers.append(buffer)
        }
        let segments = zip(h.entries, buffers).map { e, b in
            KexecSegment(buffer: UnsafeRawBufferPointer(b.prefix(Int(e.rawSize))), memory: e.physicalAddress, memorySize: e.memorySize)
        }
        do {
            try withExtendedLifetime(buffers) { try system.kexecLoad(entry: h.entryAddress, segments: segments) }
        } catch let error as SystemError {
            throw LoadFailure(reason: KexecPolicy.explain(call: "kexec_load", errno: error.errno))
        }
    }

    /// snapshot kind, as uswsusp's resume does it: the memory the image
    /// needs online first (the kernel maps the image's pages over the
    /// memory present when /dev/snapshot is opened), then every page
    /// written to /dev/snapshot as its chunk passes its checks, then freeze,
    /// the consumed mark (synced), and the atomic restore. Anything that
    /// fails before the restore frees the loaded image and thaws; the boot
    /// goes on. Memory: the pipeline's batches, whatever the image size.
    func restoreSnapshot(_ reader: ImageReader<AnySource>, device: String, base: UInt64) -> (reason: String, rejected: Bool) {
        let h = reader.header
        let (release, _) = system.uname()
        guard h.producerRelease == release else {
            return ("the snapshot was made by kernel \(h.producerRelease), this is \(release)", false)
        }
        do {
            let result = try MemoryHotplug.onlineAll(system)
            if !result.onlined.isEmpty {
                system.log("memory: \(result.onlined.count) blocks onlined for the snapshot (\(result.layout.onlineMiB) MiB online)")
            }
            let layout = result.layout
            guard layout.onlineBytes == h.requiredMemoryBytes, layout.blockSize == h.memoryBlockSize,
                  layout.onlineLayoutHash == h.memoryLayoutHash else {
                return ("the snapshot needs \(h.requiredMemoryBytes >> 20) MiB online in blocks of \(h.memoryBlockSize >> 20) MiB; this machine has \(layout.onlineBytes >> 20) MiB in blocks of \(layout.blockSize >> 20) MiB\(layout.onlineBytes == h.requiredMemoryBytes ? ", laid out differently" : "")", false)
            }
        } catch {
            return ("cannot read the memory layout: \(error)", false)
        }
        let snapshot: any SnapshotRestoring
        do { snapshot = try system.openSnapshotForRestore() } catch {
            return ("cannot open /dev/snapshot: \(error)", false)
        }
        let total = h.rawTotal
        let start = system.monotonicMilliseconds()
        do {
            try feed(reader, to: snapshot, start: start)
        } catch {
            snapshot.free()
            return Self.explain(error)
        }
        let ms = system.monotonicMilliseconds() - start
        system.log("Read \(total / 1024) kbytes in \(ms / 1000).\(String(ms % 1000 / 10).leftPadded(2)) seconds\(ms > 0 ? " (\(total / 1000 / ms) MB/s)" : "")")
        do { try snapshot.freeze() } catch {
            snapshot.free()
            return ("\(error)", false)
        }
        if !h.isReusable {
            do {
                try markConsumed(try system.openImageForUpdate(device, base: base))
                system.log("marked the one-shot image on \(device) consumed (synced)")
            } catch {
                snapshot.free()
                snapshot.unfreeze()
                return ("cannot mark the image on \(device) consumed, so not restoring (it could be resumed twice): \(error)", false)
            }
        }
        system.log("restoring the snapshot (SNAPSHOT_ATOMIC_RESTORE); this does not return")
        let error = snapshot.atomicRestore()
        snapshot.free()
        snapshot.unfreeze()
        return ("the atomic restore failed: \(error)", false)
    }

    /// Every page of the image to /dev/snapshot, in order, each chunk
    /// checked first; progress every 10%. The decoding threads live only
    /// here: they are gone (joined) before the caller freezes the system.
    func feed(_ reader: ImageReader<AnySource>, to snapshot: any SnapshotRestoring, start: UInt64) throws {
        let total = reader.header.rawTotal
        var fed: UInt64 = 0, nextReport: UInt64 = total / 10
        try reader.forEachChunk(pool: makePool()) { _, _, raw in
            do { try snapshot.write(raw) } catch let error as SystemError where error.errno == KexecPolicy.Errno.EPERM {
                // The kernel checks the header as the second page arrives.
                throw LoadFailure(reason: "the kernel refused the snapshot's header (EPERM): memory size or memory map differ from the saving machine's")
            }
            fed += UInt64(raw.count)
            if fed >= nextReport, fed < total {
                let ms = max(1, system.monotonicMilliseconds() - start)
                system.log("restoring: \(fed * 100 / total)% (\(fed >> 20) of \(total >> 20) MiB, \(fed / 1000 / ms) MB/s)")
                nextReport += total / 10
            }
        }
    }

    /// MemTotal from /proc/meminfo, in bytes (0 when unreadable: then every
    /// segments image is refused, rather than guessed about).
    func totalRAM() -> UInt64 {
        guard let info = try? system.readText("/proc/meminfo") else { return 0 }
        for line in info.split(separator: "\n") where line.hasPrefix("MemTotal:") {
            let kb = line.dropFirst("MemTotal:".count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first
            return (kb.flatMap { UInt64($0) } ?? 0) * 1024
        }
        return 0
    }

    func speed(_ bytes: UInt64, _ ms: UInt64) -> String {
        guard ms > 0 else { return "" }
        return " (\(bytes / 1000 / ms) MB/s)"
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
