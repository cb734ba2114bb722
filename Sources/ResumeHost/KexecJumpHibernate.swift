import ResumeBoot
import ResumeCore
import ResumeSystem
import ResumeReports
#if canImport(Glibc)
import Glibc
#endif

/// Kernel A's side of a kexec-jump hibernation or checkpoint
/// (`resume-image hibernate --kexec-jump`, docs/KEXEC-JUMP.md): load the
/// hibernate kernel B with KEXEC_PRESERVE_CONTEXT (Debian's kexec-tools)
/// into a window of firmware RAM that A does not use, telling B on its
/// command line what to save and where; jump; and when the jump returns
/// (B jumped back after a checkpoint, or a boot kernel C restored A after a
/// hibernation) unload B and say which.
///
/// The pure part is `KexecJumpLayout` (tested with /proc/iomem and
/// /sys/firmware/memmap captured from the QEMU guests); `run` reads the
/// live system and runs kexec.
public enum KexecJumpHibernate {
    public struct Options {
        public var target: String
        /// B's kernel and initrd (default: this kernel's, /boot/vmlinuz-RELEASE and /boot/initrd.img-RELEASE).
        public var kernel: String?
        public var initrd: String?
        /// A checkpoint: B saves, then jumps back to A (default: B powers off).
        public var checkpoint = false
        /// B's window, first and last byte (default: `KexecJumpLayout.defaultWindowSize` where A leaves RAM unused).
        public var window: PhysicalRange?
        /// More of B's command line, after ours.
        public var append = ""
        public var force = false
        /// Leave A's page cache in place (by default it is dropped before the
        /// jump, as the kernel's own hibernation frees memory first: what is
        /// clean on disk need not be in the image).
        public var keepPageCache = false
        /// Keep the hibernate kernel in this file: boot it once,
        /// let it park, save it; every later jump resumes it from the file.
        public var keepHibernateKernel: String?
        /// The kexec program (default: the first of PATH, /sbin, /usr/sbin that has it).
        public var kexec: String?
        /// Sign the memory image (and the kept hibernate kernel's file) with
        /// this key: handed to B (`JumpSigningKey`), wiped here before the jump.
        public var signer: SigningKey?
        public init(target: String) { self.target = target }
    }

    public enum Outcome: Equatable {
        /// B saved a checkpoint on the target and jumped back: A goes on.
        case checkpoint(String)
        /// A boot kernel restored A from the image B saved.
        case resumed(String)
        case failed(String)
    }

    public static func run(_ options: Options, log: (String) -> Void) -> Outcome {
        do { return try runThrowing(options, log: log) } catch { return .failed("\(error)") }
    }

