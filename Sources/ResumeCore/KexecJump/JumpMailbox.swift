/// The page kernel A and a kept hibernate kernel B pass re-entry points
/// and requests through ("a pre-booted hibernate kernel").
///
/// A kexec jump tells each side its peer's re-entry point only on the
/// stack: at entry, 0(%rsp) is the return address in the caller's
/// relocate_kernel. Two small trampolines hand it over through this page,
/// then jump on with the stack as it was (so the callee's relocate_kernel
/// reads 0(%rsp) as usual):
///
/// - B's jump back to A enters `toA`, which stores B's re-entry point at
///   +0x08, then the magic `parked`, then jumps to A's re-entry point: A
///   learns where B goes on, and can save B's memory as "B saved".
/// - A's jump into a saved B enters `toB` (A writes it into this page),
///   which stores A's new re-entry point at +0x10, then the magic
///   `resumed`, and jumps to B's re-entry point.
///
/// A writes its request for B (the `resume_agent.jump_*` parameters, as on
/// a command line) at +0x100 before it jumps. The page is the first of B's
/// window: B's command line makes it ACPI data, so B's kernel never uses it
/// and keeps it in its kexec identity map, and A's kernel does not use it
/// either (the window is not A's RAM).
///
/// Layout: +0x00 magic, +0x08 B's re-entry point, +0x10 A's re-entry point,
/// +0x100 request text (NUL-terminated, at most 0x6FF bytes), +0x800 `toB`.
public enum JumpMailbox {
    public static let parked: UInt64 = 0x4445_4B52_4150_5246   // "FRPARKED"
    public static let resumed: UInt64 = 0x4445_4D55_5345_5246  // "FRESUMED"
    /// A jumps into the same loaded B again (`kexec -e`): its re-entry point has not changed.
    public static let request: UInt64 = 0x5453_4555_5145_5246  // "FREQUEST"
    public static let magicOffset = 0x00, bReentryOffset = 0x08, aReentryOffset = 0x10
    public static let requestOffset = 0x100, requestCapacity = 0x6FF, toBOffset = 0x800

    /// x86-64 code: store 0(%rsp) at `slot`, then `magic` at `magicAt`,
    /// then `jmp` to `target`; position independent (absolute addresses
    /// only as immediates). 52 bytes.
    public static func trampoline(slot: UInt64, magicAt: UInt64, magic: UInt64, target: UInt64) -> [UInt8] {
        func imm(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
        var code: [UInt8] = [0x48, 0x8B, 0x04, 0x24]          // mov (%rsp), %rax
        code += [0x48, 0xBF] + imm(slot)                       // movabs $slot, %rdi
        code += [0x48, 0x89, 0x07]                             // mov %rax, (%rdi)
        code += [0x48, 0xBF] + imm(magicAt)                    // movabs $magicAt, %rdi
        code += [0x48, 0xB8] + imm(magic)                      // movabs $magic, %rax
        code += [0x48, 0x89, 0x07]                             // mov %rax, (%rdi)
        code += [0x48, 0xB8] + imm(target)                     // movabs $target, %rax
        code += [0xFF, 0xE0]                                   // jmp *%rax
        return code
    }

    /// The page B jumps back through: `toA` at its start.
    public static func toA(mailbox: UInt64, aReentry: UInt64) -> [UInt8] {
        trampoline(slot: mailbox + UInt64(bReentryOffset), magicAt: mailbox, magic: parked, target: aReentry)
    }

    /// What A writes into the mailbox page before it jumps into a saved B.
    public static func page(mailbox: UInt64, bReentry: UInt64, request: String) -> [UInt8]? {
        let text = Array(request.utf8)
        guard text.count <= requestCapacity, !text.contains(0) else { return nil }
        var page = [UInt8](repeating: 0, count: Int(ImageHeader.pageSize))
        page.replaceSubrange(requestOffset..<(requestOffset + text.count), with: text)
        let code = trampoline(slot: mailbox + UInt64(aReentryOffset), magicAt: mailbox, magic: resumed, target: bReentry)
        page.replaceSubrange(toBOffset..<(toBOffset + code.count), with: code)
        for i in 0..<8 { page[bReentryOffset + i] = UInt8(truncatingIfNeeded: bReentry >> (8 * UInt64(i))) }
        return page
    }

    public static func u64(_ page: [UInt8], _ at: Int) -> UInt64 {
        (0..<8).reduce(0) { $0 | UInt64(page[at + $1]) << (8 * UInt64($1)) }
    }

    /// The request text A left, up to its NUL.
    public static func request(_ page: [UInt8]) -> String? {
        let field = page[requestOffset..<(requestOffset + requestCapacity)]
        guard let end = field.firstIndex(of: 0) else { return nil }
        let bytes = page[requestOffset..<end]
        guard bytes.allSatisfy({ (0x20...0x7E).contains($0) }) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}
