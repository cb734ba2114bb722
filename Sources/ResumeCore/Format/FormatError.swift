/// Why an image was rejected. Each case names the field or the chunk at
/// fault, so `resume-image verify` and the agent can print one clear line.
public enum FormatError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Too few bytes for what the header promises (`what` says which part).
    case truncated(what: String, needed: UInt64, available: UInt64)
    case badMagic
    case unsupportedVersion(major: UInt16, minor: UInt16)
    case headerChecksum(stored: UInt64, computed: UInt64)
    /// A header, entry or table field is out of its allowed range.
    case field(String, String)
    case tableDigest
    case chunkChecksum(index: UInt64, which: String)
    case chunkDecode(index: UInt64, reason: String)
    /// The image's state field says it was already used (one-shot image).
    case consumed
    /// The state field holds neither valid nor consumed (a torn or foreign write).
    case unknownState

    public var description: String {
        switch self {
        case let .truncated(what, needed, available):
            return "truncated: \(what) needs \(needed) bytes, only \(available) present"
        case .badMagic:
            return "not a resume image (bad magic)"
        case let .unsupportedVersion(major, minor):
            return "unsupported format version \(major).\(minor) (this build reads \(ImageHeader.versionMajor).x)"
        case let .headerChecksum(stored, computed):
            return "header checksum mismatch (stored \(hex(stored)), computed \(hex(computed)))"
        case let .field(name, reason):
            return "\(name): \(reason)"
        case .tableDigest:
            return "chunk table digest mismatch (table corrupt)"
        case let .chunkChecksum(index, which):
            return "chunk \(index): \(which) checksum mismatch"
        case let .chunkDecode(index, reason):
            return "chunk \(index): \(reason)"
        case .consumed:
            return "image already consumed (one-shot image was used)"
        case .unknownState:
            return "state field is neither valid nor consumed (interrupted write?)"
        }
    }
}

@inline(__always) func hex<T: BinaryInteger>(_ v: T) -> String { "0x" + String(v, radix: 16) }