    static func runThrowing(_ options: Options, log: (String) -> Void) throws -> Outcome {
        let system = LiveSystem(log: KernelLog(prefix: "", useKmsg: false))
        func read(_ path: String) -> String? { try? system.readText(path) }
        let release = system.uname().release

        // What the kernel allows, before anything is touched. Lockdown from
        // securityfs, or (a kernel without SECURITYFS) its lockdown= parameter.
        let cmdline = KernelCommandLine(read("/proc/cmdline") ?? "")
        if let mode = Lockdown.restricting(securityfs: read(Lockdown.path), cmdline: cmdline) {
            throw HostFailure("kernel lockdown (\(mode)) refuses kexec_load: a kexec-jump hibernation is impossible on this boot")
        }
        guard system.exists("/sys/kernel/kexec_loaded") else {
            throw HostFailure("this kernel cannot kexec (no /sys/kernel/kexec_loaded: CONFIG_KEXEC is off)")
        }
        if let config = read("/boot/config-" + release), !KexecJumpLayout.configHasKexecJump(config) {
            throw HostFailure("this kernel has no CONFIG_KEXEC_JUMP (/boot/config-\(release)): it cannot jump to a hibernate kernel and back")
        }
        let kexec = try options.kexec ?? findProgram("kexec", path: getenv("PATH").map { String(cString: $0) } ?? "")

        // B's kernel and initrd.
        let kernel = options.kernel ?? "/boot/vmlinuz-" + release
        let initrd = options.initrd ?? "/boot/initrd.img-" + release
        let prefix: [UInt8]
        do { prefix = try FileInput(path: kernel).prefix(0x4000) } catch {
            throw HostFailure("the hibernate kernel \(kernel) is unreadable: \(error)")
        }
        guard BzImageInfo.parse(prefix: prefix) != nil else {
            throw HostFailure("the hibernate kernel \(kernel) is not a bzImage (no \"HdrS\" boot header at 0x202)")
        }
        let initrdFile: DeviceFile
        do { initrdFile = try DeviceFile(path: initrd) } catch {
            throw HostFailure("the hibernate kernel's initrd \(initrd) is unreadable: \(error)")
        }

        // The target: a block device B writes without mounting anything.
        guard KexecJumpLayout.isOneWord(options.target) else {
            throw HostFailure("\(options.target.escapingControlCharacters): a target cannot hold spaces, quotes or control characters (it goes on B's command line)")
        }
        var path = options.target
        if let spec = DeviceSpec.parse(options.target), case .tag = spec {
            guard let found = DeviceDiscovery.locate(spec, system) else { throw HostFailure("\(options.target): no such device") }
            path = found
        }
        guard (try? DeviceFile(path: path))?.isBlockDevice == true else {
            throw HostFailure("\(options.target) is not a block device: the hibernate kernel writes A's memory to a device, never to a file")
        }
        if options.checkpoint, SwapSpaceDevice.state(path, system) != .other {
            throw HostFailure("a checkpoint needs a target of its own: \(path) is swap, which is given back as soon as A goes on")
        }
        _ = try ImageTarget.check(path, force: options.force, swap: true)

        // Memory: where B goes, what A has.
        guard let iomemText = read(IOMem.path) else { throw HostFailure("cannot read \(IOMem.path)") }
        let iomem = IOMem.parse(iomemText)
        guard !IOMem.addressesHidden(iomem) else { throw HostFailure("\(IOMem.path) shows no addresses: run as root") }
        guard let firmware = FirmwareMemoryMap.read(read) else {
            throw HostFailure("no /sys/firmware/memmap: this kernel lacks CONFIG_FIRMWARE_MEMMAP, which kexec-tools needs to place the hibernate kernel")
        }
        guard let memTotal = read("/proc/meminfo").flatMap({ ProcFields.number("MemTotal", in: $0) }).map({ $0 << 10 }) else {
            throw HostFailure("cannot read MemTotal from /proc/meminfo")
        }
        let window = try KexecJumpLayout.chooseWindow(iomem: iomem, firmware: firmware, memTotal: memTotal, requested: options.window)
        let loadBytes = try DeviceFile(path: kernel).byteCount + initrdFile.byteCount
        guard loadBytes <= window.size / 2 else {
            throw HostFailure("the hibernate kernel and its initrd (\(mibText(loadBytes))) leave too little of B's \(sizeText(window.size)) window to boot in: use a smaller initrd, or a larger --window")
        }
        guard let vmcoreinfo = read("/sys/kernel/vmcoreinfo").flatMap(KexecJumpLayout.vmcoreinfoArgument) else {
            throw HostFailure("cannot read /sys/kernel/vmcoreinfo (CONFIG_VMCORE_INFO): B needs it to find A's free pages")
        }
        var b = KexecJumpLayout.BCommandLine(window: window, firmware: firmware, iomem: iomem, target: options.target,
                                             then: options.checkpoint ? "back" : "poweroff", vmcoreinfo: vmcoreinfo)
        // What B (and a kept B's save) needs of A's symbols, in one pass over /proc/kallsyms.
        let kallsyms = scanKallsyms(names: RealModeTrampoline.symbols + ["kexec_image"])
        b.trampoline = try trampoline(read, kallsyms: kallsyms, log: log)
        b.kexecImage = kallsyms?.addresses["kexec_image"]
        b.mailbox = options.keepHibernateKernel != nil
        b.consoles = cmdline.parameters.filter { $0.name == "console" }.compactMap { $0.value }
        b.tscKHz = read("/proc/cpuinfo").flatMap(KexecJumpLayout.cpuKHz)
        b.append = options.append
        let text = b.text
        guard text.utf8.count <= KexecJumpLayout.maxCommandLine else {
            throw HostFailure("B's command line would be \(text.utf8.count) bytes; x86 takes 2047 and kexec-tools adds about 100 (shorten --append, or the memory map has too many ranges)")
        }

        // Every check passed: now the target is written. Whatever it held is
        // not an image of this jump: erase its header, so that after the
        // return only what B (or C) wrote counts.
        let target = try ImageTarget.open(path, force: options.force, create: false, swap: true, log: log)
        // Whatever happened, a swap partition set aside is swap again once A goes on.
        defer { ImageTarget.giveBackSwap(path, log: log) }
        try [UInt8](repeating: 0, count: ImageHeader.size).withUnsafeBytes { try target.write($0, at: 0) }
        try target.sync()

        if options.keepHibernateKernel != nil {
            try jumpToKeptKernel(options, b: b, kernel: kernel, initrd: initrd, release: BzImageInfo.parse(prefix: prefix)?.version ?? "",
                                 firmware: firmware, kexec: kexec, log: log)
        } else {
            try loadWithKexecTools(kexec, kernel: kernel, initrd: initrd, window: window, text: text, signer: options.signer, log: log)
            // B holds the key now; this memory is what B saves.
            options.signer?.wipe()
            dropPageCache(options, log: log)
            log(options.checkpoint ? "jumping to the hibernate kernel: it saves a checkpoint to \(options.target) and jumps back"
                                   : "jumping to the hibernate kernel: it saves this system to \(options.target) and powers off")
            // kexec -e returns when A is entered again (its exit status is a
            // stale errno then: not a verdict). -x: leave network interfaces up.
            _ = try runProgram([kexec, "-e", "-x"])
            _ = try? runProgram([kexec, "-u"])
        }

        // Back in A: what is on the target says what happened.
        target.dropCache()
        let header: ImageHeader
        do { header = try ImageReader(source: target).header } catch {
            return .failed("back from the hibernate kernel without an image on \(options.target) (\(error)): nothing was saved")
        }
        let saved = "\(header.kind.name) image of \(header.rawTotal) bytes in \(header.imageSize) bytes"
        switch header.state {
        case .consumed:
            return .resumed("A resumed from kexec-jump hibernation: the \(saved) on \(options.target) was restored and is consumed")
        case .valid where options.checkpoint:
            return .checkpoint("checkpoint written to \(options.target): a valid \(saved); A goes on")
        case .valid:
            // B saved but came back instead of powering off: this system goes
            // on, so its image must never be resumed.
            try? markConsumed(target)
            return .failed("the hibernate kernel saved a \(saved) but jumped back instead of powering off: the image is invalidated, A goes on")
        case .unknown:
            return .failed("back from the hibernate kernel: the image on \(options.target) has an unknown state")
        }
    }

