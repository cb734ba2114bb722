// resume-image: makes, inspects, verifies and invalidates resume images.
// Host side; exit 0 success, 1 failure (one line on stderr), 2 usage error.
import ArgumentParser
import ResumeBoot
import ResumeHost
import ResumeReports
import ResumeCore
import ResumeSystem
#if canImport(Glibc)
import Glibc
#endif

/// A failure the user should read as one line (exit 1).
struct Failure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

struct ResumeImage: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume-image",
        abstract: "Make, inspect, verify and invalidate resume images.",
        discussion: "Exit status: 0 success, 1 failure (the reason on stderr), 2 usage error.",
        version: AgentCommand.version,
        subcommands: [Create.self, Capture.self, Hibernate.self, Inspect.self, Verify.self, Extract.self, Invalidate.self, Keygen.self,
                      BenchRestore.self])
}

struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create an image.", subcommands: [CreateKernel.self, CreateSegments.self])
}

/// Options every `create` shares.
struct CreateOptions: ParsableArguments {
    @Flag(help: "The image may be resumed more than once (default: one-shot, marked consumed when used).")
    var reusable = false
    @Option(help: "Raw bytes per chunk: a power of two from 4096 to 4194304.")
    var chunkSize: UInt32 = ImageHeader.defaultChunkSize
    @Flag(help: "Write over a block device even where libblkid sees a filesystem, swap or partition table (erasing those signatures).")
    var force = false
    @Option(name: .customLong("sign"), help: "Sign the image with this secret key file (from `resume-image keygen`).")
    var signKey: String?
    @Argument(help: "The image to write: a regular file or a block device.")
    var output: String

    func validate() throws {
        guard chunkSize >= ImageHeader.minChunkSize, chunkSize <= ImageHeader.maxChunkSize, chunkSize & (chunkSize - 1) == 0 else {
            throw ValidationError("--chunk-size \(chunkSize) is not a power of two from 4096 to 4194304")
        }
    }

    func header(_ kind: ImageKind) -> ImageHeader {
        var h = ImageTarget.stampedHeader(kind, system: LiveSystem(log: KernelLog(prefix: "", useKmsg: false)))
        h.flags = reusable ? [.reusable] : []
        h.chunkSize = chunkSize
        return h
    }

    /// Opens OUTPUT, refusing to overwrite a block device's data unless --force.
    func openOutput() throws -> DeviceFile {
        try ImageTarget.open(output, force: force, create: true, log: stderrLine)
    }

    /// Writes `entries` (type, input, placement) and reports the result.
    func write(_ header: ImageHeader, _ entries: [(EntryType, String?, [UInt8]?, UInt64, UInt64)]) throws {
        let signer = try signKey.map { try KeyFiles.signingKey($0) }
        let file = try openOutput()
        var writer = ImageWriter(sink: file, header: header, pool: WorkerPool(threads: WorkerPool.onlineCPUs), signer: signer)
        let progress = Progress(enabled: isatty(2) == 1)
        for (type, path, bytes, address, memory) in entries {
            if let path {
                var input = try FileInput(path: path)
                let total = input.file.byteCount
                try writer.append(type, from: &input, physicalAddress: address, memorySize: memory) { done in
                    progress.update("\(type.name)", done, total)
                }
            } else {
                var input = BytesInput(bytes ?? [])
                try writer.append(type, from: &input, physicalAddress: address, memorySize: memory)
            }
        }
        let h = try writer.finish()
        progress.done()
        try file.truncate(to: h.imageSize)
        print("wrote \(h.kind.name) image to \(output): \(h.rawTotal) bytes raw, \(h.imageSize) bytes (\(ImageSummary.ratio(h.rawTotal, h.storedTotal))), \(h.chunkCount) chunks\(h.signature.map { ", signed by key \($0.keyID)" } ?? "")")
    }
}

