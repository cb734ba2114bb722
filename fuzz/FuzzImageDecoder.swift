// libFuzzer target over the image decoder: any bytes, as a device would
// present them, must give a verdict (valid or a FormatError), never a
// crash, a hang or an allocation sized by the input's numbers.
// Built by fuzz/run.sh together with Sources/ResumeCore in one module
// (fuzz/FuzzMain.swift picks the target).

func fuzzImageDecoder(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    var bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // Half the inputs get their table digest and header checksum re-sealed,
    // so mutations reach the layout rules and the chunk decoder instead of
    // stopping at the checksums.
    if size > 0, data[size - 1] & 1 == 1 { reseal(&bytes) }
    let image = MemoryImage(bytes)
    do {
        let reader = try ImageReader(source: image)
        try reader.checkTable()
        try reader.forEachChunk { _, _, _ in }
        _ = try? reader.requireValidState()
    } catch is FormatError {
        // A rejection is the expected outcome for almost every input.
    } catch {
        fatalError("unexpected error type: \(error)")
    }
    // A decoded header re-encodes to the same bytes (what a signature checks).
    if let h = try? ImageHeader.decode(bytes), h.encode()[0x20...] != bytes[0x20..<ImageHeader.size] {
        fatalError("a header the decoder accepts does not re-encode to its own bytes")
    }
    return 0
}

func reseal(_ bytes: inout [UInt8]) {
    guard bytes.count >= ImageHeader.size else { return }
    func u64(_ at: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) } }
    let offset = u64(0x48), size = u64(0x50)
    if offset <= UInt64(bytes.count), size <= UInt64(bytes.count) - offset {
        let digest = SHA256.digest(Array(bytes[Int(offset)..<Int(offset + size)]))
        bytes.replaceSubrange(0x90..<0xB0, with: digest)
    }
    let sum = ImageHeader.checksum(of: Array(bytes.prefix(ImageHeader.size)))
    for i in 0..<8 { bytes[0x18 + i] = UInt8(truncatingIfNeeded: sum >> (8 * UInt64(i))) }
}
