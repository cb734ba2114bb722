// libFuzzer target over the ELF reader (segments images) and the bzImage
// header reader: any file gives segments that lie inside it, or a reason.

func fuzzELFReader(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        let exe = try ELFExecutable.parse(bytes)
        guard !exe.segments.isEmpty, exe.segments.count <= ELFExecutable.maxProgramHeaders else {
            fatalError("\(exe.segments.count) segments accepted")
        }
        for s in exe.segments {
            guard s.fileOffset <= UInt64(size), s.fileSize <= UInt64(size) - s.fileOffset, s.memorySize >= s.fileSize,
                  s.memorySize > 0 else {
                fatalError("an accepted segment lies outside the file or is inconsistent: \(s)")
            }
            _ = bytes[Int(s.fileOffset)..<Int(s.fileOffset + s.fileSize)]
        }
    } catch {
        _ = error.description
    }
    if let info = BzImageInfo.parse(prefix: bytes), let version = info.version, version.utf8.count > 256 * 3 {
        fatalError("a version string longer than its 256-byte field")
    }
    return 0
}