    /// A's real-mode trampoline (`RealModeTrampoline`), saved whenever it
    /// is found. Not found: nil with one CPU online (nothing comes back
    /// through it); with more, the jump is refused, since A's secondary
    /// CPUs would start from B's or C's code.
    static func trampoline(_ read: (String) -> String?, kallsyms: KallsymsScan?, log: (String) -> Void) throws -> PhysicalRange? {
        let online = read("/sys/devices/system/cpu/online")?.trimmingWhitespace() ?? "0"
        let found = locateTrampoline(kallsyms: kallsyms)
        switch found {
        case let .success(range):
            log("kernel A's real-mode trampoline: \(range) (B leaves it alone and saves it; CPUs online: \(online))")
            return range
        case let .failure(why) where online != "0":
            throw HostFailure("cannot find this kernel's real-mode trampoline (\(why)), which CPUs \(online) need to come back online after the restore: take the other CPUs offline first (echo 0 > /sys/devices/system/cpu/cpuN/online)")
        case .failure:
            return nil
        }
    }

    /// From `kallsyms`, a scan of /proc/kallsyms for its symbols.
    static func locateTrampoline(kallsyms: KallsymsScan?) -> Result<PhysicalRange, RealModeTrampoline.Failure> {
        guard let scan = kallsyms else {
            return .failure(.init("cannot read \(RealModeTrampoline.path)"))
        }
        let addresses: [String: UInt64]
        switch RealModeTrampoline.addresses(scan) {
        case let .success(found): addresses = found
        case let .failure(why): return .failure(why)
        }
        // The pointer at real_mode_header, through /proc/kcore (kernel text
        // and the direct map, with physical addresses).
        let kcore = RealModeTrampoline.kcore
        do {
            let file = try DeviceFile(path: kcore)
            func bytes(_ count: Int, at offset: UInt64) throws -> [UInt8] {
                var out = [UInt8](repeating: 0, count: count)
                try out.withUnsafeMutableBytes { try file.read(into: $0, at: offset) }
                return out
            }
            guard let size = RealModeTrampoline.headerBytes(try bytes(64, at: 0)) else { return .failure(.init("\(kcore) is not an ELF64 core file")) }
            let loads = RealModeTrampoline.loads(try bytes(size, at: 0))
            let symbol = addresses["real_mode_header"]!
            guard let at = RealModeTrampoline.load(holding: symbol, count: 8, in: loads) else {
                return .failure(.init("\(kcore) does not map real_mode_header (\(hexAddress(symbol)))"))
            }
            let value = try bytes(8, at: symbol - at.virtualAddress + at.offset).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            guard let ram = RealModeTrampoline.load(holding: value, in: loads), ram.physicalAddress != UInt64.max else {
                return .failure(.init("real_mode_header (\(hexAddress(value))) is not in \(kcore)'s direct map"))
            }
            return RealModeTrampoline.range(addresses: addresses, header: value - ram.virtualAddress + ram.physicalAddress)
        } catch {
            return .failure(.init("\(kcore): \(error)"))
        }
    }

