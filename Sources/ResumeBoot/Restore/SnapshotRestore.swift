import ResumeCore
import ResumeSystem

/// Snapshot images (hibernation), as uswsusp's resume does it: the memory
/// the image needs online first (the kernel maps the image's pages over the
/// memory present when /dev/snapshot is opened), then every page written
/// to /dev/snapshot as its chunk passes its checks, then freeze; the
/// irreversible call is SNAPSHOT_ATOMIC_RESTORE. Memory: the pipeline's
/// batches, whatever the image size. The decoding threads are joined
/// before the freeze (after it only the calling thread runs).
struct SnapshotRestore: RestorePath {
    let system: BootSystem
    let reader: ImageReader<AnySource>
    private var snapshot: (any SnapshotRestoring)?
    private var fed: UInt64 = 0
    private var frozen = false

    init(system: BootSystem, reader: ImageReader<AnySource>) {
        self.system = system
        self.reader = reader
    }

    var irreversibleStep: String { "restoring the snapshot (SNAPSHOT_ATOMIC_RESTORE)" }
    var verb: String { "restoring" }

    mutating func prepare() throws(BootReason) {
        let h = reader.header
        let (release, _) = system.uname()
        guard h.producerRelease == release else {
            throw BootReason(.otherKernel, "the snapshot was made by kernel \(h.producerRelease.escapingControlCharacters), this is \(release)")
        }
        do {
            // Held-back memory too: the image may need what was soft reserved at boot.
            let result = try MemoryHotplug.onlineEverything(system, cmdline: try? system.readText("/proc/cmdline"))
            if !result.onlined.isEmpty {
                system.log("memory: \(result.onlined.count) blocks onlined for the snapshot (\(result.layout.onlineMiB) MiB online)")
            }
            let layout = result.layout
            guard layout.onlineBytes == h.requiredMemoryBytes, layout.blockSize == h.memoryBlockSize,
                  layout.onlineLayoutHash == h.memoryLayoutHash else {
                throw BootReason(.otherMemory, "the snapshot needs \(h.requiredMemoryBytes >> 20) MiB online in blocks of \(h.memoryBlockSize >> 20) MiB; this machine has \(layout.onlineBytes >> 20) MiB in blocks of \(layout.blockSize >> 20) MiB\(layout.onlineBytes == h.requiredMemoryBytes ? ", laid out differently" : "")")
            }
        } catch let reason as BootReason {
            throw reason
        } catch {
            throw BootReason(.loadFailed, "cannot read the memory layout: \(error)")
        }
        let snapshot: any SnapshotRestoring
        do { snapshot = try system.openSnapshotForRestore() } catch {
            throw BootReason(.loadFailed, "cannot open /dev/snapshot: \(error)")
        }
        self.snapshot = snapshot
        let start = system.monotonicMilliseconds()
        try feed(snapshot, start: start)
        let total = h.rawTotal, ms = system.monotonicMilliseconds() - start
        system.log("Read \(total / 1024) kbytes in \(ms / 1000).\(String(ms % 1000 / 10).leftPadded(2)) seconds\(ms > 0 ? " (\(total / 1000 / ms) MB/s)" : "")")
        do { try snapshot.freeze() } catch {
            throw BootReason(.loadFailed, "\(error)")
        }
        frozen = true
    }

    /// Every page of the image to /dev/snapshot, in order, each chunk
    /// checked first; progress every 10%.
    private mutating func feed(_ snapshot: any SnapshotRestoring, start: UInt64) throws(BootReason) {
        let total = reader.header.rawTotal
        var fed: UInt64 = 0, nextReport: UInt64 = total / 10
        defer { self.fed = fed }
        let system = system
        do {
            try reader.forEachChunk(pool: WorkerPool(threads: WorkerPool.onlineCPUs)) { _, _, raw in
                do { try snapshot.write(raw) } catch let error as SystemError where error.errno == KexecPolicy.Errno.EPERM {
                    // The kernel checks the header as the second page arrives.
                    throw BootReason(.otherMemory, "the kernel refused the snapshot's header (EPERM): memory size or memory map differ from the saving machine's")
                }
                fed += UInt64(raw.count)
                if fed >= nextReport, fed < total {
                    let ms = max(1, system.monotonicMilliseconds() - start)
                    system.log("restoring: \(fed * 100 / total)% (\(fed >> 20) of \(total >> 20) MiB, \(fed / 1000 / ms) MB/s)")
                    nextReport += total / 10
                }
            }
        } catch {
            throw BootReason(error, otherwise: .loadFailed)
        }
    }

    /// The kernel has every page of the image.
    func confirmLoaded() throws(BootReason) {
        guard snapshot != nil, fed == reader.header.rawTotal else {
            throw BootReason(.loadFailed, "only \(fed) of \(reader.header.rawTotal) bytes of the snapshot reached /dev/snapshot")
        }
    }

    /// FREE before UNFREEZE: the kernel ignores UNFREEZE while an image is loaded.
    func rollBack() {
        snapshot?.free()
        if frozen { snapshot?.unfreeze() }
    }

    func irreversible() -> BootReason {
        guard let snapshot else { return BootReason(.loadFailed, "/dev/snapshot is not open") }
        return BootReason(.irreversibleFailed, "the atomic restore failed: \(snapshot.atomicRestore())")
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
