import CSodium

// Signed images (format 1.1): Ed25519 through libsodium over the header,
// which holds the SHA-256 digest of the chunk table, which holds every
// chunk's BLAKE2b-128. docs/FORMAT.md, "Signature", is the specification.

/// The first 8 bytes of SHA-256 of a 32-byte Ed25519 public key; shown as
/// 16 lowercase hex digits.
public struct KeyID: Sendable, Equatable, Hashable, CustomStringConvertible {
    public static let size = 8
    public let bytes: [UInt8]
    public init?(bytes: [UInt8]) {
        guard bytes.count == KeyID.size else { return nil }
        self.bytes = bytes
    }
    public var description: String { hexString(bytes) }
}

/// Why a key file was refused: one line, naming the file's problem.
public enum KeyFileError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed(String)
    case libsodium(String)
    public var description: String {
        switch self {
        case let .malformed(why): return "key file: \(why)"
        case let .libsodium(what): return "libsodium: \(what) failed"
        }
    }
}

/// An Ed25519 public key: what the initramfs carries to check images.
///
/// File (`NAME.pub`, e.g. in /etc/fastresume/keys/): one line,
/// `fastresume-ed25519-public-key ` then 64 lowercase hex digits (the 32 key
/// bytes), then a newline.
public struct PublicKey: Sendable, Equatable {
    public static let size = 32
    public static let filePrefix = "fastresume-ed25519-public-key "
    public let bytes: [UInt8]
    public let keyID: KeyID

    public init(bytes: [UInt8]) throws(KeyFileError) {
        guard bytes.count == PublicKey.size else { throw .malformed("a public key is \(PublicKey.size) bytes, not \(bytes.count)") }
        self.bytes = bytes
        keyID = KeyID(bytes: Array(SHA256.digest(bytes).prefix(KeyID.size)))!
    }

    /// Parses the text of a `.pub` file.
    public init(fileText: String) throws(KeyFileError) {
        try self.init(bytes: try parseKeyLine(fileText, prefix: PublicKey.filePrefix, what: "public key"))
    }

    public var fileText: String { PublicKey.filePrefix + hexString(bytes) + "\n" }
}

/// An Ed25519 secret key (`resume-image keygen`): signs images.
///
/// File (mode 0600): one line, `fastresume-ed25519-secret-key ` then 64
/// lowercase hex digits (the 32-byte seed libsodium derives the key pair
/// from: crypto_sign_seed_keypair), then a newline.
public struct SigningKey: Sendable {
    public static let seedSize = 32
    public static let filePrefix = "fastresume-ed25519-secret-key "
    /// The seed and libsodium's secret key, in one buffer every copy of
    /// this key shares, so that `wipe` clears them for all.
    private let storage: SecretBytes
    public let publicKey: PublicKey

    /// The key pair of a 32-byte seed (deterministic: tests, known answers).
    public init(seed: [UInt8]) throws(KeyFileError) {
        guard Sodium.ready else { throw .libsodium("sodium_init") }
        guard seed.count == SigningKey.seedSize else { throw .malformed("a secret key seed is 32 bytes, not \(seed.count)") }
        var pk = [UInt8](repeating: 0, count: Int(crypto_sign_PUBLICKEYBYTES))
        storage = SecretBytes(count: Self.seedSize + Int(crypto_sign_SECRETKEYBYTES))
        storage.memory.copyBytes(from: seed)
        let sk = storage.memory.baseAddress!.advanced(by: Self.seedSize).assumingMemoryBound(to: UInt8.self)
        guard crypto_sign_seed_keypair(&pk, sk, seed) == 0 else { throw .libsodium("crypto_sign_seed_keypair") }
        publicKey = try PublicKey(bytes: pk)
    }

    /// A new key pair from libsodium's random source (getrandom).
    public static func generate() throws(KeyFileError) -> SigningKey {
        guard Sodium.ready else { throw .libsodium("sodium_init") }
        var seed = [UInt8](repeating: 0, count: seedSize)
        randombytes_buf(&seed, seedSize)
        defer { sodium_memzero(&seed, seedSize) }
        return try SigningKey(seed: seed)
    }

    /// Parses the text of a secret key file.
    public init(fileText: String) throws(KeyFileError) {
        var seed = try parseKeyLine(fileText, prefix: SigningKey.filePrefix, what: "secret key")
        defer { sodium_memzero(&seed, seed.count) }
        try self.init(seed: seed)
    }

    /// The 32-byte seed (what a key file holds, and what kernel A hands the
    /// hibernate kernel), written into `out`.
    public func copySeed(into out: UnsafeMutableRawBufferPointer) {
        out.copyMemory(from: UnsafeRawBufferPointer(rebasing: storage.memory[0..<Self.seedSize]))
    }

    public var fileText: String { SigningKey.filePrefix + hexString(Array(storage.memory[0..<Self.seedSize])) + "\n" }

    /// Zeroes the key's bytes (every copy of it shares them): call once it
    /// has signed what it must, before memory that holds it is saved.
    /// Signing afterwards gives signatures no key verifies.
    public func wipe() { sodium_memzero(storage.memory.baseAddress, storage.memory.count) }

