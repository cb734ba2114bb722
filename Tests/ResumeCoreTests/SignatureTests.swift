import XCTest
@testable import ResumeCore

/// Signed images (format 1.1): Ed25519 through libsodium over the header.
final class SignatureTests: XCTestCase {
    let key = TestImages.signingKey
    let other = TestImages.otherKey

    func signedKernel() throws -> [UInt8] { try TestImages.with(.signed) { try TestImages.kernelImage().bytes } }
    func header(_ bytes: [UInt8]) throws -> ImageHeader { try ImageHeader.decode(Array(bytes.prefix(4096))) }

    /// RFC 8032, section 7.1, test 1: libsodium is used the right way round.
    func testEd25519KnownAnswer() throws {
        let seed = hexBytes("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
        let k = try SigningKey(seed: seed)
        XCTAssertEqual(k.publicKey.bytes, hexBytes("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"))
        XCTAssertEqual(k.sign([]), hexBytes("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"))
        // The key id: the first 8 bytes of SHA-256 of the public key.
        XCTAssertEqual(k.publicKey.keyID.bytes, Array(SHA256.digest(k.publicKey.bytes).prefix(8)))
    }

    func testSignedImageVerifiesWithItsKeyOnly() throws {
        let bytes = try signedKernel()
        let h = try header(bytes)
        XCTAssertNil(TestImages.verifyError(bytes))
        XCTAssertEqual(h.signature?.keyID, key.publicKey.keyID)
        XCTAssertEqual(h.chunkHash, .blake2b128)
        XCTAssertEqual(try SignatureCheck.verify(h, trustedKeys: [other.publicKey, key.publicKey]), key.publicKey)
        XCTAssertThrowsError(try SignatureCheck.verify(h, trustedKeys: [other.publicKey])) {
            XCTAssertEqual($0 as? SignatureFailure, .unknownKey(key.publicKey.keyID))
        }
        XCTAssertThrowsError(try SignatureCheck.verify(h, trustedKeys: [])) {
            XCTAssertEqual($0 as? SignatureFailure, .unknownKey(key.publicKey.keyID))
        }
    }

    func testUnsignedImageIsRefusedWhenKeysAreTrusted() throws {
        for format in [TestImages.Format.v1_0, .v1_1] {
            let h = try header(try TestImages.with(format) { try TestImages.kernelImage().bytes })
            XCTAssertNil(h.signature)
            XCTAssertThrowsError(try SignatureCheck.verify(h, trustedKeys: [key.publicKey])) {
                XCTAssertEqual($0 as? SignatureFailure, .unsigned)
            }
        }
    }

    /// Any signed byte changed (and the header checksum resealed, as an
    /// attacker would) breaks the signature: every byte of the header but
    /// the state, the checksum and the signature itself.
    func testAnyResealedHeaderChangeBreaksTheSignature() throws {
        let bytes = try signedKernel()
        let id = key.publicKey.keyID
        var checked = 0
        for i in 0..<4096 where !(0x10..<0x20).contains(i) {
            var bad = bytes
            bad[i] ^= 0x01
            CorruptionTests.resealHeader(&bad)
            guard let h = try? header(bad) else { continue }  // a field rule caught it first
            checked += 1
            XCTAssertThrowsError(try SignatureCheck.verify(h, trustedKeys: [key.publicKey]), "byte \(i)") {
                let f = $0 as? SignatureFailure
                XCTAssertTrue(f == .badSignature(id) || (0xE08..<0xE10).contains(i), "byte \(i): \(String(describing: f))")
            }
        }
        XCTAssertGreaterThan(checked, 100, "the signed fields must be reachable past the field rules")
    }

    /// A chunk replaced and its table row and digest resealed: the signed
    /// digest no longer matches (BLAKE2b-128 cannot be forged as XXH can).
    func testReplacedChunkWithResealedTableIsRefused() throws {
        var bytes = try signedKernel()
        let table = Int(CorruptionTests.u64(bytes, 0x48))
        // The last chunk is the cmdline, stored as is: "console=ttyS0 ..." becomes "console=ttyS1 ...".
        let row = table + 5 * 32
        let offset = Int(CorruptionTests.u64(bytes, row)), stored = Int(CorruptionTests.u64(bytes, row + 8) & 0xFFFF_FFFF)
        XCTAssertEqual(Array(bytes[offset..<(offset + stored)]), TestImages.cmdline)
        bytes[offset + 12] = UInt8(ascii: "1")
        let (a, b) = BLAKE2b128.hash(Array(bytes[offset..<(offset + stored)]))
        CorruptionTests.put(&bytes, row + 16, a, width: 8)
        CorruptionTests.put(&bytes, row + 24, b, width: 8)
        CorruptionTests.resealTable(&bytes)
        // The image is self-consistent again...
        XCTAssertNil(TestImages.verifyError(bytes))
        // ...but not what the key signed.
        XCTAssertThrowsError(try SignatureCheck.verify(try header(bytes), trustedKeys: [key.publicKey])) {
            XCTAssertEqual($0 as? SignatureFailure, .badSignature(key.publicKey.keyID))
        }
    }

    func testKeyFilesRoundTripAndRejectMalformedText() throws {
        XCTAssertEqual(try PublicKey(fileText: key.publicKey.fileText), key.publicKey)
        XCTAssertEqual(try SigningKey(fileText: key.fileText).publicKey, key.publicKey)
        XCTAssertTrue(key.fileText.hasPrefix("fastresume-ed25519-secret-key "))
        XCTAssertTrue(key.publicKey.fileText.hasPrefix("fastresume-ed25519-public-key "))
        XCTAssertEqual(key.publicKey.fileText.utf8.count, 30 + 64 + 1)
        XCTAssertThrowsError(try PublicKey(fileText: key.fileText)) {
            XCTAssertEqual($0 as? KeyFileError,
                           .malformed("not a fastresume public key (expected a line starting \"fastresume-ed25519-public-key\")"))
        }
        XCTAssertThrowsError(try PublicKey(fileText: PublicKey.filePrefix + "abc\n")) {
            XCTAssertEqual($0 as? KeyFileError, .malformed("the public key is 3 characters, expected 64 hex digits"))
        }
        XCTAssertThrowsError(try PublicKey(fileText: PublicKey.filePrefix + String(repeating: "G", count: 64))) {
            XCTAssertEqual($0 as? KeyFileError,
                           .malformed("the public key has a character that is not a lowercase hex digit at position 1"))
        }
        XCTAssertThrowsError(try SigningKey(fileText: "")) { XCTAssertTrue($0 is KeyFileError) }
        // Two generated keys differ.
        XCTAssertNotEqual(try SigningKey.generate().publicKey, try SigningKey.generate().publicKey)
    }

    func hexBytes(_ text: String) -> [UInt8] {
        let u = Array(text.utf8)
        return stride(from: 0, to: u.count, by: 2).map { UInt8(String(decoding: u[$0..<($0 + 2)], as: UTF8.self), radix: 16)! }
    }
}

/// Peak memory is bounded by bytes in flight, not by chunks.
final class MemoryBoundTests: XCTestCase {
    func testPipelineBuffersStayWithinTheBudgetForEveryChunkSize() {
        var size = ImageHeader.minChunkSize
        while size <= ImageHeader.maxChunkSize {
            for requested in [1, 16, 64, 1 << 20] {
                let batch = PipelineBudget.batchChunks(chunkSize: size, requested: requested)
                XCTAssertGreaterThanOrEqual(batch, 1)
                XCTAssertLessThanOrEqual(2 * batch * Int(size), PipelineBudget.maxBufferBytes, "chunk \(size) requested \(requested)")
            }
            size <<= 1
        }
    }