struct CreateKernel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernel", abstract: "An A/B swap image: a bzImage, an optional initrd and a command line (restored with kexec_file_load).")
    @Option(help: "The kernel (a bzImage, e.g. /boot/vmlinuz-VERSION).") var kernel: String
    @Option(help: "The initrd to start it with.") var initrd: String?
    @Option(help: "The command line kernel B gets (at most 4096 bytes).") var cmdline: String = ""
    @Flag(help: "Accept a kernel file that has no x86 boot header (for testing the restore path's refusal).")
    var noKernelCheck = false
    @OptionGroup var common: CreateOptions

    func validate() throws {
        guard UInt64(cmdline.utf8.count) <= ImageHeader.maxCmdlineBytes else {
            throw ValidationError("--cmdline is \(cmdline.utf8.count) bytes; at most \(ImageHeader.maxCmdlineBytes)")
        }
    }

    func run() throws {
        let prefix = try FileInput(path: kernel).prefix(0x4000)
        if !noKernelCheck, BzImageInfo.parse(prefix: prefix) == nil {
            throw Failure("\(kernel) is not a bzImage (no \"HdrS\" boot header at 0x202)")
        }
        var entries: [(EntryType, String?, [UInt8]?, UInt64, UInt64)] = [(.kernel, kernel, nil, 0, 0)]
        if let initrd { entries.append((.initrd, initrd, nil, 0, 0)) }
        if !cmdline.isEmpty { entries.append((.cmdline, nil, Array(cmdline.utf8), 0, 0)) }
        try common.write(common.header(.kernel), entries)
    }
}

struct CreateSegments: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segments", abstract: "Raw physical memory segments from an ELF's PT_LOAD headers and an entry address (restored with kexec_load).")
    @Option(help: "The ELF64 executable; segments are placed at their physical addresses.") var elf: String
    @Option(help: "The entry address (default: the ELF's e_entry). Decimal or 0x hex.") var entry: String?
    @OptionGroup var common: CreateOptions

    func run() throws {
        let input = try FileInput(path: elf)
        guard input.file.byteCount <= 1 << 30 else { throw Failure("\(elf) is larger than 1 GiB") }
        let bytes = try input.prefix(Int(input.file.byteCount))
        let exe = try ELFExecutable.parse(bytes)
        var h = common.header(.segments)
        if let entry {
            guard let address = parseAddress(entry) else { throw ValidationError("--entry \(entry) is not an address") }
            h.entryAddress = address
        } else {
            h.entryAddress = exe.entry
        }
        let page = ImageHeader.pageSize
        var entries: [(EntryType, String?, [UInt8]?, UInt64, UInt64)] = []
        for (i, s) in exe.segments.enumerated() {
            guard s.physicalAddress % page == 0 else {
                throw Failure("segment \(i): physical address 0x\(String(s.physicalAddress, radix: 16)) is not page aligned")
            }
            let data = Array(bytes[Int(s.fileOffset)..<Int(s.fileOffset + s.fileSize)])
            let memory = (s.memorySize + page - 1) / page * page
            entries.append((.segment, nil, data, s.physicalAddress, memory))
        }
        try common.write(h, entries)
    }

    func parseAddress(_ text: String) -> UInt64? {
        text.hasPrefix("0x") ? UInt64(text.dropFirst(2), radix: 16) : UInt64(text)
    }
}

struct Capture: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Hibernate: save this running system into TARGET as a snapshot image through /dev/snapshot, then power off.",
        discussion: """
        Freezes every process, snapshots memory, compresses the image into TARGET, syncs and powers the \
        machine off. On the next boot resume-agent restores it, and this command returns in the restored \
        system, printing "resumed". On any failure everything is thawed, no valid image is left and the \
        reason is printed (exit 1). Needs root, /dev/snapshot (HIBERNATION_SNAPSHOT_DEV), and no lockdown.
        """)
    @Option(help: "The image size the kernel aims for, in MiB (it frees memory to reach it; 0: as small as it can). Default: the kernel's.")
    var imageSize: UInt?
    @Flag(help: "The image may be resumed more than once (default: one-shot).") var reusable = false
    @Flag(help: "Write over TARGET even where libblkid sees a filesystem, swap or partition table.") var force = false
    @Option(name: .customLong("sign"), help: "Sign the image with this secret key file (from `resume-image keygen`).")
    var signKey: String?
    @Argument(help: "Where the image goes: a partition (/dev/...) or PARTLABEL=, PARTUUID=, LABEL=, UUID=; a swap partition that is off is lent and given back, as the kernel's hibernation does.")
    var target: String

    func run() throws {
        var options = SnapshotCapture.Options(target: target)
        // The key is read now, before anything is frozen.
        options.signer = try signKey.map { try KeyFiles.signingKey($0) }
        options.force = force
        options.reusable = reusable
        options.preferredImageSize = imageSize.map { $0 << 20 }
        switch SnapshotCapture.run(options, log: { stderrLine($0) }) {
        case .resumed:
            print("resumed")
        case let .failed(reason):
            throw Failure(reason)
        }
    }
}

