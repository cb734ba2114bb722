/// How kernel A hands its signing key to the hibernate kernel B, so that B
/// signs the memory image it writes: never on a disk, never on B's command
/// line (B's console prints that). B takes the key and wipes where it lay.
///
/// - B booted cold: in B's initramfs, as the file `initrdPath` (its 32-byte
///   seed, raw), in a cpio archive A appends to B's initrd in memory (the
///   kernel unpacks concatenated archives in turn).
/// - A kept B: in the mailbox page, at `mailboxOffset`: the magic
///   `mailboxMagic`, then the seed. A writes it with each request; the
///   saved B's file never holds it (B parks before any key is there).
///
/// B leaves out A's staged copy of itself (A's kexec image's source pages),
/// where both lie in A's memory; A wipes its own copies before the jump.
public enum JumpSigningKey {
    public static let initrdPath = "/etc/fastresume/jump-signing-key"
    public static let mailboxOffset = 0xF00
    public static let mailboxMagic: UInt64 = 0x594B_4E47_4953_5246 // "FRSIGNKY"
    public static var mailboxBytes: Int { 8 + SigningKey.seedSize }

    /// A newc cpio archive of `initrdPath` (mode 0400) holding `seed`, with
    /// its directories (existing ones are kept as they are).
    public static func cpio(seed: UnsafeRawBufferPointer) -> [UInt8] {
        var out: [UInt8] = []
        var ino: UInt32 = 0x7F00
        func entry(_ name: String, mode: UInt32, data: UnsafeRawBufferPointer?) {
            ino += 1
            let fields: [UInt32] = [ino, mode, 0, 0, 1, 0, UInt32(data?.count ?? 0), 0, 0, 0, 0, UInt32(name.utf8.count + 1), 0]
            out += Array("070701".utf8)
            for f in fields {
                let hex = String(f, radix: 16, uppercase: true)
                out += Array((String(repeating: "0", count: 8 - hex.utf8.count) + hex).utf8)
            }
            out += Array(name.utf8) + [0]
            while out.count % 4 != 0 { out.append(0) }
            if let data { out += data }
            while out.count % 4 != 0 { out.append(0) }
        }
        entry("etc", mode: 0o040755, data: nil)
        entry("etc/fastresume", mode: 0o040755, data: nil)
        entry(String(initrdPath.dropFirst()), mode: 0o100400, data: seed)
        entry("TRAILER!!!", mode: 0, data: nil)
        return out
    }

    /// The mailbox's key field: magic, then the seed.
    public static func mailboxField(seed: UnsafeRawBufferPointer) -> [UInt8] {
        withUnsafeBytes(of: mailboxMagic.littleEndian) { Array($0) } + Array(seed)
    }

    /// The seed in the mailbox's key field (`mailboxBytes` read at
    /// `mailboxOffset`), if A left one.
    public static func seed(inMailboxField field: [UInt8]) -> [UInt8]? {
        guard field.count == mailboxBytes, JumpMailbox.u64(field, 0) == mailboxMagic else { return nil }
        return Array(field[8...])
    }
}
