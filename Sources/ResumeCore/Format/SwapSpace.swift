/// A swap partition lent to an image, the way the kernel's swsusp lends
/// it: the swap header (its first page: version, size, UUID, label) stays
/// where it is, and only its signature, the last 10 bytes of that page,
/// changes, from `SWAPSPACE2` to `FASTRESUME` ("set aside"). The image
/// then starts at the second page (`imageBase`). Giving the space back
/// writes `SWAPSPACE2` again: the partition is the same swap as before,
/// with its UUID and label, with no mkswap. libblkid sees no swap on a
/// partition set aside, so nothing swaps onto it, and scanning never finds
/// the image there: only `resume=` naming the partition does.
public enum SwapSpace {
    public static let pageSize = 4096
    /// Where the signature lies in the first page (PAGE_SIZE - 10).
    public static let signatureOffset: UInt64 = 4086
    public static let swapSignature = Array("SWAPSPACE2".utf8)
    public static let setAsideSignature = Array("FASTRESUME".utf8)
    /// Where the image starts on a partition set aside.
    public static let imageBase: UInt64 = 4096

    public enum State: Sendable, Equatable {
        /// A swap header with its own signature.
        case swap
        /// A swap header whose signature is set aside for an image.
        case setAside
        /// Neither.
        case other
    }

    /// What the first page of a device says.
    public static func state(firstPage: [UInt8]) -> State {
        guard firstPage.count >= pageSize else { return .other }
        let signature = Array(firstPage[Int(signatureOffset)..<pageSize])
        if signature == swapSignature { return .swap }
        if signature == setAsideSignature { return .setAside }
        return .other
    }
}