    /// An image at the largest chunk size (4 MiB), read with a pool and a
    /// large batch asked for: the buffers held at once never pass 16 MiB.
    func testLargestChunkSizeDecodesWithinTheBudget() throws {
        let chunk = Int(ImageHeader.maxChunkSize)
        var data = [UInt8](repeating: 0x5A, count: chunk * 9 + 1234)
        for i in stride(from: 0, to: data.count, by: 4093) { data[i] = UInt8(truncatingIfNeeded: i >> 12) }
        let image = MemoryImage()
        var h = TestImages.header(.snapshot, chunkSize: ImageHeader.maxChunkSize)
        h.requiredMemoryBytes = 128 << 20
        h.memoryBlockSize = 128 << 20
        var w = ImageWriter(sink: image, header: h, pool: WorkerPool(threads: 3), batchChunks: 64)
        var input = BytesInput(data)
        try w.append(.stream, from: &input)
        try w.finish()
        let reader = try ImageReader(source: image)
        try reader.checkTable()
        PipelineBudget.resetPeak()
        var out: [UInt8] = []
        out.reserveCapacity(data.count)
        try reader.forEachChunk(pool: WorkerPool(threads: 4), batchChunks: 64) { _, _, raw in out += raw }
        XCTAssertEqual(out, data)
        XCTAssertGreaterThan(PipelineBudget.peak, 0)
        XCTAssertLessThanOrEqual(PipelineBudget.peak, 16 << 20)
        XCTAssertEqual(PipelineBudget.current, 0, "buffers are released when the pipeline ends")
    }
}
