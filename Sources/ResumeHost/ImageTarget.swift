import ResumeBoot
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
    ///
    /// With `swap` (hibernation: `capture`, `hibernate --kexec-jump`), a swap
    /// partition that is not in use is a target too: its signature is set
    /// aside (`SwapSpace`) and the file returned starts after its header;
    /// `giveBackSwap` makes it swap again.
    public static func open(_ path: String, force: Bool, create: Bool, swap: Bool = false, log: (String) -> Void) throws -> DeviceFile {
        let existing = try? DeviceFile(path: path)
        if let existing, existing.isBlockDevice {
            if swap, let state = try swapState(path) {
                if state == .swap {
                    try SwapSpaceDevice.write(SwapSpace.setAsideSignature, to: path, LiveSystem(log: KernelLog(prefix: "", useKmsg: false)))
                    log("set the swap signature of \(path) aside (SWAPSPACE2 -> FASTRESUME), as the kernel's hibernation does: the image goes after the swap header, and \(path) is swap again, with its UUID and label, once the image is used or refused")
                }
                return try DeviceFile(path: path, writable: true, base: SwapSpace.imageBase)
            }
            if try !check(path, force: force) {
                let wiped = try Blkid.wipeSignatures(path)
                if !wiped.isEmpty { log("erased signatures on \(path): \(wiped.joined(separator: ", "))") }
            }
            return try DeviceFile(path: path, writable: true)
        }
        return try DeviceFile(path: path, writable: true, create: create)
    }

    /// Whether `path` (a block device) may be written without erasing
    /// anything: true when libblkid sees no data there (or, with `swap`, it
    /// is swap not in use, or swap set aside already), false when it does and
    /// `force` allows erasing it; throws when it does and `force` is off.
    /// Writes nothing: a command can check its target before other checks.
    public static func check(_ path: String, force: Bool, swap: Bool = false) throws -> Bool {
        if swap, try swapState(path) != nil { return true }
        guard let info = Blkid.probe(path), info.holdsData else { return true }
        guard force else {
            throw HostFailure("refusing to write over \(path): libblkid sees \(info.summary.escapingControlCharacters) there (use --force)")
        }
        return false
    }

    /// `path`'s swap state when it is swap (`.swap`) or swap set aside
    /// (`.setAside`), else nil; throws when it is swap in use (/proc/swaps):
    /// the image would overwrite its swapped-out pages.
    static func swapState(_ path: String) throws -> SwapSpace.State? {
        let system = LiveSystem(log: KernelLog(prefix: "", useKmsg: false))
        let state = SwapSpaceDevice.state(path, system)
        guard state != .other else { return nil }
        let device = system.blockDeviceNumber(path)
        let swaps = ((try? system.readText("/proc/swaps")) ?? "").split(separator: "\n").dropFirst()
        for line in swaps {
            guard let name = line.split(separator: " ").first else { continue }
            if device != nil, system.blockDeviceNumber(String(name)) == device {
                throw HostFailure("\(path) is swap in use: swapoff \(path) first (the image would overwrite the pages swapped out there)")
            }
        }
        return state
    }

    /// After a hibernation into a swap partition (resumed, failed, or
    /// invalidated): the partition is swap again. Nothing on other targets.
    public static func giveBackSwap(_ path: String, log: (String) -> Void) {
        SwapSpaceDevice.giveBack(path, LiveSystem(log: KernelLog(prefix: "", useKmsg: false)), log: log)
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
