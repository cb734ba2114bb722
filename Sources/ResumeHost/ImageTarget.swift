import ResumeCore
import ResumeSystem
#if canImport(Glibc)
import Glibc
#endif

/// Where `resume-image create` and `capture` write an image: the one place
/// that refuses to write over a block device that holds data.
public enum ImageTarget {
    /// Opens `path` for writing an image. A block device where libblkid
    /// sees a filesystem, swap, RAID member or partition table is refused
    /// unless `force`; with `force` those signatures are erased first (as
    /// wipefs does), so the device no longer looks like what it was. A
    /// regular file is created (or truncated) when `create` allows it.
    public static func open(_ path: String, force: Bool, create: Bool, log: (String) -> Void) throws -> DeviceFile {
        let existing = try? DeviceFile(path: path)
        if let existing, existing.isBlockDevice {
            if try !check(path, force: force) {
                let wiped = try Blkid.wipeSignatures(path)
                if !wiped.isEmpty { log("erased signatures on \(path): \(wiped.joined(separator: ", "))") }
            }
            return try DeviceFile(path: path, writable: true)
        }
        return try DeviceFile(path: path, writable: true, create: create)
    }

    /// Whether `path` (a block device) may be written without erasing
    /// anything: true when libblkid sees no data there, false when it does
    /// and `force` allows erasing it; throws when it does and `force` is off.
    /// Writes nothing: a command can check its target before other checks.
    public static func check(_ path: String, force: Bool) throws -> Bool {
        guard let info = Blkid.probe(path), info.holdsData else { return true }
        guard force else {
            throw HostFailure("refusing to write over \(path): libblkid sees \(info.summary.escapingControlCharacters) there (use --force)")
        }
        return false
    }

    /// A new header of `kind`, stamped with this machine and the time.
    public static func stampedHeader(_ kind: ImageKind, system: BootSystem) -> ImageHeader {
        var header = ImageHeader(kind: kind)
        header.createdAt = UInt64(max(0, time(nil)))
        (header.producerRelease, header.producerMachine) = system.uname()
        return header
    }
}

/// A failure the user should read as one line.
public struct HostFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
