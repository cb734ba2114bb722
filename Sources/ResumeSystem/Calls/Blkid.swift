import CBlkid
import ResumeCore

/// What libblkid says about a block device (superblocks and partitions).
public struct BlockDeviceInfo: Sendable, Equatable {
    public var type: String?
    /// libblkid's USAGE: filesystem, raid, crypto, other.
    public var usage: String?
    public var label: String?
    public var uuid: String?
    public var partLabel: String?
    public var partUUID: String?
    /// A partition table on the device itself (PTTYPE: gpt, dos).
    public var partitionTable: String?

    public init() {}

    /// True when the device holds something we must never overwrite or
    /// read as an image: a filesystem, swap, RAID or crypto member, or a
    /// partition table.
    public var holdsData: Bool { type != nil || partitionTable != nil }

    public var summary: String {
        var parts: [String] = []
        if let type { parts.append("TYPE=\(type)") }
        if let partitionTable { parts.append("PTTYPE=\(partitionTable)") }
        if let label { parts.append("LABEL=\(label)") }
        if let uuid { parts.append("UUID=\(uuid)") }
        if let partLabel { parts.append("PARTLABEL=\(partLabel)") }
        if let partUUID { parts.append("PARTUUID=\(partUUID)") }
        return parts.isEmpty ? "(nothing libblkid recognises)" : parts.joined(separator: " ")
    }
}

/// Thin wrappers over libblkid's low-level probe and tag evaluation.
public enum Blkid {
    /// blkid_new_probe_from_filename + blkid_do_safeprobe (superblocks and
    /// partitions). nil when the device cannot be opened.
    public static func probe(_ path: String) -> BlockDeviceInfo? {
        guard let pr = blkid_new_probe_from_filename(path) else { return nil }
        defer { blkid_free_probe(pr) }
        blkid_probe_enable_superblocks(pr, 1)
        blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_LABEL | BLKID_SUBLKS_UUID | BLKID_SUBLKS_TYPE | BLKID_SUBLKS_USAGE)
        blkid_probe_enable_partitions(pr, 1)
        blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS)
        var info = BlockDeviceInfo()
        // 0 found, 1 nothing, -2 ambiguous, -1 error: take what it gives.
        let rc = blkid_do_safeprobe(pr)
        if rc == -2 { info.type = "ambiguous" }
        func value(_ name: String) -> String? {
            var data: UnsafePointer<CChar>?
            var len = 0
            guard blkid_probe_lookup_value(pr, name, &data, &len) == 0, let data else { return nil }
            return String(cString: data)
        }
        if rc == 0 {
            info.type = value("TYPE")
            info.usage = value("USAGE")
            info.label = value("LABEL")
            info.uuid = value("UUID")
            info.partitionTable = value("PTTYPE")
        }
        info.partLabel = value("PART_ENTRY_NAME")
        info.partUUID = value("PART_ENTRY_UUID")
        return info
    }

    /// blkid_evaluate_tag: the device a UUID=/LABEL=/PARTLABEL=/PARTUUID=
    /// tag names, through udev's links or libblkid's own scan.
    public static func evaluateTag(name: String, value: String) -> String? {
        var cache: blkid_cache?
        defer { if let cache { blkid_put_cache(cache) } }
        guard let result = blkid_evaluate_tag(name, value, &cache) else { return nil }
        defer { free(result) }
        return String(cString: result)
    }

    /// Erases every signature libblkid finds (as wipefs does), so that a
    /// device given over to an image no longer looks like a filesystem.
    /// Returns the signatures erased.
    public static func wipeSignatures(_ path: String) throws(SystemError) -> [String] {
        let fd = try retryingEINTR("open", path: path) { open(path, O_RDWR | O_CLOEXEC) }
        defer { close(fd) }
        guard let pr = blkid_new_probe() else { throw SystemError("blkid_new_probe", path: path, errno: ENOMEM) }
        defer { blkid_free_probe(pr) }
        guard blkid_probe_set_device(pr, fd, 0, 0) == 0 else { throw SystemError("blkid_probe_set_device", path: path, errno: EIO) }
        blkid_probe_enable_superblocks(pr, 1)
        blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_MAGIC | BLKID_SUBLKS_TYPE | BLKID_SUBLKS_BADCSUM)
        blkid_probe_enable_partitions(pr, 1)
        blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC)
        var wiped: [String] = []
        // Each pass erases one signature; a device holds few, so bound it.
        for _ in 0..<64 {
            guard blkid_do_probe(pr) == 0 else { break }
            var data: UnsafePointer<CChar>?
            var len = 0
            let name = blkid_probe_lookup_value(pr, "TYPE", &data, &len) == 0 ? data.map { String(cString: $0) } : nil
            let pt = blkid_probe_lookup_value(pr, "PTTYPE", &data, &len) == 0 ? data.map { String(cString: $0) } : nil
            guard blkid_do_wipe(pr, 0) == 0 else { throw SystemError("blkid_do_wipe", path: path, errno: EIO) }
            wiped.append(name ?? pt ?? "signature")
        }
        _ = fsync(fd)
        return wiped
    }
}

#if canImport(Glibc)
import Glibc
#endif
