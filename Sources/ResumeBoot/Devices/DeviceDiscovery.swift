import ResumeCore
import ResumeSystem

/// Finding resume images on block devices.
public enum DeviceDiscovery {
    /// Kinds of block device never scanned: memory-backed, loop and optical.
    static let skippedPrefixes = ["ram", "loop", "zram", "sr", "fd", "nbd"]

    /// Every block device worth scanning, as /dev paths, in /sys/class/block order.
    public static func blockDevices(_ system: BootSystem) -> [String] {
        let names = (try? system.list("/sys/class/block")) ?? []
        return names.filter { name in
            guard !skippedPrefixes.contains(where: { name.hasPrefix($0) }) else { return false }
            let sectors = (try? system.readText("/sys/class/block/\(name)/size").trimmingWhitespace()).flatMap { UInt64($0) }
            return (sectors ?? 0) > 0
        }.map { "/dev/\($0)" }
    }

    /// The device `spec` names now, or nil when it is not (yet) there.
    public static func locate(_ spec: DeviceSpec, _ system: BootSystem) -> String? {
        switch spec {
        case let .path(path):
            return system.exists(path) ? path : nil
        case let .number(major, minor):
            // /sys/dev/block/MAJ:MIN/uevent carries DEVNAME=.
            guard let uevent = try? system.readText("/sys/dev/block/\(major):\(minor)/uevent") else { return nil }
            for line in uevent.split(separator: "\n") where line.hasPrefix("DEVNAME=") {
                let path = "/dev/" + line.dropFirst("DEVNAME=".count)
                return system.exists(path) ? path : nil
            }
            return nil
        case let .tag(name, value):
            if let path = system.evaluateTag(name: name, value: value), system.exists(path) { return path }
            // Without udev links, ask libblkid about each device ourselves.
            for path in blockDevices(system) {
                guard let info = system.probe(path) else { continue }
                let found: String? = switch name {
                case "UUID": info.uuid
                case "LABEL": info.label
                case "PARTLABEL": info.partLabel
                case "PARTUUID": info.partUUID
                default: nil
                }
                if found == value { return path }
            }
            return nil
        }
    }

    /// Waits for `spec` to appear, polling every 100 ms, for at most `seconds`.
    public static func wait(for spec: DeviceSpec, seconds: UInt32, _ system: BootSystem) -> String? {
        let deadline = system.monotonicMilliseconds() + UInt64(seconds) * 1000
        var nextNotice = system.monotonicMilliseconds() + 10_000
        while true {
            if let path = locate(spec, system) { return path }
            let now = system.monotonicMilliseconds()
            if now >= deadline { return nil }
            if now >= nextNotice {
                system.log("still waiting for \(spec) (\((deadline - now + 999) / 1000) s left)")
                nextNotice = now + 10_000
            }
            system.sleep(milliseconds: UInt32(min(100, deadline - now)))
        }
    }

    /// Why scanning never reads `path`, or nil. A device anyone can plug in
    /// must not choose the next kernel: removable media (sysfs `removable`
    /// of the disk) and anything on a USB, MMC/SD or SDIO bus (the device's
    /// sysfs path: a USB hard disk says removable 0). Named by resume=, such
    /// a device is read all the same: the user chose it.
    public static func removableReason(_ path: String, _ system: BootSystem) -> BootReason? {
        guard path.hasPrefix("/dev/") else { return nil }
        let name = String(path.dropFirst("/dev/".count))
        let sysPath = system.canonicalPath("/sys/class/block/\(name)") ?? ""
        let components = sysPath.split(separator: "/")
        if components.contains(where: { $0.hasPrefix("usb") }) {
            return BootReason(.deviceRemovable, "on the USB bus: not scanned (name it with resume= to use it)")
        }
        if components.contains(where: { $0.hasPrefix("mmc") || $0.hasPrefix("sdio") }) {
            return BootReason(.deviceRemovable, "an MMC/SD/SDIO device: not scanned (name it with resume= to use it)")
        }
        // A partition has no `removable` of its own: its disk's directory holds it.
        let isPartition = system.exists("/sys/class/block/\(name)/partition")
        let disk = isPartition ? components.dropLast().last.map(String.init) ?? name : name
        let removable = (try? system.readText("/sys/class/block/\(disk)/removable"))?.trimmingWhitespace()
        if removable == "1" {
            return BootReason(.deviceRemovable, "removable media: not scanned (name it with resume= to use it)")
        }
        return nil
    }

