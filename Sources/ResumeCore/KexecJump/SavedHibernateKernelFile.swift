/// A kept hibernate kernel's file ("Saved hibernate kernels" in
/// docs/FORMAT.md): the hibernate kernel B as it parked, saved by kernel A
/// so that later hibernations resume B instead of booting it. On disk it is
/// a segments image (format 1.2) of exactly one segment, B's window, whose
/// header fields mean, for this kind alone:
/// - `entryAddress`: B's re-entry point (where it parked);
/// - `kernelBuildID`: B's identity, SHA-256 over B's kernel file, its
///   initrd file and the window (a non-empty id is what makes a segments
///   image this kind: a segments image to boot has none);
/// - `memoryLayoutHash`: the firmware memory map of the machine it was
///   saved on.
/// This type is the one place those meanings, and the checks a file must
/// pass before A loads it, live.
public struct SavedHibernateKernelFile: Sendable, Equatable {
    public var window: PhysicalRange
    public var reentry: UInt64
    public var identity: [UInt8]
    public var firmwareMapHash: UInt64
    public var release: String

    /// What a saved B must match to be resumed.
    public struct Expected: Sendable, Equatable {
        public var window: PhysicalRange
        public var identity: [UInt8]
        public var firmwareMapHash: UInt64
        public init(window: PhysicalRange, identity: [UInt8], firmwareMapHash: UInt64) {
            self.window = window; self.identity = identity; self.firmwareMapHash = firmwareMapHash
        }
    }

    /// Whether `header` is a saved hibernate kernel's (the one predicate:
    /// boot-time discovery, the probe and A's load all ask it).
    public static func isSavedHibernateKernel(_ header: ImageHeader) -> Bool {
        header.kind == .segments && !header.kernelBuildID.isEmpty
    }

    /// The file's facts from its (already validated) header, or the reason
    /// it is not a usable saved hibernate kernel.
    public init(_ h: ImageHeader) throws(FormatError) {
        guard Self.isSavedHibernateKernel(h) else {
            throw .field("kind", "a \(h.kind.name) image\(h.kind == .segments ? " to boot" : ""), not a saved hibernate kernel")
        }
        guard h.formatMinor >= 2, h.entries.count == 1, h.entries[0].type == .segment else {
            throw .field("entries", "a saved hibernate kernel is one segment (B's window), format 1.2; this one has \(h.entries.count) entries")
        }
        let e = h.entries[0]
        guard e.rawSize == e.memorySize, e.memorySize > 0 else {
            throw .field("segment 0", "holds \(e.rawSize) bytes of its \(e.memorySize)-byte window: B's whole window is saved")
        }
        guard h.entryAddress >= e.physicalAddress, h.entryAddress - e.physicalAddress < e.memorySize else {
            throw .field("entry address", "\(hexAddress(h.entryAddress)) is outside B's window [\(hexAddress(e.physicalAddress)), +\(e.memorySize))")
        }
        window = PhysicalRange(start: e.physicalAddress, size: e.memorySize)
        reentry = h.entryAddress
        identity = h.kernelBuildID
        firmwareMapHash = h.memoryLayoutHash
        release = h.producerRelease
    }

    public init(window: PhysicalRange, reentry: UInt64, identity: [UInt8], firmwareMapHash: UInt64, release: String) {
        self.window = window; self.reentry = reentry; self.identity = identity
        self.firmwareMapHash = firmwareMapHash; self.release = release
    }

    /// The header the file is written with (its one entry, the window, is
    /// appended by the writer).
    public func header(createdAt: UInt64) -> ImageHeader {
        var h = ImageHeader(kind: .segments)
        h.entryAddress = reentry
        h.producerRelease = release
        h.producerMachine = "x86_64"
        h.memoryLayoutHash = firmwareMapHash
        h.kernelBuildID = identity
        h.createdAt = createdAt
        return h
    }

    /// Why this saved B cannot be resumed as `expected`'s B, or nil when it can.
    public func mismatch(_ expected: Expected) -> String? {
        if window != expected.window {
            return "it ran in \(window), not in this window \(expected.window)"
        }
        if identity != expected.identity { return "it is another kernel, initrd or window than the one to boot" }
        if firmwareMapHash != expected.firmwareMapHash { return "it was saved on a machine with another firmware memory map" }
        return nil
    }
}