    /// The 64-byte Ed25519 signature of `message` (crypto_sign_detached).
    public func sign(_ message: [UInt8]) -> [UInt8] {
        var sig = [UInt8](repeating: 0, count: Int(crypto_sign_BYTES))
        let sk = storage.memory.baseAddress!.advanced(by: Self.seedSize).assumingMemoryBound(to: UInt8.self)
        _ = crypto_sign_detached(&sig, nil, message, UInt64(message.count), sk)
        return sig
    }
}

/// Secret bytes on the heap, zeroed when wiped and when freed.
final class SecretBytes: @unchecked Sendable {
    let memory: UnsafeMutableRawBufferPointer
    init(count: Int) {
        memory = .allocate(byteCount: count, alignment: 16)
        memory.initializeMemory(as: UInt8.self, repeating: 0)
    }
    deinit {
        sodium_memzero(memory.baseAddress, memory.count)
        memory.deallocate()
    }
}

/// The signature an image carries in its header (signature type 1).
public struct ImageSignature: Sendable, Equatable {
    public static let typeEd25519: UInt32 = 1
    /// Bytes used in the signature field: key id (8), then the signature (64).
    public static let length = KeyID.size + 64
    public var keyID: KeyID
    public var signature: [UInt8]

    public init(keyID: KeyID, signature: [UInt8]) {
        self.keyID = keyID
        self.signature = signature
    }

    /// The bytes signed: the 4096-byte header block with the state field
    /// (0x010..<0x018), the header checksum (0x018..<0x020) and the 64
    /// signature bytes (0xE10..<0xE50) set to zero. Everything else,
    /// the table digest, the signature type, length and key id included,
    /// is signed.
    public static func message(headerBlock: [UInt8]) -> [UInt8] {
        var m = Array(headerBlock.prefix(ImageHeader.size))
        for i in ImageHeader.Offset.state..<(ImageHeader.Offset.checksum + 8) { m[i] = 0 }
        let sig = ImageHeader.Offset.signature + KeyID.size
        for i in sig..<(sig + 64) { m[i] = 0 }
        return m
    }
}

/// Why a signature check refused an image.
public enum SignatureFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// Keys are configured and the image carries no signature.
    case unsigned
    /// Signed, but by a key that is not among the trusted ones.
    case unknownKey(KeyID)
    /// Signed with a trusted key's id, but the signature does not verify.
    case badSignature(KeyID)

    public var description: String {
        switch self {
        case .unsigned: return "image is not signed, and only signed images are trusted"
        case let .unknownKey(id): return "image is signed by key \(id), which is not trusted"
        case let .badSignature(id): return "image signature by key \(id) does not verify (image altered)"
        }
    }
}

/// The check the agent makes when the initramfs carries public keys.
public enum SignatureCheck {
    /// Checks `header` (as `ImageHeader.decode`/`ImageReader` returned it)
    /// against `trustedKeys`; returns the key that signed it.
    ///
    /// The signature covers the header, and so the table digest; the table
    /// digest covers every chunk's BLAKE2b-128 (a signed image must use it,
    /// the decoder enforces that). So a passing header, followed by
    /// `ImageReader.checkTable()` and the chunk checks of `forEachChunk`,
    /// authenticates every byte that is restored. Pure: no I/O.
    public static func verify(_ header: ImageHeader, trustedKeys: [PublicKey]) throws(SignatureFailure) -> PublicKey {
        guard let signature = header.signature else { throw .unsigned }
        guard let key = trustedKeys.first(where: { $0.keyID == signature.keyID }) else {
            throw .unknownKey(signature.keyID)
        }
        guard Sodium.ready, signature.signature.count == Int(crypto_sign_BYTES) else { throw .badSignature(signature.keyID) }
        let message = ImageSignature.message(headerBlock: header.encode())
        let ok = crypto_sign_verify_detached(signature.signature, message, UInt64(message.count), key.bytes) == 0
        guard ok else { throw .badSignature(signature.keyID) }
        return key
    }
}

func hexString(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count * 2)
    for b in bytes {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 15)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// `PREFIX` + 64 lowercase hex digits + optional newline, nothing else.
private func parseKeyLine(_ text: String, prefix: String, what: String) throws(KeyFileError) -> [UInt8] {
    var utf8 = Array(text.utf8)
    if utf8.last == 0x0A { utf8.removeLast() }
    let p = Array(prefix.utf8)
    guard utf8.count >= p.count, Array(utf8[0..<p.count]) == p else {
        throw .malformed("not a fastresume \(what) (expected a line starting \"\(prefix.dropLast())\")")
    }
    let digits = utf8[p.count...]
    guard digits.count == 64 else { throw .malformed("the \(what) is \(digits.count) characters, expected 64 hex digits") }
    var out: [UInt8] = []
    var high: UInt8 = 0
    for (i, c) in digits.enumerated() {
        let v: UInt8
        switch c {
        case 0x30...0x39: v = c - 0x30
        case 0x61...0x66: v = c - 0x61 + 10
        default: throw .malformed("the \(what) has a character that is not a lowercase hex digit at position \(i + 1)")
        }
        if i % 2 == 0 { high = v } else { out.append(high << 4 | v) }
    }
    return out
}
