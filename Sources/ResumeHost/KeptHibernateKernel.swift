import ResumeBoot
import ResumeCore
import ResumeSystem
import ResumeReports
#if canImport(Glibc)
import Glibc
#endif

/// The seed's optimisation: kernel A keeps its hibernate kernel
/// B. The first time, B boots cold and parks (jumps back at once); A reads
/// the parked B out of its own kexec image (`readParked`) and saves B's
/// window and re-entry point as a segments image ("Saved hibernate
/// kernels" in docs/FORMAT.md). Every hibernation, including that first
/// one, then loads the saved B into its window with KEXEC_PRESERVE_CONTEXT
/// and enters it through the mailbox's `toB`: B goes on where it parked,
/// with no boot, learns A's re-entry point and request from the mailbox,
/// and saves A as before.
///
/// A saved B is used only for the same B kernel and initrd, the same
/// window, on the same machine (firmware memory map); anything else is
/// refused with its reason, and B is booted cold and saved again.
public enum KeptHibernateKernel {
    public typealias Expected = SavedHibernateKernelFile.Expected

    /// Saves B's window (`content`, as `readParked` gave it) and its
    /// re-entry point to `path`.
    /// With a `signer`, the file is signed (and its chunks hashed with BLAKE2b).
    public static func save(_ content: UnsafeRawBufferPointer, bReentry: UInt64, release: String,
                            expected: Expected, signer: SigningKey? = nil, to path: String) throws {
        let header = SavedHibernateKernelFile(window: expected.window, reentry: bReentry, identity: expected.identity,
                                              firmwareMapHash: expected.firmwareMapHash, release: release)
            .header(createdAt: UInt64(max(0, time(nil))))
        let file = try DeviceFile(path: path, writable: true, create: true)
        var writer = ImageWriter(sink: file, header: header, pool: WorkerPool(threads: WorkerPool.onlineCPUs), signer: signer)
        var input = BufferInput(content)
        try writer.append(.segment, from: &input, physicalAddress: expected.window.start, memorySize: expected.window.size)
        try writer.finish()
    }

    /// The saved B at `path`, checked in full and against `expected`:
    /// its window's bytes and re-entry point. Throws the reason it cannot
    /// be used (the caller then boots B cold).
    /// With `signedBy`, the file must carry that key's signature (A signs
    /// its images: the B it would run must be the one it saved).
    public static func load(from path: String, expected: Expected, signedBy key: PublicKey? = nil) throws -> (content: ScratchBuffer, bReentry: UInt64) {
        let reader = try ImageReader(source: try DeviceFile(path: path))
        try reader.requireValidState()
        if let key {
            do { _ = try SignatureCheck.verify(reader.header, trustedKeys: [key]) } catch {
                throw HostFailure("the saved hibernate kernel in \(path): \(error)")
            }
        }
        let file: SavedHibernateKernelFile
        do { file = try SavedHibernateKernelFile(reader.header) } catch {
            throw HostFailure("\(path): \(error)")
        }
        if let reason = file.mismatch(expected) { throw HostFailure("the saved hibernate kernel in \(path): \(reason)") }
        try reader.checkTable()
        let content = ScratchBuffer(count: Int(file.window.size))
        var filled = 0
        try reader.forEachChunk(entry: 0, pool: WorkerPool(threads: WorkerPool.onlineCPUs)) { _, _, raw in
            UnsafeMutableRawBufferPointer(rebasing: content.memory[filled..<(filled + raw.count)]).copyMemory(from: raw)
            filled += raw.count
        }
        return (content, file.reentry)
    }

