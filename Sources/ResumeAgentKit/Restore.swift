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
    /// Decodes chunks on every online CPU.
    let pool = WorkerPool(threads: WorkerPool.onlineCPUs)

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
        let start = system.monotonicMilliseconds()
        do {
            switch header.kind {
            case .kernel: try loadKernel(reader)
            case .segments: try loadSegments(reader)
            case .snapshot: return ("restoring snapshot images is not implemented in this version", false)
            }
        } catch let failure as LoadFailure {
            system.kexecUnload()
            return (failure.reason, failure.imageAtFault)
        } catch let error as FormatError {
            system.kexecUnload()
            return ("\(error)", true)
        } catch {
            system.kexecUnload()
            return ("\(error)", false)
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

    /// kernel kind: kernel and initrd into memfds, cmdline into memory,
    /// then kexec_file_load. The payload lives in memory once, as the
    /// kernel needs it there; nothing touches a disk.
    func loadKernel(_ reader: ImageReader<AnySource>) throws {
        let h = reader.header
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
