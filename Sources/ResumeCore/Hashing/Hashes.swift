import CSodium
import CXXHash

// The hashes of the format, from Debian's libxxhash (XXH64, XXH3-64) and
// libsodium (SHA-256, BLAKE2b). No hand-written primitives: bench/decode.sh
// recorded the libraries at least as fast (bench/results/decode-hashes.txt).

/// XXH64 (seed 0 unless given): the header checksum, the memory layout hash,
/// and the chunk checksums of format 1.0 images. Detects corruption; does
/// not authenticate.
public enum XXH64 {
    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        CXXHash.XXH64(bytes.baseAddress, bytes.count, seed)
    }
    public static func hash(_ bytes: [UInt8], seed: UInt64 = 0) -> UInt64 {
        bytes.withUnsafeBytes { hash($0, seed: seed) }
    }
}

/// XXH3-64 (seed 0): the chunk checksums of unsigned format 1.1 images.
public enum XXH3 {
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        XXH3_64bits(bytes.baseAddress, bytes.count)
    }
    public static func hash(_ bytes: [UInt8]) -> UInt64 { bytes.withUnsafeBytes { hash($0) } }
}

/// libsodium needs one initialisation (it picks the fastest code for this
/// CPU and opens its random source); every entry point here goes through it.
enum Sodium {
    static let ready: Bool = sodium_init() >= 0
}

/// SHA-256 (libsodium's crypto_hash_sha256), streaming: the chunk table
/// digest and the key id.
public struct SHA256: @unchecked Sendable {
    private var state = crypto_hash_sha256_state()
    public static let size = 32

    public init() {
        _ = Sodium.ready
        crypto_hash_sha256_init(&state)
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0, let base = bytes.baseAddress else { return }
        crypto_hash_sha256_update(&state, base.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count))
    }

    public mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    public mutating func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: SHA256.size)
        crypto_hash_sha256_final(&state, &out)
        return out
    }

    public static func digest(_ bytes: [UInt8]) -> [UInt8] {
        var h = SHA256()
        h.update(bytes)
        return h.finalize()
    }
}

/// BLAKE2b with a 16-byte output (libsodium's crypto_generichash, no key):
/// the chunk hash of signed images, where a chunk must not be replaceable
/// by one with the same checksum (XXH64 and XXH3 can be forged at will).
public enum BLAKE2b128 {
    public static let size = 16
    /// The digest as two little-endian 64-bit words (bytes 0..<8, 8..<16).
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> (UInt64, UInt64) {
        _ = Sodium.ready
        var out: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &out) { o in
            _ = crypto_generichash(o.baseAddress!.assumingMemoryBound(to: UInt8.self), size,
                                   bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count), nil, 0)
        }
        return (UInt64(littleEndian: out.0), UInt64(littleEndian: out.1))
    }
    public static func hash(_ bytes: [UInt8]) -> (UInt64, UInt64) { bytes.withUnsafeBytes { hash($0) } }
}
