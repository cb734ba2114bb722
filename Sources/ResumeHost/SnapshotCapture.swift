import ResumeBoot
import ResumeReports
import ResumeCore
import ResumeSystem
#if canImport(Glibc)
import Glibc
#endif

/// The save side of a snapshot image (`resume-image capture TARGET`),
/// through /dev/snapshot as uswsusp's s2disk does it: freeze, snapshot,
/// read the image, compress it into TARGET, sync, power off. The call
/// returns in the restored system (`.resumed`), or with the reason it could
/// not save (`.failed`, everything thawed, no valid image left behind).
///
/// After SNAPSHOT_FREEZE only the calling thread runs (the kernel freezes
/// every other thread, ours included), so the image is compressed on this
/// thread: no worker pool on the save side.
public enum SnapshotCapture {
    public enum Outcome: Equatable {
        case resumed
        case failed(String)
    }

    public struct Options {
        public var target: String
        public var force = false
        /// SNAPSHOT_PREF_IMAGE_SIZE, bytes; nil leaves the kernel's default (2/5 of RAM).
        public var preferredImageSize: UInt?
        public var chunkSize = ImageHeader.defaultChunkSize
        public var reusable = false
        /// Sign the image (read before anything is frozen).
        public var signer: SigningKey?
        public init(target: String) { self.target = target }
    }

    public static func run(_ options: Options, log: (String) -> Void) -> Outcome {
        let system = LiveSystem(log: KernelLog(prefix: "", useKmsg: false))
        // Memory held back at boot below the top of RAM and onlined since
        // is a hibernation nosave region: the snapshot would omit it.
        if let why = HeldBackMemory.hibernationLoss(system) { return .failed(why) }
        // The target: a path, or a tag (PARTLABEL=...) libblkid resolves.
        var path = options.target
        if let spec = DeviceSpec.parse(options.target), case .tag = spec {
            guard let found = DeviceDiscovery.locate(spec, system) else { return .failed("\(options.target): no such device") }
            path = found
        }
        let target: DeviceFile
        do { target = try ImageTarget.open(path, force: options.force, create: false, swap: true, log: log) } catch {
            return .failed("\(error)")
        }
        // Resumed or failed, a swap partition set aside is swap again after.
        defer { ImageTarget.giveBackSwap(path, log: log) }
        let memory: MemoryLayout
        do { memory = try MemoryHotplug.read(system) } catch { return .failed("cannot read the memory layout: \(error)") }
        var header = ImageTarget.stampedHeader(.snapshot, system: system)
        header.chunkSize = options.chunkSize
        header.flags = options.reusable ? [.reusable] : []
        header.requiredMemoryBytes = memory.onlineBytes
        header.memoryBlockSize = memory.blockSize
        header.memoryLayoutHash = memory.onlineLayoutHash

        let snapshot: SnapshotDevice
        do {
            snapshot = try SnapshotDevice(forRestore: false)
        } catch {
            switch error.errno {
            case EPERM: return .failed("hibernation is unavailable on this kernel (nohibernate, kernel lockdown, or secret memory in use): \(error)")
            case EBUSY: return .failed("another hibernation or resume is in progress: \(error)")
            default: return .failed("\(error)")
            }
        }
        do {
            try SnapshotDevice.lockMemory()
            sync()
            try snapshot.freeze()
            if let size = options.preferredImageSize { try snapshot.setPreferredImageSize(size) }
            guard try snapshot.createImage() else {
                // We are in the restored system: the agent resumed us.
                snapshot.free()
                snapshot.unfreeze()
                target.dropCache()
                return .resumed
            }
        } catch {
            snapshot.free()
            snapshot.unfreeze()
            return .failed("\(error)")
        }
        // The system is frozen and the image is in memory: save it.
        let outcome = save(snapshot, into: target, header: header, signer: options.signer, log: log)
        snapshot.free()
        snapshot.unfreeze()
        return outcome
    }

    /// Writes the image into `target`, then powers off. Returns only on failure.
    static func save(_ snapshot: SnapshotDevice, into target: DeviceFile, header: ImageHeader, signer: SigningKey?,
                     log: (String) -> Void) -> Outcome {
        let size: UInt64
        do { size = try snapshot.imageSize() } catch { return .failed("\(error)") }
        let chunks = (size + UInt64(header.chunkSize) - 1) / UInt64(header.chunkSize)
        let needed = UInt64(ImageHeader.size) + size + chunks * ImageHeader.chunkDescriptorSize
        guard needed <= target.byteCount else {
            return .failed("not enough room on \(target.path): the image may need \(needed) bytes, the device has \(target.byteCount)")
        }
        var writer = ImageWriter(sink: target, header: header, signer: signer)
        do {
            var stream = snapshot
            try writer.append(.stream, from: &stream)
            guard writer.header.rawTotal == size else {
                throw FormatError.field("snapshot stream", "read \(writer.header.rawTotal) bytes, the kernel announced \(size)")
            }
            let h = try writer.finish()
            log("saved \(h.rawTotal) bytes of snapshot into \(h.imageSize) bytes on \(target.path) (\(ImageSummary.ratio(h.rawTotal, h.storedTotal)))")
        } catch {
            // The writer zeroed the header first: nothing valid is left.
            return .failed("\(error)")
        }
        log("powering off")
        let error = snapshot.powerOff()
        // Still running: an image of a system that goes on must never be
        // resumed (its disks will have moved on).
        try? markConsumed(target)
        return .failed("could not power off, so the image was invalidated: \(error)")
    }
}
