import ResumeCore
import ResumeSystem

/// Kernel images (the A/B swap): kernel and initrd decoded into memfds, the
/// command line into memory, then kexec_file_load; the jump is
/// reboot(LINUX_REBOOT_CMD_KEXEC). The payload lives in memory once, as the
/// kernel needs it there; nothing touches a disk.
struct KexecFileRestore: RestorePath {
    let system: BootSystem
    let reader: ImageReader<AnySource>
    let running: KernelCommandLine
    let settings: AgentSettings

    var irreversibleStep: String { "jumping to the kernel image (reboot LINUX_REBOOT_CMD_KEXEC)" }
    var verb: String { "jumping" }

    mutating func prepare() throws(BootReason) {
        let h = reader.header
        let decodeStart = system.monotonicMilliseconds()
        var kernel: (any PayloadFile)?
        var initrd: (any PayloadFile)?
        var imageCmdline = ""
        do {
            let pool = WorkerPool(threads: WorkerPool.onlineCPUs)
            for (i, e) in h.entries.enumerated() {
                switch e.type {
                case .kernel, .initrd:
                    let file = try system.createPayloadFile(e.type == .kernel ? "resume-kernel" : "resume-initrd")
                    try reader.forEachChunk(entry: i, pool: pool) { _, _, raw in try file.append(raw) }
                    if e.type == .kernel { kernel = file } else { initrd = file }
                case .cmdline:
                    let bytes = try reader.readEntry(i, limit: ImageHeader.maxCmdlineBytes)
                    guard !bytes.contains(0) else { throw BootReason(.imageInvalid, "the image's command line contains a NUL byte") }
                    imageCmdline = String(decoding: bytes, as: UTF8.self)
                default:
                    throw BootReason(.imageInvalid, "a kernel image holds a \(e.type.name) entry")
                }
            }
        } catch {
            throw BootReason(error, otherwise: .loadFailed)
        }
        guard let kernel else { throw BootReason(.imageInvalid, "the image has no kernel") }
        let line = KexecPolicy.commandLine(image: imageCmdline, running: running, pass: settings.pass)
        guard line.utf8.count < KexecPolicy.maxCommandLine else {
            throw BootReason(.loadFailed, "kernel B's command line is \(line.utf8.count) bytes; x86 takes at most \(KexecPolicy.maxCommandLine - 1)")
        }
        let ms = system.monotonicMilliseconds() - decodeStart
        system.log("decoded and checked \(h.rawTotal) bytes in \(ms) ms; kernel B command line: \(line)")
        let loadStart = system.monotonicMilliseconds()
        do {
            try system.kexecFileLoad(kernel: kernel, initrd: initrd, cmdline: line)
        } catch {
            let errno = SystemError("kexec_file_load", path: nil, error).errno
            // ENOEXEC: not a kernel this kernel can load; the image is at fault.
            throw BootReason(errno == KexecPolicy.Errno.ENOEXEC ? .imageInvalid : .loadFailed,
                             KexecPolicy.explain(call: "kexec_file_load", errno: errno))
        }
        system.log("kexec_file_load took \(system.monotonicMilliseconds() - loadStart) ms")
    }

    func confirmLoaded() throws(BootReason) { try Self.confirmKexecLoaded(system) }
    func rollBack() { system.kexecUnload() }
    func irreversible() -> BootReason { BootReason(.irreversibleFailed, "the jump failed: \(system.kexecJump())") }
}