    /// The lines of /proc/kallsyms (megabytes on a distribution kernel:
    /// read through once, in blocks) that name one of `names`.
    static func scanKallsyms(names: [String]) -> KallsymsScan? {
        let fd = open(KallsymsScan.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var scan = KallsymsScan(names: names)
        let block = ScratchBuffer(count: 1 << 16)
        while true {
            let n = Glibc.read(fd, block.memory.baseAddress, block.memory.count)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            scan.feed(UnsafeRawBufferPointer(rebasing: block.memory[0..<n]))
        }
        return scan.malformed ? nil : scan
    }

    /// With a `signer`, B's initrd is given in memory with the key's
    /// archive appended (`JumpSigningKey`); the key's bytes there are zeroed
    /// once kexec-tools has loaded it.
    static func loadWithKexecTools(_ kexec: String, kernel: String, initrd: String, window: PhysicalRange, text: String,
                                   signer: SigningKey? = nil, log: (String) -> Void) throws {
        log("loading the hibernate kernel \(kernel) into \(window) (\(sizeText(window.size))): \(text)")
        var initrdArgument = initrd
        var withKey: (file: MemoryFile, keyAt: UInt64, keyBytes: Int)?
        if let signer {
            let file = try MemoryFile(name: "hibernate-kernel-initrd")
            var input = try FileInput(path: initrd)
            let buffer = ScratchBuffer(count: 1 << 20)
            while true {
                let n = try input.read(into: buffer.memory)
                if n == 0 { break }
                try file.append(UnsafeRawBufferPointer(rebasing: buffer.memory[0..<n]))
            }
            // The kernel finds a concatenated archive at a 4-byte boundary.
            let pad = [UInt8](repeating: 0, count: Int((4 - file.size % 4) % 4))
            try pad.withUnsafeBytes { try file.append($0) }
            let seed = ScratchBuffer(count: SigningKey.seedSize)
            signer.copySeed(into: seed.memory)
            var archive = JumpSigningKey.cpio(seed: UnsafeRawBufferPointer(seed.memory))
            seed.memory.initializeMemory(as: UInt8.self, repeating: 0)
            withKey = (file, file.size, archive.count)
            try archive.withUnsafeBytes { try file.append($0) }
            for i in archive.indices { archive[i] = 0 }
            initrdArgument = "/proc/\(getpid())/fd/\(file.fd)"
            log("B signs the image with key \(signer.publicKey.keyID): the key goes to B in its initrd, in memory")
        }
        defer {
            if let withKey {
                let zeros = [UInt8](repeating: 0, count: withKey.keyBytes)
                _ = zeros.withUnsafeBytes { pwrite(withKey.file.fd, $0.baseAddress, $0.count, off_t(withKey.keyAt)) }
            }
        }
        let load = try runProgram([kexec, "-l", "--load-preserve-context", "--mem-min=" + hexAddress(window.start),
                                   "--mem-max=" + hexAddress(window.end - 1), kernel, "--initrd=" + initrdArgument, "--append=" + text])
        guard load.status == 0 else {
            let said = load.lastLine.isEmpty ? "exit status \(load.status)" : load.lastLine.escapingControlCharacters
            let hint = load.lastLine.containsText("Invalid argument")
                ? " (the kernel refused KEXEC_PRESERVE_CONTEXT or the window: CONFIG_KEXEC_JUMP off, or B's window more than half of A's RAM)"
                : load.lastLine.containsText("Operation not permitted") ? " (kexec_load is refused: kernel lockdown, or not root)" : ""
            throw HostFailure("kexec could not load the hibernate kernel: \(said)\(hint)")
        }
        sync()
    }

    /// Clean page cache is on disk already: drop it (as the kernel's own
    /// hibernation frees memory before its snapshot), so B leaves it out.
    static func dropPageCache(_ options: Options, log: (String) -> Void) {
        guard !options.keepPageCache else { return }
        sync()
        let fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        if write(fd, "3", 1) == 1 { log("dropped the page cache (clean pages are on disk already; --keep-page-cache keeps it)") }
    }

    /// Jump into the kept hibernate kernel, resumed from its file.
    /// The first time (or when the file does not fit this B), B boots cold
    /// and parks; A reads B's parked pages out of its own kexec image (the
    /// jump back swapped them there: `KexecImageList`) and saves them.
    static func jumpToKeptKernel(_ options: Options, b: KexecJumpLayout.BCommandLine, kernel: String, initrd: String,
                                 release: String, firmware: FirmwareMemoryMap, kexec: String, log: (String) -> Void) throws {
        let file = options.keepHibernateKernel!, window = b.window
        let expected = KeptHibernateKernel.Expected(window: window, identity: try SavedHibernateKernel.identity(kernel: kernel, initrd: initrd, window: window),
                                                    firmwareMapHash: firmware.hash)
        var saved: (content: ScratchBuffer, bReentry: UInt64)?
        if access(file, F_OK) == 0 {
            do {
                saved = try KeptHibernateKernel.load(from: file, expected: expected, signedBy: options.signer?.publicKey)
                log("the saved hibernate kernel in \(file) fits: resuming it, no boot")
            } catch {
                log("not using the saved hibernate kernel in \(file): \(error); booting it cold and saving it again")
            }
        }
        if saved == nil {
            try loadWithKexecTools(kexec, kernel: kernel, initrd: initrd, window: window, text: b.text, log: log)
            log("jumping to the hibernate kernel to boot it once: it parks, and is saved to \(file)")
            _ = try runProgram([kexec, "-e", "-x"])
            let parked = try KeptHibernateKernel.readParked(window: window, kexecImage: b.kexecImage)
            _ = try? runProgram([kexec, "-u"])
            try KeptHibernateKernel.save(UnsafeRawBufferPointer(parked.content.memory), bReentry: parked.bReentry, release: release,
                                         expected: expected, signer: options.signer, to: file)
            log("saved the parked hibernate kernel to \(file) (re-entry point \(hexAddress(parked.bReentry)))")
            saved = parked
        }
        let request = b.requestWords(then: options.checkpoint ? "back" : "poweroff").joined(separator: " ")
        dropPageCache(options, log: log)
        sync()
        let bReentry = saved!.bReentry
        try KeptHibernateKernel.load(saved!.content, window: window, bReentry: bReentry, request: request, signer: options.signer)
        saved = nil
        // B takes the key from the mailbox; this memory is what B saves.
        options.signer?.wipe()
        try KeptHibernateKernel.jumpAndReturn(window: window, bReentry: bReentry, log: log)
    }

    /// The first `name` in PATH's directories, then /sbin and /usr/sbin.
    static func findProgram(_ name: String, path: String) throws -> String {
        for dir in path.split(separator: ":").map(String.init) + ["/sbin", "/usr/sbin"] where !dir.isEmpty {
            if access(dir + "/" + name, X_OK) == 0 { return dir + "/" + name }
        }
        throw HostFailure("no \(name) program (apt-get install kexec-tools)")
    }

    /// Runs `argv` (argv[0] a path) in a child, its stdout and stderr
    /// passed through to ours and kept (in a memory file: no pipe to fill).
    static func runProgram(_ argv: [String]) throws -> (status: Int32, lastLine: String) {
        let output = try MemoryFile(name: "kexec-output")
        let memory = output.fd
        let status = try Child.run {
            _ = dup2(memory, 2)
            var args = argv.map { strdup($0) } + [nil]
            execv(argv[0], &args)
            return 127
        }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var offset: Int = 0
        while bytes.count < 1 << 20 {
            let n = buffer.withUnsafeMutableBytes { pread(memory, $0.baseAddress, $0.count, off_t(offset)) }
            guard n > 0 else { break }
            bytes += buffer[0..<n]
            offset += n
        }
        let text = String(decoding: bytes, as: UTF8.self)
        if !text.isEmpty { _ = text.withCString { write(2, $0, strlen($0)) } }
        let lines = text.split(separator: "\n").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty }
        return (status, lines.last ?? "")
    }
}

