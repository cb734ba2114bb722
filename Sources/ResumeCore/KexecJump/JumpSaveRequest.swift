/// What the hibernate kernel B is asked to do, from its command line: A's
/// side (`resume-image hibernate --kexec-jump`) writes these parameters,
/// kexec-tools' purgatory adds `kexec_jump_back_entry=`. docs/KEXEC-JUMP.md
/// lists them; resume-agent(8) documents them.
public struct JumpSaveRequest: Sendable, Equatable {
    /// After the save: power off (hibernation) or jump back (a checkpoint);
    /// `park`: save nothing, jump back at once, so that A can save this
    /// kernel as it stands (a pre-booted B, `JumpMailbox`).
    public enum Then: String, Sendable { case poweroff, back, park }

    /// A's re-entry point (physical): where B jumps back, and where C enters A.
    public var reentry: UInt64
    /// Where to save A (`resume_agent.jump_save=`), as resume= names a device.
    public var target: DeviceSpec
    public var then: Then
    /// A's System RAM above 1 MiB (`resume_agent.jump_ram=`), ascending.
    public var ram: [PageMap.Range]
    /// A's real-mode trampoline below 1 MiB (`resume_agent.jump_trampoline=`,
    /// `RealModeTrampoline`), saved as the image's `low pages` entry.
    public var trampoline: PageMap.Range?
    /// Where A's `kexec_image` variable is (`resume_agent.jump_kimage=`,
    /// virtual): B leaves out the source pages of A's kexec image, A's
    /// staged copy of B, which A frees when it comes back.
    public var kexecImage: UInt64?
    /// A's vmcoreinfo note (`resume_agent.jump_vmcoreinfo=ADDR,SIZE`).
    public var vmcoreinfo: (address: UInt64, size: UInt64)
    /// XXH64 of A's firmware memory map (`resume_agent.jump_memmap=`).
    public var memoryMapHash: UInt64
    /// The mailbox page A and B share (`resume_agent.jump_mailbox=`), when
    /// A keeps B for later jumps (`JumpMailbox`).
    public var mailbox: UInt64?

    public init(reentry: UInt64, target: DeviceSpec, then: Then, ram: [PageMap.Range],
                vmcoreinfo: (address: UInt64, size: UInt64), memoryMapHash: UInt64, mailbox: UInt64? = nil) {
        self.reentry = reentry; self.target = target; self.then = then; self.ram = ram
        self.vmcoreinfo = vmcoreinfo; self.memoryMapHash = memoryMapHash; self.mailbox = mailbox
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.reentry == b.reentry && a.target == b.target && a.then == b.then && a.ram == b.ram
            && a.vmcoreinfo == b.vmcoreinfo && a.memoryMapHash == b.memoryMapHash && a.mailbox == b.mailbox
            && a.trampoline == b.trampoline && a.kexecImage == b.kexecImage
    }

    /// Every range B saves, in the image's order: the trampoline first.
    public var ranges: [PageMap.Range] { (trampoline.map { [$0] } ?? []) + ram }

    /// The most ranges a memory image holds (16 entries, one is the map).
    public static let maxRanges = ImageHeader.maxEntries - 1

    /// Whether this kernel was started by a kexec jump at all.
    public static func isJump(_ cmdline: KernelCommandLine) -> Bool { cmdline.has("kexec_jump_back_entry") }