    /// Loads the saved B into its window with A's `request` in the mailbox
    /// (the window's first page). The kernel keeps its own copy: the
    /// caller drops `content` before `jumpAndReturn`, so that B does not
    /// save B's window a second time as A's memory.
    /// With a `signer`, its seed goes in the mailbox's key field
    /// (`JumpSigningKey`), zeroed in `content` once the kernel has its copy.
    public static func load(_ content: ScratchBuffer, window: PhysicalRange, bReentry: UInt64, request: String,
                            signer: SigningKey? = nil) throws {
        guard let page = JumpMailbox.page(mailbox: window.start, bReentry: bReentry, request: request) else {
            throw HostFailure("the request for the hibernate kernel is too long for its mailbox (\(request.utf8.count) bytes)")
        }
        page.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: content.memory[0..<page.count]).copyMemory(from: $0) }
        let keyField = JumpSigningKey.mailboxOffset..<(JumpSigningKey.mailboxOffset + JumpSigningKey.mailboxBytes)
        defer { UnsafeMutableRawBufferPointer(rebasing: content.memory[keyField]).initializeMemory(as: UInt8.self, repeating: 0) }
        if let signer {
            withUnsafeBytes(of: JumpSigningKey.mailboxMagic.littleEndian) {
                UnsafeMutableRawBufferPointer(rebasing: content.memory[keyField.lowerBound..<(keyField.lowerBound + 8)]).copyMemory(from: $0)
            }
            signer.copySeed(into: UnsafeMutableRawBufferPointer(rebasing: content.memory[(keyField.lowerBound + 8)..<keyField.upperBound]))
        }
        let entry = window.start + UInt64(JumpMailbox.toBOffset)
        do {
            try Kexec.load(entry: entry, segments: [KexecSegment(buffer: UnsafeRawBufferPointer(content.memory),
                                                                  memory: window.start, memorySize: window.size)],
                           preserveContext: true)
        } catch {
            throw HostFailure("loading the saved hibernate kernel: \(KexecPolicy.explain(call: "kexec_load", errno: error.errno))")
        }
    }

    /// Jumps to the loaded B; returns when the jump comes back (B jumped
    /// back after a checkpoint, or a boot kernel restored A).
    public static func jumpAndReturn(window: PhysicalRange, bReentry: UInt64, log: (String) -> Void) throws {
        log("resuming the saved hibernate kernel in \(window) (re-entry point \(hexAddress(bReentry))): no boot")
        defer { Kexec.unload() }
        do { try Kexec.jumpAndReturn() } catch {
            throw HostFailure("the jump to the saved hibernate kernel failed: \(error)")
        }
    }

    /// B as it parked, read out of this kernel's memory: the jump back
    /// swapped B's pages into the source pages of this kernel's kexec image
    /// (`KexecImageList`), whose `start` is now B's re-entry point. The
    /// image is found through `kexec_image`, at `kexecImage` (its runtime
    /// address, from /proc/kallsyms: `KallsymsScan`), and this kernel's page
    /// tables.
    public static func readParked(window: PhysicalRange, kexecImage symbol: UInt64?) throws -> (content: ScratchBuffer, bReentry: UInt64) {
        guard let symbol else {
            throw HostFailure("cannot find kexec_image in \(KallsymsScan.path): keeping the hibernate kernel needs CONFIG_KALLSYMS_ALL")
        }
        let memory = try DeviceFile(path: "/dev/mem")
        func read(_ address: UInt64, _ buffer: UnsafeMutableRawBufferPointer) throws { try memory.read(into: buffer, at: address) }
        let system = LiveSystem(log: KernelLog(prefix: "", useKmsg: false))
        guard let noteText = try? system.readText("/sys/kernel/vmcoreinfo"),
              let argument = KexecJumpLayout.vmcoreinfoArgument(noteText) else {
            throw HostFailure("cannot read /sys/kernel/vmcoreinfo: keeping the hibernate kernel needs this kernel's own")
        }
        let parts = argument.split(separator: ",")
        let noteAddress = parseHex(parts[0])!, noteSize = parseHex(parts[1])!
        guard noteSize <= VMCoreInfo.maxNoteBytes else { throw HostFailure("this kernel's vmcoreinfo note is \(noteSize) bytes") }
        let note = ScratchBuffer(count: Int(noteSize))
        try read(noteAddress, note.memory)
        let info = try VMCoreInfo.parse(note: Array(note.memory))
        guard let tables = info.pages else { throw HostFailure("this kernel's vmcoreinfo does not locate its page tables") }
        let scan = FreePageScan(info: tables, read: read)
        let kimage: [UInt64]
        do { kimage = try KexecImageList.loaded(symbol: symbol, translate: scan.translate, read: read) } catch {
            throw HostFailure("this kernel's kexec image: \(error)")
        }
        let sources = try KexecImageList.sources(head: kimage[0], read: read)
        let content = ScratchBuffer(count: Int(window.size))
        var page = window.start
        while page < window.end {
            let at = Int(page - window.start)
            let into = UnsafeMutableRawBufferPointer(rebasing: content.memory[at..<(at + Int(ImageHeader.pageSize))])
            do { try read(sources[page] ?? page, into) } catch {
                throw HostFailure("page \(hexAddress(page)) of the window is neither in the kexec image nor readable: \(error)")
            }
            page += ImageHeader.pageSize
        }
        return (content, kimage[Int(KexecImageList.startOffset / 8)])
    }
}

/// A buffer as the image writer's input.
struct BufferInput: SequentialInput {
    let bytes: UnsafeRawBufferPointer
    var position = 0
    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, bytes.count - position)
        buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[position..<(position + n)]))
        position += n
        return n
    }
}
