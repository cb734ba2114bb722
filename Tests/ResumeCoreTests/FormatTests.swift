import XCTest
@testable import ResumeCore

final class FormatTests: XCTestCase {
    // MARK: Round trips

    func testKernelImageRoundTrip() throws {
        let image = try TestImages.kernelImage()
        let entries = try TestImages.decodeAll(image)
        XCTAssertEqual(entries, [TestImages.kernelBytes, TestImages.initrdBytes, TestImages.cmdline])
        let h = try ImageReader(source: image).header
        XCTAssertEqual(h.kind, .kernel)
        XCTAssertEqual(h.state, .valid)
        XCTAssertFalse(h.isReusable)
        XCTAssertEqual(h.entries.map(\.type), [.kernel, .initrd, .cmdline])
        XCTAssertEqual(h.chunkCount, 3 + 2 + 1)
        XCTAssertEqual(h.imageSize, UInt64(image.bytes.count))
        XCTAssertEqual(h.producerRelease, "6.1.0-test-amd64")
        XCTAssertLessThan(h.storedTotal, h.rawTotal, "the compressible runs must compress")
    }

    func testSegmentsImageRoundTrip() throws {
        let image = try TestImages.segmentsImage()
        XCTAssertEqual(try TestImages.decodeAll(image), TestImages.segmentData)
        let h = try ImageReader(source: image).header
        XCTAssertEqual(h.entryAddress, 0x10_0010)
        XCTAssertEqual(h.entries.map(\.physicalAddress), [0x10_0000, 0x20_0000])
        XCTAssertEqual(h.entries.map(\.memorySize), [0x2000, 0x3000])
    }

    func testSnapshotImageRoundTrip() throws {
        let image = try TestImages.snapshotImage()
        XCTAssertEqual(try TestImages.decodeAll(image), [TestImages.streamBytes])
        let h = try ImageReader(source: image).header
        XCTAssertEqual(h.requiredMemoryBytes, 512 << 20)
        XCTAssertEqual(h.memoryLayoutHash, 0x1234_5678_9ABC_DEF0)
    }

    func testHeaderEncodeDecodeIsIdentity() throws {
        let bytes = try TestImages.kernelImage(reusable: true).bytes
        let h = try ImageHeader.decode(Array(bytes.prefix(4096)))
        XCTAssertTrue(h.isReusable)
        XCTAssertEqual(h.encode(), Array(bytes.prefix(4096)))
    }

    func testEmptyEntryAndIncompressibleChunks() throws {
        let image = MemoryImage()
        var w = ImageWriter(sink: image, header: TestImages.header(.kernel))
        // Random bytes do not compress: stored raw, storedSize == rawSize.
        var k = BytesInput(TestImages.bytes(4096, seed: 77).map { $0 ^ 0x5A }), c = BytesInput([])
        try w.append(.kernel, from: &k)
        var ok = w
        try ok.finish()
        XCTAssertEqual(try TestImages.decodeAll(image), [TestImages.bytes(4096, seed: 77).map { $0 ^ 0x5A }])
        // An empty cmdline (or initrd) is left out, never stored: the writer refuses it.
        try w.append(.cmdline, from: &c)
        XCTAssertThrowsError(try w.finish()) {
            XCTAssertEqual($0 as? FormatError, .field("entry 1 raw size", "the cmdline is empty (an empty cmdline is left out, not stored)"))
        }
    }

    func testWriterSyncsTableBeforeHeader() throws {
        let image = try TestImages.kernelImage()
        XCTAssertEqual(image.syncCount, 3, "zeroed header, then table, then header: each synced")
    }

    // MARK: Golden fixtures: the bytes of formats 1.0 and 1.1 are pinned.

    func testGoldenFixtures() throws {
        let fixtures = URLlessPath.directory(of: #filePath) + "/Fixtures"
        var cases: [(String, TestImages.Format, () throws -> MemoryImage)] = []
        for (suffix, format) in [("", TestImages.Format.v1_0), ("-1.1", .v1_1), ("-1.1-signed", .signed)] {
            cases += [("kernel\(suffix).img", format, { try TestImages.kernelImage() }),
                      ("segments\(suffix).img", format, { try TestImages.segmentsImage() }),
                      ("snapshot\(suffix).img", format, { try TestImages.snapshotImage() })]
        }
        // Memory images exist from 1.2 on (unsigned and signed).
        cases += [("memory-1.2.img", .v1_1, { try TestImages.memoryImage() }),
                  ("memory-1.2-signed.img", .signed, { try TestImages.memoryImage() })]
        for (name, format, make) in cases {
            let made = try TestImages.with(format) { try make().bytes }
            let path = fixtures + "/" + name
            if URLlessPath.environment("REGENERATE_FIXTURES") == "1" { try URLlessPath.write(path, made) }
            let pinned = try URLlessPath.read(path)
            XCTAssertEqual(made, pinned, "\(name): the writer's bytes changed; a format change needs a version bump")
            // And the pinned bytes decode as the reader expects.
            XCTAssertNil(TestImages.verifyError(pinned), "\(name) does not verify")
            let h = try ImageHeader.decode(Array(pinned.prefix(4096)))
            XCTAssertEqual(h.formatMinor, h.kind == .memory ? 2 : format == .v1_0 ? 0 : 1, name)
            XCTAssertEqual(h.chunkHash, [.v1_0: .xxh64, .v1_1: .xxh3, .signed: .blake2b128][format], name)
            XCTAssertEqual(h.signature?.keyID, format == .signed ? TestImages.signingKey.publicKey.keyID : nil, name)
        }
    }

    // MARK: Consumed state

    func testMarkConsumedIsOneEightByteWriteThenSync() throws {
        let image = try TestImages.kernelImage()
        let before = image.bytes, syncs = image.syncCount
        try markConsumed(image)
        XCTAssertEqual(image.syncCount, syncs + 1)
        let changed = (0..<before.count).filter { before[$0] != image.bytes[$0] }
        XCTAssertEqual(changed, Array(16..<24))
        XCTAssertEqual(try ImageReader(source: image).header.state, .consumed)
        XCTAssertEqual(TestImages.verifyError(image.bytes) as? FormatError, .consumed)
    }

    func testAnyTornConsumedWriteIsNeverValid() throws {
        // Every mix of old and new bytes in the 8-byte field (a torn write at
        // any granularity) other than "all old" must read as not valid.
        let valid = ImageState.validBytes, consumed = ImageState.consumedBytes
        for mask in 1..<256 {
            let mixed = (0..<8).map { mask & (1 << $0) != 0 ? consumed[$0] : valid[$0] }
            XCTAssertNotEqual(ImageState(bytes: mixed), .valid, "mask \(mask)")
        }
    }
}

/// File helpers for the fixtures without Foundation's URL.
enum URLlessPath {
    static func directory(of path: String) -> String { String(path[..<path.lastIndex(of: "/")!]) }
    static func environment(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }
    static func read(_ path: String) throws -> [UInt8] {
        guard let f = fopen(path, "rb") else { throw POSIXError(.ENOENT) }
        defer { fclose(f) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buf, 1, buf.count, f)
            if n == 0 { break }
            out += buf[0..<n]
        }
        return out
    }
    static func write(_ path: String, _ bytes: [UInt8]) throws {
        guard let f = fopen(path, "wb") else { throw POSIXError(.EACCES) }
        defer { fclose(f) }
        _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
    }
}