    /// The request, or a one-line reason it is not usable.
    public static func parse(_ cmdline: KernelCommandLine) -> Result<JumpSaveRequest, JumpRequestError> {
        func fail(_ text: String) -> Result<JumpSaveRequest, JumpRequestError> { .failure(JumpRequestError(text: text)) }
        guard let entryText = cmdline.value("kexec_jump_back_entry"), let reentry = parseHex(entryText), reentry != 0 else {
            return fail("kexec_jump_back_entry= is not a hexadecimal address")
        }
        guard let targetText = cmdline.value("resume_agent.jump_save") else {
            return fail("no resume_agent.jump_save= (where to save kernel A)")
        }
        guard let target = DeviceSpec.parse(targetText) else {
            return fail("resume_agent.jump_save=\(targetText.escapingControlCharacters): not a device path or TAG=value")
        }
        let thenText = cmdline.value("resume_agent.jump_then") ?? "poweroff"
        guard let then = Then(rawValue: thenText) else {
            return fail("resume_agent.jump_then=\(thenText.escapingControlCharacters): expected poweroff or back")
        }
        guard let ramText = cmdline.value("resume_agent.jump_ram") else { return fail("no resume_agent.jump_ram= (kernel A's RAM)") }
        var ram: [PageMap.Range] = []
        for item in ramText.split(separator: ",") {
            let bounds = item.split(separator: "-")
            guard bounds.count == 2, let first = parseHex(bounds[0]), let last = parseHex(bounds[1]), last > first,
                  first % ImageHeader.pageSize == 0, (last &+ 1) % ImageHeader.pageSize == 0,
                  last < ImageHeader.maxBytes, first >= (ram.last?.end ?? 0) else {
                return fail("resume_agent.jump_ram: \(String(item).escapingControlCharacters) is not a page-aligned START-END range above the previous one")
            }
            ram.append(PageMap.Range(start: first, pages: (last + 1 - first) / ImageHeader.pageSize))
        }
        var trampoline: PageMap.Range?
        if let text = cmdline.value("resume_agent.jump_trampoline") {
            let bounds = text.split(separator: "-")
            guard bounds.count == 2, let first = parseHex(bounds[0]), let last = parseHex(bounds[1]), last > first,
                  first % ImageHeader.pageSize == 0, (last &+ 1) % ImageHeader.pageSize == 0, last < RealModeTrampoline.limit else {
                return fail("resume_agent.jump_trampoline=\(text.escapingControlCharacters) is not a page-aligned START-END range below 1 MiB")
            }
            trampoline = PageMap.Range(start: first, pages: (last + 1 - first) / ImageHeader.pageSize)
        }
        guard !ram.isEmpty, ram.count + (trampoline == nil ? 0 : 1) <= maxRanges else {
            return fail("resume_agent.jump_ram: \(ram.count) ranges, expected 1...\(maxRanges - (trampoline == nil ? 0 : 1))")
        }
        guard ram[0].start >= RealModeTrampoline.limit else {
            return fail("resume_agent.jump_ram: \(hexAddress(ram[0].start)) is in the first MiB (only the trampoline is saved there)")
        }
        let note = (cmdline.value("resume_agent.jump_vmcoreinfo") ?? "").split(separator: ",")
        guard note.count == 2, let address = parseHex(note[0]), let size = parseHex(note[1]),
              size > 0, size <= VMCoreInfo.maxNoteBytes else {
            return fail("resume_agent.jump_vmcoreinfo= is not ADDRESS,SIZE (hexadecimal, at most \(VMCoreInfo.maxNoteBytes) bytes)")
        }
        guard let mapText = cmdline.value("resume_agent.jump_memmap"), let map = parseHex(mapText), map != 0 else {
            return fail("resume_agent.jump_memmap= is not the hexadecimal hash of A's firmware memory map")
        }
        var request = JumpSaveRequest(reentry: reentry, target: target, then: then, ram: ram,
                                      vmcoreinfo: (address, size), memoryMapHash: map)
        request.trampoline = trampoline
        if let text = cmdline.value("resume_agent.jump_kimage") {
            guard let address = parseHex(text), address >= 1 << 63 else {
                return fail("resume_agent.jump_kimage=\(text.escapingControlCharacters) is not a hexadecimal kernel address")
            }
            request.kexecImage = address
        }
        if let mailboxText = cmdline.value("resume_agent.jump_mailbox") {
            guard let mailbox = parseHex(mailboxText), mailbox % ImageHeader.pageSize == 0, mailbox < ImageHeader.maxBytes else {
                return fail("resume_agent.jump_mailbox=\(mailboxText.escapingControlCharacters) is not a page-aligned hexadecimal address")
            }
            request.mailbox = mailbox
        }
        if then == .park, request.mailbox == nil {
            return fail("resume_agent.jump_then=park needs resume_agent.jump_mailbox= (where A learns this kernel's re-entry point)")
        }
        return .success(request)
    }
}

public struct JumpRequestError: Error, Sendable, Equatable, CustomStringConvertible {
    public var text: String
    public var description: String { text }
}
