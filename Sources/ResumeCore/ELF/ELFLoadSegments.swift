/// Reads the loadable segments of an ELF64 little-endian executable, by
/// physical address: what `resume-image create segments` packs and what
/// kexec_load will place. Only the program headers are read.
public struct ELFLoadSegment: Sendable, Equatable {
    public var physicalAddress: UInt64
    public var fileOffset: UInt64
    public var fileSize: UInt64
    public var memorySize: UInt64
}

public struct ELFExecutable: Sendable, Equatable {
    public var entry: UInt64
    public var segments: [ELFLoadSegment]

    public static let maxProgramHeaders = 256

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case invalid(String)
        public var description: String {
            switch self { case let .invalid(why): "not a usable ELF executable: \(why)" }
        }
    }

    /// Parses `file` (the whole ELF file: its size bounds every offset).
    public static func parse(_ file: [UInt8]) throws(ParseError) -> ELFExecutable {
        guard file.count >= 64 else { throw .invalid("shorter than an ELF64 header") }
        guard file[0..<4] == [0x7F, 0x45, 0x4C, 0x46] else { throw .invalid("bad ELF magic") }
        guard file[4] == 2 else { throw .invalid("not ELF64 (class \(file[4]))") }
        guard file[5] == 1 else { throw .invalid("not little-endian") }
        let b = LittleEndianBytes(file)
        let type = b.u16(16)
        guard type == 2 || type == 3 else { throw .invalid("e_type \(type) is not an executable") }
        let entry = b.u64(24), phoff = b.u64(32)
        let phentsize = Int(b.u16(54)), phnum = Int(b.u16(56))
        guard phentsize == 56 else { throw .invalid("program header size \(phentsize), expected 56") }
        guard phnum > 0, phnum <= maxProgramHeaders else { throw .invalid("\(phnum) program headers") }
        guard phoff <= UInt64(file.count), UInt64(phnum * phentsize) <= UInt64(file.count) - phoff else {
            throw .invalid("program headers at \(phoff) run past the end of the file")
        }
        var segments: [ELFLoadSegment] = []
        for i in 0..<phnum {
            let o = Int(phoff) + i * phentsize
            guard b.u32(o) == 1 else { continue }  // PT_LOAD
            let s = ELFLoadSegment(physicalAddress: b.u64(o + 24), fileOffset: b.u64(o + 8),
                                   fileSize: b.u64(o + 32), memorySize: b.u64(o + 40))
            guard s.fileOffset <= UInt64(file.count), s.fileSize <= UInt64(file.count) - s.fileOffset else {
                throw .invalid("segment \(segments.count): file data runs past the end of the file")
            }
            guard s.memorySize >= s.fileSize else {
                throw .invalid("segment \(segments.count): p_memsz is smaller than p_filesz")
            }
            if s.memorySize == 0 { continue }
            segments.append(s)
        }
        guard !segments.isEmpty else { throw .invalid("no PT_LOAD segment") }
        return ELFExecutable(entry: entry, segments: segments)
    }
}

/// The x86 boot protocol header of a bzImage (Documentation/arch/x86/boot.rst).
public struct BzImageInfo: Sendable, Equatable {
    /// Boot protocol version, e.g. 0x020f.
    public var protocolVersion: UInt16
    /// The kernel's version string, when the image carries one.
    public var version: String?

    /// Reads the setup header from the start of a bzImage; nil when `prefix`
    /// does not carry the "HdrS" signature at 0x202.
    public static func parse(prefix: [UInt8]) -> BzImageInfo? {
        guard prefix.count >= 0x210, prefix[0x202..<0x206] == [0x48, 0x64, 0x72, 0x53] else { return nil }
        let b = LittleEndianBytes(prefix)
        let protocolVersion = b.u16(0x206)
        var version: String?
        let pointer = Int(b.u16(0x20E))
        if pointer != 0, pointer + 0x200 < prefix.count {
            let start = pointer + 0x200
            let end = prefix[start...].prefix(256).firstIndex(of: 0) ?? min(prefix.count, start + 256)
            version = String(decoding: prefix[start..<end], as: UTF8.self)
        }
        return BzImageInfo(protocolVersion: protocolVersion, version: version)
    }
}