/// The pure part of A's side: where B goes, and B's command line (the
/// contract with the agent in B, docs/KEXEC-JUMP.md).
public enum KexecJumpLayout {
    /// kexec-tools stages a zero-filled segment over all of B's window, and
    /// the kernel refuses segments over half of A's RAM: 96 MiB worked with
    /// A at 256 MiB, 128 MiB did not (docs/KEXEC-JUMP.md).
    public static let defaultWindowSize: UInt64 = 96 << 20
    /// B's kernel is placed on 2 MiB boundaries.
    public static let windowAlignment: UInt64 = 2 << 20
    /// x86's 2047 bytes less what kexec-tools appends (kexec_jump_back_entry=,
    /// elfcorehdr=, acpi_rsdp=).
    public static let maxCommandLine = 2047 - 160
    static let oneMiB: UInt64 = 1 << 20

    /// Firmware RAM above 1 MiB that A does not use: RAM in the firmware's
    /// map that is no "System RAM" of A's (`mem=`, `memmap=SIZE$START`),
    /// and A's "Crash kernel" reservation (`crashkernel=`).
    public static func unusedRegions(iomem: [IOMemEntry], firmware: FirmwareMemoryMap) -> [PhysicalRange] {
        let used = iomem.filter { $0.name.hasPrefix("System RAM") }.map(\.range)
        var out: [PhysicalRange] = []
        for ram in firmware.ram {
            out += subtract(used, from: PhysicalRange(start: ram.start, size: ram.end - ram.start + 1))
        }
        out += iomem.filter { $0.name == "Crash kernel" }.map(\.range)
        return out.compactMap { clip($0, from: oneMiB) }.sorted { $0.start < $1.start }
    }

