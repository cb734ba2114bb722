import ResumeCore
import ResumeSystem

/// `SwapSpace` on a device: reading its first page, setting the swap
/// signature aside and giving it back (10 bytes, synced).
public enum SwapSpaceDevice {
    public static func state(_ path: String, _ system: BootSystem) -> SwapSpace.State {
        guard let source = try? system.openImage(path, base: 0), source.byteCount >= UInt64(SwapSpace.pageSize) else { return .other }
        let page = ScratchBuffer(count: SwapSpace.pageSize)
        guard (try? source.read(into: page.memory, at: 0)) != nil else { return .other }
        return SwapSpace.state(firstPage: Array(page.memory))
    }

    /// Where the image on `path` starts: `resume_offset=` pages when given,
    /// else the second page of a swap partition set aside, else 0.
    public static func imageBase(_ path: String, offsetPages: UInt64, _ system: BootSystem) -> UInt64 {
        if offsetPages > 0 { return offsetPages * ImageHeader.pageSize }
        return state(path, system) == .setAside ? SwapSpace.imageBase : 0
    }

    /// Writes `signature` over the swap signature of `path`, then syncs.
    public static func write(_ signature: [UInt8], to path: String, _ system: BootSystem) throws {
        let sink = try system.openImageForUpdate(path, base: 0)
        try signature.withUnsafeBytes { try sink.write($0, at: SwapSpace.signatureOffset) }
        try sink.sync()
    }

    /// A partition set aside is swap again (`SWAPSPACE2`): logs it, or why
    /// it could not. Nothing happens on any other device.
    public static func giveBack(_ path: String, _ system: BootSystem, log: (String) -> Void) {
        guard state(path, system) == .setAside else { return }
        do {
            try write(SwapSpace.swapSignature, to: path, system)
            log("\(path) is swap again: its signature SWAPSPACE2 is back (the image that was there is gone)")
        } catch {
            log("cannot give \(path) back to swap (its signature is still FASTRESUME; mkswap would make it swap with a new UUID): \(error)")
        }
    }
}
