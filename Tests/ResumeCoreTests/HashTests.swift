import XCTest
@testable import ResumeCore

final class HashTests: XCTestCase {
    func testXXH64KnownValues() {
        // Reference values from the xxHash project (xxhsum -H64).
        XCTAssertEqual(XXH64.hash([]), 0xEF46_DB37_51D8_E999)
        XCTAssertEqual(XXH64.hash(Array("a".utf8)), 0xD24E_C4F1_A98C_6E5B)
        XCTAssertEqual(XXH64.hash(Array("abc".utf8)), 0x44BC_2CF5_AD77_0999)
        XCTAssertEqual(XXH64.hash(Array("Nobody inspects the spammish repetition".utf8)), 0xFBCE_A83C_8A37_8BF1)
    }

    func testXXH64LongInputAndSeed() {
        // Covers the 32-byte stripe loop and every tail; values from an
        // independent implementation of the xxHash spec.
        let data = (0..<100_003).map { UInt8($0 % 251) }
        XCTAssertEqual(XXH64.hash(data), 0xCBAB_15CE_50B1_EB20)
        XCTAssertEqual(XXH64.hash(data, seed: 7), 0x7C11_042A_E48D_83EB)
    }

    func testSHA256KnownValues() {
        func hex(_ b: [UInt8]) -> String { b.map { String(format0x($0)) }.joined() }
        XCTAssertEqual(hex(SHA256.digest([])), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(hex(SHA256.digest(Array("abc".utf8))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(hex(SHA256.digest(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(hex(SHA256.digest([UInt8](repeating: 0x61, count: 1_000_000))),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testSHA256StreamingEqualsOneShot() {
        let data = TestImages.bytes(10_000, seed: 4)
        var h = SHA256()
        var i = 0
        for step in [1, 63, 64, 65, 1000, 7] + [Int](repeating: 500, count: 20) where i < data.count {
            let end = min(data.count, i + step)
            h.update(Array(data[i..<end]))
            i = end
        }
        h.update(Array(data[i...]))
        XCTAssertEqual(h.finalize(), SHA256.digest(data))
    }

    private func format0x(_ b: UInt8) -> String { (b < 16 ? "0" : "") + String(b, radix: 16) }
}