    /// B's window: `requested` when it lies in unused RAM, else the lowest
    /// `defaultWindowSize` of it; never more than half of A's MemTotal.
    public static func chooseWindow(iomem: [IOMemEntry], firmware: FirmwareMemoryMap, memTotal: UInt64,
                                    requested: PhysicalRange?) throws(HostFailure) -> PhysicalRange {
        let free = unusedRegions(iomem: iomem, firmware: firmware)
        let howTo = "boot A with mem=, memmap=SIZE$START or crashkernel= (see resume-image(1))"
        guard !free.isEmpty else { throw HostFailure("no memory for the hibernate kernel: \(howTo)") }
        let half = memTotal / 2
        if let requested {
            guard requested.start % 4096 == 0, requested.size % 4096 == 0, requested.size > 0 else {
                throw HostFailure("--window \(requested) is not whole pages")
            }
            guard free.contains(where: { $0.contains(requested) }) else {
                throw HostFailure("--window \(requested) is not RAM that A leaves unused (unused: \(free.map(\.description).joined(separator: ", ")))")
            }
            guard requested.size <= half else {
                throw HostFailure("--window \(requested) is \(sizeText(requested.size)); kexec takes at most half of A's RAM (\(mibText(half)))")
            }
            return requested
        }
        let size = defaultWindowSize
        guard size <= half else {
            throw HostFailure("A has \(mibText(memTotal)) of RAM; the hibernate kernel's \(sizeText(size)) window must be at most half of it (give A more RAM, or a smaller --window)")
        }
        for region in free {
            let start = (region.start + windowAlignment - 1) / windowAlignment * windowAlignment
            if start + size <= region.end { return PhysicalRange(start: start, size: size) }
        }
        let largest = free.map(\.size).max() ?? 0
        throw HostFailure("no memory for the hibernate kernel: A leaves at most \(mibText(largest)) unused, B needs \(sizeText(size)): \(howTo)")
    }