struct Hibernate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Hibernate (or checkpoint) this system through a kexec jump to a hibernate kernel that saves it into TARGET.",
        discussion: """
        With --kexec-jump (the only mode so far): loads the hibernate kernel B with KEXEC_PRESERVE_CONTEXT \
        (Debian's kexec-tools) into RAM this kernel does not use, and jumps. The agent in B's initramfs saves \
        this system's memory into TARGET, then powers off (on the next boot the agent restores it, and this \
        command returns printing "A resumed from kexec-jump hibernation") or, with --checkpoint, jumps back \
        (this command returns printing "checkpoint written"). This kernel must have CONFIG_KEXEC_JUMP and no \
        lockdown, and must leave RAM unused for B: boot it with mem= (below the top of RAM), \
        memmap=SIZE$START or crashkernel=. B's window is 96 MiB there by default, at most half of this \
        kernel's RAM. Needs root, one CPU online. Clean page cache is dropped before the jump (as the \
        kernel's own hibernation frees memory first) unless --keep-page-cache.
        """)
    @Flag(help: "Hibernate through a kexec jump to a hibernate kernel (required).") var kexecJump = false
    @Option(help: "The hibernate kernel B (default: /boot/vmlinuz-$(uname -r)).") var hibernateKernel: String?
    @Option(help: "B's initrd, which must carry resume-agent (default: /boot/initrd.img-$(uname -r)).") var initrd: String?
    @Flag(help: "Save a checkpoint: B saves this system, then jumps back to it (default: B powers off).") var checkpoint = false
    @Option(help: "B's window, first-last byte in hex as /proc/iomem prints it (default: 96 MiB of RAM this kernel does not use).")
    var window: String?
    @Option(help: "More parameters for B's command line.") var append: String = ""
    @Flag(help: "Write over TARGET even where libblkid sees a filesystem, swap or partition table.") var force = false
    @Flag(help: "Leave the page cache in memory (and in the image).") var keepPageCache = false
    @Option(help: "Keep the hibernate kernel in this file: boot it once, then resume it from here on every later jump.")
    var keepHibernateKernel: String?
    @Option(name: .customLong("sign"), help: "Have B sign the memory image (and sign the kept hibernate kernel's file) with this secret key file (from `resume-image keygen`); the key reaches B in memory only.")
    var signKey: String?
    @Argument(help: "Where B saves the image: a block device (/dev/...) or PARTLABEL=, PARTUUID=, LABEL=, UUID=; a swap partition that is off is lent and given back, as the kernel's hibernation does.")
    var target: String

    func validate() throws {
        guard kexecJump else { throw ValidationError("hibernate needs --kexec-jump (for the kernel's own hibernation use `capture`)") }
        if let window, Self.range(window) == nil {
            throw ValidationError("--window \(window) is not START-END in hex (e.g. 40000000-45ffffff)")
        }
    }

    /// "40000000-45ffffff" (0x allowed), last byte inclusive.
    static func range(_ text: String) -> PhysicalRange? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let first = parseHex(parts[0]), let last = parseHex(parts[1]), last >= first, last < UInt64.max else { return nil }
        return PhysicalRange(start: first, size: last - first + 1)
    }

    func run() throws {
        var options = KexecJumpHibernate.Options(target: target)
        options.kernel = hibernateKernel
        options.initrd = initrd
        options.checkpoint = checkpoint
        options.window = window.flatMap(Self.range)
        options.append = append
        options.force = force
        options.keepPageCache = keepPageCache
        options.keepHibernateKernel = keepHibernateKernel
        options.signer = try signKey.map { try KeyFiles.signingKey($0) }
        switch KexecJumpHibernate.run(options, log: { stderrLine($0) }) {
        case let .checkpoint(text), let .resumed(text):
            print(text)
        case let .failed(reason):
            throw Failure(reason)
        }
    }
}

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show an image's header, entries, sizes, ratio and state (checks the header and table, not every chunk).")
    @Flag(help: "Print JSON.") var json = false
    @Argument(help: "A regular file or block device.") var source: String

    func run() throws {
        let reader = try ImageReader(source: try DeviceFile(path: source))
        try reader.checkTable()
        let h = reader.header
        let keyID = h.signature.map { String(describing: $0.keyID) }
        let format = "\(ImageHeader.versionMajor).\(h.formatMinor)"
        if json {
            var summary = ImageSummary.json(h)
            if case var .object(fields) = summary {
                // The header's own version, its chunk hash and signer.
                fields = fields.map { $0.0 == "format_version" ? ($0.0, .string(format)) : $0 }
                fields.append(("chunk_hash", .string(h.chunkHash.name)))
                fields.append(("signature_key_id", keyID.map { .string($0) } ?? .null))
                summary = .object(fields)
            }
            print(summary.render())
        } else {
            print("\(source):")
            var lines = ImageSummary.text(h).map { $0.hasPrefix("format:") ? "format:      \(format)" : $0 }
            let at = (lines.firstIndex { $0.hasPrefix("chunks:") } ?? lines.count - 1) + 1
            lines.insert("chunk hash:  \(h.chunkHash.name)", at: at)
            lines.insert("signature:   \(keyID.map { "Ed25519, key \($0)" } ?? "none")", at: at + 1)
            lines.forEach { print("  " + $0) }
            if reader.header.kind == .kernel, let version = try kernelVersion(reader) { print("  kernel version: \(version)") }
        }
    }

    /// The packed bzImage's version string, from the start of its first
    /// chunk (the setup header's version pointer is 16 bits: 64 KiB + 0x200
    /// and the string's 256 bytes are all it can reach). Stops after that chunk.
    func kernelVersion(_ reader: ImageReader<DeviceFile>) throws -> String? {
        struct Enough: Error {}
        var first: [UInt8]?
        do {
            try reader.forEachChunk(entry: 0, batchChunks: 1) { _, _, raw in
                first = Array(raw.prefix(0x10000 + 0x200 + 256))
                throw Enough()
            }
        } catch is Enough {}
        return first.flatMap { BzImageInfo.parse(prefix: $0)?.version }
    }
}

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check everything a restore would: header, state, table and every chunk. Exit 0 valid, 1 not (reason on stderr).")
    @Option(help: "Decoding threads (default: the online CPUs).") var threads: Int = WorkerPool.onlineCPUs
    @Option(name: .customLong("key"), help: "Accept only an image signed by this public key file (.pub); repeat for several.")
    var keys: [String] = []
    @Argument(help: "A regular file or block device.") var source: String

    func run() throws {
        let trusted = try keys.map { try KeyFiles.publicKey($0) }
        let reader = try ImageReader(source: try DeviceFile(path: source))
        try reader.requireValidState()
        var signer = ""
        if !trusted.isEmpty {
            do {
                signer = ", signed by key \(try SignatureCheck.verify(reader.header, trustedKeys: trusted).keyID)"
            } catch {
                throw Failure("\(source): \(error)")
            }
        }
        let progress = Progress(enabled: isatty(2) == 1)
        let pool = WorkerPool(threads: threads)
        try reader.verifyContents(pool: pool) { done in progress.update("verify", done, reader.header.rawTotal) }
        progress.done()
        print("\(source): valid \(reader.header.kind.name) image, \(reader.header.rawTotal) bytes in \(reader.header.chunkCount) chunks\(signer)")
    }
}