    /// What `path` holds. With `scanning`, a removable or USB device is
    /// passed over unread, and a device that libblkid sees a filesystem,
    /// swap, RAID member or partition table on is passed over unread; a
    /// named device is always read for the image magic. `full` checks every
    /// chunk too (resume-probe); the agent checks the header, state and
    /// table here, and every chunk while it loads the image it chose,
    /// before anything irreversible: one decode, not two.
    /// With trusted keys configured, an image they do not vouch for is
    /// rejected here, before anything irreversible.
    public static func examine(_ path: String, base: UInt64 = 0, scanning: Bool, full: Bool,
                               trust: TrustedKeys = TrustedKeys(required: false, keys: []), _ system: BootSystem) -> DeviceFinding {
        if scanning, let why = removableReason(path, system) { return .passedOver(why) }
        let info = system.probe(path)
        if info?.type == "swsuspend" { return .kernelHibernation }
        if scanning, let info, info.holdsData {
            return .other(type: info.type ?? info.partitionTable)
        }
        let source: any ImageSource
        do { source = try system.openImage(path, base: base) } catch {
            return .unreadable(BootReason(.deviceUnreadable, String(describing: error)))
        }
        // Too small to hold a header: not an image (nothing to reject).
        guard source.byteCount >= UInt64(ImageHeader.size) else { return .other(type: info?.type ?? info?.partitionTable) }
        let reader: ImageReader<AnySource>
        do {
            reader = try ImageReader(source: AnySource(source))
        } catch FormatError.badMagic {
            return .other(type: info?.type ?? info?.partitionTable)
        } catch {
            return .rejected(BootReason(error, otherwise: .deviceUnreadable))
        }
        if let type = info?.type {
            // Image magic where libblkid also sees a filesystem: never guess.
            return .rejected(BootReason(.ambiguousDevice, "image magic, but libblkid also sees TYPE=\(type.escapingControlCharacters) there"))
        }
        do {
            try reader.requireValidState()
            if let untrusted = trust.refusal(reader.header) { throw untrusted }
            if full { try reader.verifyContents() } else { try reader.checkTable() }
        } catch {
            return .rejected(BootReason(error, otherwise: .deviceUnreadable))
        }
        // A kept hibernate kernel is for kernel A's own jumps:
        // entering it at boot would start B with no A behind it.
        if SavedHibernateKernelFile.isSavedHibernateKernel(reader.header) {
            return .rejected(BootReason(.kindUnsupported, "a saved hibernate kernel (resume-image hibernate --keep-hibernate-kernel), not an image to boot"))
        }
        return .image(reader.header)
    }
}

/// Erases the source's type so one reader type serves every device.
public struct AnySource: ImageSource {
    let base: any ImageSource
    public init(_ base: any ImageSource) { self.base = base }
    public var byteCount: UInt64 { base.byteCount }
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws {
        try base.read(into: buffer, at: offset)
    }
    public func prefetch(at offset: UInt64, count: UInt64) { base.prefetch(at: offset, count: count) }
}

/// The same for a sink: the hibernate kernel writes kernel A's image.
public struct AnySink: ImageSink {
    let base: any ImageSink
    public init(_ base: any ImageSink) { self.base = base }
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws { try base.write(bytes, at: offset) }
    public func sync() throws { try base.sync() }
}