    /// B's `memmap=`: exactly low memory and the window as RAM, and every
    /// other firmware RAM range above 1 MiB as ACPI data (`#`), which keeps
    /// A's pages out of B's allocator but in its reach (/dev/mem, the jump back).
    /// With a `mailbox`, the window's first page is ACPI data too (B never
    /// allocates it, and keeps it in its kexec identity map).
    /// A's `trampoline` below 640 KiB is ACPI data too: B puts its own
    /// trampoline elsewhere, and A's is there when A's CPUs come back.
    public static func memmapArguments(firmware: FirmwareMemoryMap, window: PhysicalRange, mailbox: Bool = false,
                                       trampoline: PhysicalRange? = nil) -> [String] {
        let page = ImageHeader.pageSize
        var out = ["memmap=exactmap"]
        let low = PhysicalRange(start: 0, size: 640 << 10)
        for piece in subtract(trampoline.map { [$0] } ?? [], from: low) {
            out.append("memmap=\(size(piece.size))@\(size(piece.start))")
        }
        if let trampoline { out.append("memmap=\(size(trampoline.size))#\(size(trampoline.start))") }
        if mailbox {
            out += ["memmap=\(size(window.size - page))@\(size(window.start + page))", "memmap=4K#\(size(window.start))"]
        } else {
            out.append("memmap=\(size(window.size))@\(size(window.start))")
        }
        for ram in firmware.ram {
            let whole = PhysicalRange(start: ram.start, size: ram.end - ram.start + 1)
            for piece in subtract([window], from: whole).compactMap({ clip($0, from: oneMiB) }) {
                out.append("memmap=\(size(piece.size))#\(size(piece.start))")
            }
        }
        return out
    }

    /// A's "System RAM" above 1 MiB, as /proc/iomem gives it (lowercase hex,
    /// last byte inclusive), without `excluding` (the crash kernel region).
    public static func ramArgument(iomem: [IOMemEntry], excluding: [PhysicalRange]) -> String {
        let ram = iomem.filter { $0.depth == 0 && $0.name == "System RAM" }.map(\.range)
        return ram.flatMap { subtract(excluding, from: $0) }.compactMap { clip($0, from: oneMiB) }
            .map { String($0.start, radix: 16) + "-" + String($0.end - 1, radix: 16) }.joined(separator: ",")
    }

    /// `/sys/kernel/vmcoreinfo` ("0x000000000290e000 1024": the note's
    /// physical address and size, both hex) as ADDR,SIZE.
    public static func vmcoreinfoArgument(_ text: String) -> String? {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard words.count == 2, let address = parseHex(words[0]), let size = parseHex(words[1]), address > 0, size > 0 else { return nil }
        return hexAddress(address) + "," + hexAddress(size)
    }

