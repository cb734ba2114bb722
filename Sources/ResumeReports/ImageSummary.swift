import ResumeCore

/// How an image header reads to a person and as JSON; shared by
/// resume-probe and resume-image inspect.
public enum ImageSummary {
    public static func json(_ h: ImageHeader) -> JSON {
        .object([
            ("kind", .string(h.kind.name)),
            ("state", .string(h.state.name)),
            ("reusable", .bool(h.isReusable)),
            ("format_version", .string("\(ImageHeader.versionMajor).\(h.formatMinor)")),
            ("created_at", .uint(h.createdAt)),
            ("producer_release", .string(h.producerRelease)),
            ("producer_machine", .string(h.producerMachine)),
            ("chunk_size", .uint(UInt64(h.chunkSize))),
            ("chunk_count", .uint(h.chunkCount)),
            ("raw_bytes", .uint(h.rawTotal)),
            ("stored_bytes", .uint(h.storedTotal)),
            ("image_bytes", .uint(h.imageSize)),
            ("entry_address", h.kind == .segments || h.kind == .memory ? .string(hexString(h.entryAddress)) : .null),
            ("kernel_build_id", h.kind == .memory ? .string(h.kernelBuildID.map { byteHex($0) }.joined()) : .null),
            ("required_memory_bytes", h.kind == .snapshot ? .uint(h.requiredMemoryBytes) : .null),
            ("table_digest", .string(h.tableDigest.map { byteHex($0) }.joined())),
            ("entries", .array(h.entries.map { e in
                var fields: [(String, JSON)] = [
                    ("type", .string(e.type.name)), ("raw_bytes", .uint(e.rawSize)),
                    ("stored_bytes", .uint(e.storedSize)), ("chunks", .uint(e.chunkCount)),
                ]
                if e.type == .segment || e.type.holdsPages {
                    fields += [("physical_address", .string(hexString(e.physicalAddress))),
                               ("memory_bytes", .uint(e.memorySize))]
                }
                return .object(fields)
            })),
        ])
    }

    public static func text(_ h: ImageHeader) -> [String] {
        var lines = [
            "kind:        \(h.kind.name)\(h.isReusable ? " (reusable)" : " (one-shot)")",
            "state:       \(h.state.name)",
            "format:      \(ImageHeader.versionMajor).\(h.formatMinor)",
            "created:     \(h.createdAt) (unix time)",
            "producer:    \(h.producerRelease.isEmpty ? "?" : h.producerRelease.escapingControlCharacters) \(h.producerMachine.escapingControlCharacters)",
            "size:        \(h.rawTotal) bytes raw, \(h.storedTotal) stored (\(ratio(h.rawTotal, h.storedTotal))), image \(h.imageSize) bytes",
            "chunks:      \(h.chunkCount) of \(h.chunkSize) bytes",
        ]
        if h.kind == .segments { lines.append("entry:       \(hexString(h.entryAddress))") }
        if h.kind == .snapshot { lines.append("needs:       \(h.requiredMemoryBytes) bytes of memory") }
        if h.kind == .memory {
            let saved = h.entries.dropFirst().reduce(0) { $0 + $1.rawSize } / ImageHeader.pageSize
            let total = h.entries.dropFirst().reduce(0) { $0 + $1.memorySize } / ImageHeader.pageSize
            lines.append("kernel A:    re-entry point \(hexString(h.entryAddress)), build \(h.kernelBuildID.map { byteHex($0) }.joined())")
            lines.append("saved:       \(saved) of \(total) pages (the others were free)")
            lines.append("machine:     firmware memory map hash \(hexString(h.memoryLayoutHash))")
        }
        lines.append("entries:")
        for (i, e) in h.entries.enumerated() {
            var line = "  \(i): \(e.type.name) \(e.rawSize) bytes, stored \(e.storedSize) (\(ratio(e.rawSize, e.storedSize))), \(e.chunkCount) chunks"
            if e.type == .segment || e.type.holdsPages {
                line += ", at \(hexString(e.physicalAddress)) memory \(hexString(e.memorySize))"
            }
            lines.append(line)
        }
        return lines
    }

    /// Compression ratio raw:stored, e.g. "2.41:1".
    public static func ratio(_ raw: UInt64, _ stored: UInt64) -> String {
        guard stored > 0 else { return "-" }
        let hundredths = raw * 100 / stored
        let frac = hundredths % 100
        return "\(hundredths / 100).\(frac < 10 ? "0" : "")\(frac):1"
    }

    public static func hexString(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }
    static func byteHex(_ b: UInt8) -> String { (b < 16 ? "0" : "") + String(b, radix: 16) }
}
