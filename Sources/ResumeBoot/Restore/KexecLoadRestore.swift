import ResumeCore
import ResumeSystem

/// Segments images (raw physical memory and an entry point): each segment
/// decoded into a buffer, checked against kexec's own rules, then
/// kexec_load; the jump is reboot(LINUX_REBOOT_CMD_KEXEC). Buffers are sized
/// from the header only after the half-of-RAM check bounds them by real
/// memory.
struct KexecLoadRestore: RestorePath {
    let system: BootSystem
    let reader: ImageReader<AnySource>

    var irreversibleStep: String { "jumping to the segments image (reboot LINUX_REBOOT_CMD_KEXEC)" }
    var verb: String { "jumping" }

    mutating func prepare() throws(BootReason) {
        let h = reader.header
        // Segments may be placed anywhere in RAM, memory held back at boot
        // included, and kexec_load measures its half-of-RAM limit against
        // online memory: bring it all online first, as the snapshot path does.
        if let result = try? MemoryHotplug.onlineEverything(system, cmdline: try? system.readText("/proc/cmdline")),
           !result.onlined.isEmpty {
            system.log("memory: \(result.onlined.count) blocks onlined for the segments (\(result.layout.onlineMiB) MiB online)")
        }
        // MemTotal (0 when unreadable: then every segments image is refused, rather than guessed about).
        let totalRAM = ((try? system.readText("/proc/meminfo")).flatMap { ProcFields.number("MemTotal", in: $0) } ?? 0) * 1024
        if let why = KexecPolicy.checkSegments(h.entries, totalRAM: totalRAM) { throw BootReason(.loadFailed, why) }
        var buffers: [ScratchBuffer] = []
        do {
            let pool = WorkerPool(threads: WorkerPool.onlineCPUs)
            for (i, e) in h.entries.enumerated() {
                let buffer = ScratchBuffer(count: Int(e.rawSize))
                var filled = 0
                try reader.forEachChunk(entry: i, pool: pool) { _, _, raw in
                    UnsafeMutableRawBufferPointer(rebasing: buffer.memory[filled..<(filled + raw.count)]).copyMemory(from: raw)
                    filled += raw.count
                }
                buffers.append(buffer)
            }
        } catch {
            throw BootReason(error, otherwise: .loadFailed)
        }
        let segments = zip(h.entries, buffers).map { e, b in
            KexecSegment(buffer: UnsafeRawBufferPointer(b.prefix(Int(e.rawSize))), memory: e.physicalAddress, memorySize: e.memorySize)
        }
        do {
            try withExtendedLifetime(buffers) { try system.kexecLoad(entry: h.entryAddress, segments: segments) }
        } catch {
            throw BootReason(.loadFailed, KexecPolicy.explain(call: "kexec_load", errno: SystemError("kexec_load", path: nil, error).errno))
        }
    }

    func confirmLoaded() throws(BootReason) { try Self.confirmKexecLoaded(system) }
    func rollBack() { system.kexecUnload() }
    func irreversible() -> BootReason { BootReason(.irreversibleFailed, "the jump failed: \(system.kexecJump())") }
}