struct Extract: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write one entry of an image (kernel, initrd, cmdline, stream, or segment N) to a file, every chunk checked.")
    @Option(help: "Which entry: kernel, initrd, cmdline, stream, or a segment's number.") var entry: String
    @Option(name: .shortAndLong, help: "Where to write it.") var output: String
    @Argument(help: "A regular file or block device.") var source: String

    func run() throws {
        let reader = try ImageReader(source: try DeviceFile(path: source))
        try reader.checkTable()
        let entries = reader.header.entries
        let index: Int?
        if let n = Int(entry) {
            index = entries.indices.filter { entries[$0].type == .segment }.dropFirst(n).first
        } else {
            index = entries.firstIndex { $0.type.name == entry }
        }
        guard let index else { throw Failure("\(source) has no \(entry) entry") }
        let out = try DeviceFile(path: output, writable: true, create: true)
        var offset: UInt64 = 0
        try reader.forEachChunk(entry: index, pool: WorkerPool(threads: WorkerPool.onlineCPUs)) { _, _, raw in
            try out.write(raw, at: offset)
            offset += UInt64(raw.count)
        }
        try out.sync()
        print("wrote \(offset) bytes of \(entries[index].type.name) to \(output)")
    }
}

struct Invalidate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Mark an image consumed, so it is never resumed (one 8-byte write, synced).")
    @Argument(help: "A regular file or block device.") var source: String

    func run() throws {
        let file = try DeviceFile(path: source, writable: true)
        let reader = try ImageReader(source: file)
        if reader.header.state == .consumed {
            print("\(source): already consumed")
            return
        }
        try markConsumed(file)
        print("\(source): marked consumed")
    }
}

struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make an Ed25519 key pair for signing images: NAME (secret, mode 0600) and NAME.pub.",
        discussion: """
        Sign with `create ... --sign NAME`. Put NAME.pub in /etc/fastresume/keys/ on the machine that \
        resumes: the initramfs hook copies that directory, and the agent then accepts only images signed \
        by one of those keys. Key files are specified in docs/FORMAT.md.
        """)
    @Flag(help: "Overwrite existing key files.") var force = false
    @Argument(help: "Where the secret key goes; the public key goes to NAME.pub.") var name: String

    func run() throws {
        let key = try SigningKey.generate()
        try KeyFiles.write(name, key.fileText, mode: 0o600, force: force)
        try KeyFiles.write(name + ".pub", key.publicKey.fileText, mode: 0o644, force: force)
        print("wrote \(name) (secret) and \(name).pub: key id \(key.publicKey.keyID)")
    }
}

/// Reading and writing key files (small text files; the formats are ResumeCore's).
enum KeyFiles {
    static func read(_ path: String) throws -> String {
        let file = try DeviceFile(path: path)
        guard file.byteCount <= 4096 else { throw Failure("\(path): \(file.byteCount) bytes is too large for a key file") }
        return String(decoding: try FileInput(path: path).prefix(4096), as: UTF8.self)
    }
    static func signingKey(_ path: String) throws -> SigningKey {
        do { return try SigningKey(fileText: try read(path)) } catch let error as KeyFileError { throw Failure("\(path): \(error)") }
    }
    static func publicKey(_ path: String) throws -> PublicKey {
        do { return try PublicKey(fileText: try read(path)) } catch let error as KeyFileError { throw Failure("\(path): \(error)") }
    }
    static func write(_ path: String, _ text: String, mode: mode_t, force: Bool) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL), mode)
        guard fd >= 0 else {
            let reason = errno == EEXIST ? "exists (use --force to overwrite)" : String(cString: strerror(errno))
            throw Failure("\(path): \(reason)")
        }
        defer { close(fd) }
        if force { fchmod(fd, mode) }
        let bytes = Array(text.utf8)
        guard bytes.withUnsafeBytes({ Glibc.write(fd, $0.baseAddress, $0.count) }) == bytes.count, fsync(fd) == 0 else {
            throw Failure("\(path): write failed: \(String(cString: strerror(errno)))")
        }
    }
}

/// "\rkernel: 12 / 40 MiB" on a terminal, at most every 1 MiB step.
final class Progress {
    let enabled: Bool
    var last: UInt64 = 0
    init(enabled: Bool) { self.enabled = enabled }
    func update(_ what: String, _ done: UInt64, _ total: UInt64) {
        guard enabled, done >> 20 != last >> 20 || done == total else { return }
        last = done
        let text = "\r\(what): \(done >> 20) / \(total >> 20) MiB"
        _ = text.withCString { write(2, $0, strlen($0)) }
    }
    func done() { if enabled, last > 0 { _ = write(2, "\n", 1) } }
}

func stderrLine(_ text: String) {
    let line = "resume-image: \(text)\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
}

// Usage errors exit 2 (ArgumentParser would say 64); failures exit 1 with one line.
var command: ParsableCommand
do {
    command = try ResumeImage.parseAsRoot()
} catch {
    if ResumeImage.exitCode(for: error) == .success { ResumeImage.exit(withError: error) }  // --help, --version
    let message = ResumeImage.fullMessage(for: error)
    _ = (message + "\n").withCString { write(2, $0, strlen($0)) }
    exit(2)
}
do {
    try command.run()
} catch let error as ValidationError {
    stderrLine(error.message)
    exit(2)
} catch let error where error is Failure || error is FormatError || error is SystemError || error is ELFExecutable.ParseError
            || error is KeyFileError || error is SignatureFailure || error is HostFailure {
    stderrLine("\(error)")
    exit(1)
} catch {
    // ArgumentParser's own (help asked for through a subcommand, ...).
    let code = ResumeImage.exitCode(for: error)
    if code == .success { ResumeImage.exit(withError: error) }
    let message = ResumeImage.fullMessage(for: error)
    _ = (message + "\n").withCString { write(2, $0, strlen($0)) }
    exit(code == .validationFailure ? 2 : 1)
}

/// The agent's restore pipeline into a sink, for bench/restore.sh (not in
/// the initramfs binary).
struct BenchRestore: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-restore",
        abstract: "Benchmark: stream IMAGE through the agent's restore pipeline into SINK (default /dev/null); print throughput and peak memory.",
        shouldDisplay: false)
    @Argument(help: "An image file.") var image: String
    @Argument(help: "Where the decoded bytes go.") var sink: String?

    func run() throws {
        let status = RestoreBenchmark.main([image] + (sink.map { [$0] } ?? []))
        if status != 0 { throw ExitCode(status) }
    }
}