    /// The first "cpu MHz : 2394.454" of /proc/cpuinfo in kHz: B's TSC
    /// calibration can fail under load (docs/KEXEC-JUMP.md).
    public static func cpuKHz(_ cpuinfo: String) -> UInt64? {
        for line in cpuinfo.split(separator: "\n") where line.hasPrefix("cpu MHz") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let value = String(line[line.index(after: colon)...]).trimmingWhitespace()
            let parts = value.split(separator: ".", omittingEmptySubsequences: false)
            guard let whole = UInt64(parts[0]) else { return nil }
            let fraction = parts.count > 1 ? String((parts[1] + "000").prefix(3)) : "000"
            guard let thousandths = UInt64(fraction) else { return nil }
            return whole * 1000 + thousandths
        }
        return nil
    }

    /// Whether a kernel config file has CONFIG_KEXEC_JUMP=y.
    public static func configHasKexecJump(_ config: String) -> Bool {
        config.split(separator: "\n").contains { $0 == "CONFIG_KEXEC_JUMP=y" }
    }

    /// Printable ASCII without spaces or quotes: one command-line word.
    public static func isOneWord(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "\"") }
    }

    /// B's command line (the contract with the agent in B).
    public struct BCommandLine {
        public var window: PhysicalRange
        public var firmware: FirmwareMemoryMap
        public var iomem: [IOMemEntry]
        public var target: String
        /// "poweroff" (hibernation) or "back" (a checkpoint).
        public var then: String
        public var vmcoreinfo: String
        public var consoles: [String] = []
        public var tscKHz: UInt64?
        public var append = ""
        /// B is kept: the window's first page is the mailbox
        /// (ACPI data to B), and B parks instead of saving on its first run.
        public var mailbox = false
        /// A's real-mode trampoline (`RealModeTrampoline`): left alone by B, saved.
        public var trampoline: PhysicalRange?
        /// A's `kexec_image` variable (virtual): B leaves A's staged copy of B out.
        public var kexecImage: UInt64?

        public init(window: PhysicalRange, firmware: FirmwareMemoryMap, iomem: [IOMemEntry], target: String,
                    then: String, vmcoreinfo: String) {
            self.window = window; self.firmware = firmware; self.iomem = iomem
            self.target = target; self.then = then; self.vmcoreinfo = vmcoreinfo
        }

        public var text: String {
            var words = consoles.map { "console=" + $0 }
            // B keeps ACPI (its disk's interrupt routing) but not the APIC;
            // the keyboard and mouse probes would wait on a device A owns.
            words += ["noapic", "nolapic", "nokaslr", "no_console_suspend", "i8042.noaux", "i8042.nokbd"]
            if let tscKHz { words.append("tsc_early_khz=\(tscKHz)") }
            words += memmapArguments(firmware: firmware, window: window, mailbox: mailbox, trampoline: trampoline)
            words += requestWords(then: mailbox ? "park" : then)
            if mailbox { words.append("resume_agent.jump_mailbox=" + hexAddress(window.start)) }
            if !append.isEmpty { words.append(append) }
            return words.joined(separator: " ")
        }

        /// What B is asked to do: on its command line, or in the mailbox of a kept B.
        public func requestWords(then: String) -> [String] {
            let crash = iomem.filter { $0.name == "Crash kernel" }.map(\.range)
            return ["resume_agent.jump_save=" + target, "resume_agent.jump_then=" + then,
                    "resume_agent.jump_ram=" + ramArgument(iomem: iomem, excluding: crash + [window]),
                    "resume_agent.jump_vmcoreinfo=" + vmcoreinfo,
                    "resume_agent.jump_memmap=" + hex16(firmware.hash)]
                + (trampoline.map { ["resume_agent.jump_trampoline=" + String($0.start, radix: 16) + "-" + String($0.end - 1, radix: 16)] } ?? [])
                + (kexecImage.map { ["resume_agent.jump_kimage=" + String($0, radix: 16)] } ?? [])
        }
    }

    static func hex16(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// A size or address as memparse reads it: "96M", "1G", "0x9fc00".
    static func size(_ bytes: UInt64) -> String { bytes == 0 ? "0" : MemmapParameter.sizeArgument(bytes) }

    /// `range` without every one of `holes`, in pieces.
    static func subtract(_ holes: [PhysicalRange], from range: PhysicalRange) -> [PhysicalRange] {
        var pieces = [range]
        for hole in holes {
            pieces = pieces.flatMap { p -> [PhysicalRange] in
                guard p.overlaps(hole) else { return [p] }
                var out: [PhysicalRange] = []
                if hole.start > p.start { out.append(PhysicalRange(start: p.start, size: hole.start - p.start)) }
                if hole.end < p.end { out.append(PhysicalRange(start: hole.end, size: p.end - hole.end)) }
                return out
            }
        }
        return pieces
    }

    /// The part of `range` at or above `floor`.
    static func clip(_ range: PhysicalRange, from floor: UInt64) -> PhysicalRange? {
        guard range.end > floor else { return nil }
        let start = max(range.start, floor)
        return PhysicalRange(start: start, size: range.end - start)
    }
}

/// Whole MiB, rounded down.
private func mibText(_ bytes: UInt64) -> String { "\(bytes >> 20) MiB" }
