import ResumeCore
import ResumeSystem

/// Plays the kernel for the agent: an in-memory sysfs, block devices
/// backed by memory, a clock that advances only when the agent sleeps,
/// and a record of every write and every log line. Any call can be made
/// to fail (as swift-system's mocking does): name it in `failing`.
public final class FakeSystem: BootSystem {
    public var files: [String: String] = [:]
    public var devices: [String: MemoryImage] = [:]
    public var blkid: [String: BlockDeviceInfo] = [:]
    /// What realpath(3) gives for a path (sysfs device links); absent: itself.
    public var links: [String: String] = [:]
    /// Devices that appear once the clock reaches the given millisecond.
    public var appearsAt: [String: UInt64] = [:]
    public var writes: [(String, String)] = []
    public var deviceWrites: [String] = []
    public var logs: [String] = []
    public var probes: [String] = []
    public var now: UInt64 = 1_000
    public var initramfs = true
    /// Memory blocks whose state write fails (EBUSY-like).
    public var refusingBlocks: Set<Int> = []

    /// Calls that fail, by name, with their errno: "read /proc/cmdline",
    /// "write /dev/vdb1", "sync /dev/vdb1", "open-rw /dev/vdb1",
    /// "kexec_file_load", "kexec_load", "open /dev/snapshot", "freeze",
    /// "write /sys/power/resume". Each failure is recorded in `events`.
    public var failing: [String: Int32] = [:]

    public init(onlineBlocks: Int = 4, offlineBlocks: Int = 8, blockSize: UInt64 = 128 << 20) {
        self.blockSize = blockSize
        bootRAM = [(0, UInt64(onlineBlocks + offlineBlocks) * blockSize)]
        files["/sys/devices/system/memory/block_size_bytes"] = String(blockSize, radix: 16) + "\n"
        for i in 0..<(onlineBlocks + offlineBlocks) {
            files["/sys/devices/system/memory/memory\(i)/state"] = i < onlineBlocks ? "online\n" : "offline\n"
        }
        files["/proc/cmdline"] = "console=ttyS0 root=/dev/vda\n"
        files["/proc/self/status"] = "Name:\tresume-agent\nVmHWM:\t    2184 kB\n"
        files["/dev/snapshot"] = ""
        files["/sys/kernel/kexec_loaded"] = "0\n"
    }

    /// Throws the errno `failing` names for `call`.
    func check(_ call: String) throws(SystemError) {
        if let errno = failing[call] {
            events.append("failed \(call)")
            throw SystemError(call, errno: errno)
        }
    }

    public func addDevice(_ name: String, image: [UInt8] = [UInt8](repeating: 0, count: 8192), info: BlockDeviceInfo = BlockDeviceInfo()) {
        devices["/dev/\(name)"] = MemoryImage(image)
        blkid["/dev/\(name)"] = info
        files["/sys/class/block/\(name)/size"] = "\(max(image.count / 512, 1))\n"
    }

    func visible(_ path: String) -> Bool { (appearsAt[path] ?? 0) <= now }

    public func readText(_ path: String) throws -> String {
        try check("read \(path)")
        guard let text = files[path] else { throw SystemError("open", path: path, errno: 2) }
        return text
    }

    public func writeText(_ path: String, _ text: String) throws {
        try check("write \(path)")
        writes.append((path, text))
        if path.hasPrefix("/sys/bus/dax/drivers/") { return try daxWrite(path, text) }
        if path.hasPrefix("/sys/devices/system/memory/memory"), path.hasSuffix("/state") {
            let index = Int(path.dropFirst("/sys/devices/system/memory/memory".count).dropLast("/state".count))!
            if refusingBlocks.contains(index) { throw SystemError("write", path: path, errno: 16) }
            files[path] = text == "online" ? "online\n" : text
            return
        }
        files[path] = text
    }

    public func list(_ directory: String) throws -> [String] {
        let prefix = directory + "/"
        var names = Set<String>()
        for key in files.keys where key.hasPrefix(prefix) {
            let rest = key.dropFirst(prefix.count)
            let name = String(rest.prefix { $0 != "/" })
            if directory == "/sys/class/block", !visible("/dev/\(name)") { continue }
            names.insert(name)
        }
        if names.isEmpty && !files.keys.contains(where: { $0.hasPrefix(prefix) }) {
            throw SystemError("opendir", path: directory, errno: 2)
        }
        return names.sorted()
    }

    public func exists(_ path: String) -> Bool {
        (devices[path] != nil && visible(path)) || files[path] != nil || binaryFiles[path] != nil || files.keys.contains { $0.hasPrefix(path + "/") }
    }

    public func canonicalPath(_ path: String) -> String? { links[path] ?? path }
    /// Device nodes that are not /dev/NAME of a /sys/class/block/NAME (as
    /// dmsetup makes /dev/mapper/NAME without udev): path -> "MAJ:MIN".
    public var blockNumbers: [String: String] = [:]
    public func blockDeviceNumber(_ path: String) -> String? {
        let path = canonicalPath(path) ?? path
        if let number = blockNumbers[path] { return number }
        guard devices[path] != nil, path.hasPrefix("/dev/") else { return nil }
        return files["/sys/class/block/\(path.dropFirst(5))/dev"]?.trimmingCharacters()
    }

    public func openImage(_ path: String, base: UInt64) throws -> any ImageSource {
        try check("open \(path)")
        guard let image = devices[path], visible(path) else { throw SystemError("open", path: path, errno: 2) }
        return RecordingDevice(image: image, path: path, system: self, base: base)
    }

    public func openImageForUpdate(_ path: String, base: UInt64) throws -> any ImageSink {
        try check("open-rw \(path)")
        guard let image = devices[path], visible(path) else { throw SystemError("open", path: path, errno: 2) }
        return RecordingDevice(image: image, path: path, system: self, base: base)
    }

    public func probe(_ path: String) -> BlockDeviceInfo? {
        probes.append(path)
        return visible(path) ? blkid[path] : nil
    }

    public func evaluateTag(name: String, value: String) -> String? {
        blkid.first { path, info in
            visible(path) && (name == "PARTLABEL" ? info.partLabel == value : name == "UUID" ? info.uuid == value : name == "LABEL" ? info.label == value : info.partUUID == value)
        }?.key
    }

    public func monotonicMilliseconds() -> UInt64 { now }
    /// Called at each sleep (a test's power cut: it sees the disks as they are then).
    public var onSleep: ((UInt32) -> Void)?
    public func sleep(milliseconds: UInt32) {
        onSleep?(milliseconds)
        now += UInt64(milliseconds)
    }
    public func log(_ line: String) { logs.append(line) }
    public func rootIsInitramfs() -> Bool { initramfs }
    public func kexecFileLoadAvailability() -> SyscallAvailability { fileLoad }
    public var kexecLoadAvailable = SyscallAvailability.available
    public func kexecLoadAvailability() -> SyscallAvailability { kexecLoadAvailable }
    public var unameRelease = "6.1.0-test-amd64"
    public func uname() -> (release: String, machine: String) { (unameRelease, "x86_64") }

    // kexec, played: every call lands in `events`, in order.
    public var events: [String] = []
    public var kexecError: Int32?
    public var loadedKernel: [UInt8]?
    public var loadedInitrd: [UInt8]?
    public var loadedCmdline: String?
    public var loadedSegments: [(UInt64, [UInt8], UInt64)] = []
    public var fileLoad = SyscallAvailability.available

    public func createPayloadFile(_ name: String) throws -> any PayloadFile {
        try check("memfd_create")
        return FakePayload()
    }
    public func kexecFileLoad(kernel: any PayloadFile, initrd: (any PayloadFile)?, cmdline: String) throws {
        events.append("kexec_file_load")
        if let kexecError { throw SystemError("kexec_file_load", errno: kexecError) }
        try check("kexec_file_load")
        loadedKernel = (kernel as! FakePayload).bytes
        loadedInitrd = (initrd as? FakePayload)?.bytes
        loadedCmdline = cmdline
        files["/sys/kernel/kexec_loaded"] = "1\n"
    }
    public func kexecLoad(entry: UInt64, segments: [KexecSegment]) throws {
        events.append("kexec_load \(String(entry, radix: 16))")
        if let kexecError { throw SystemError("kexec_load", errno: kexecError) }
        try check("kexec_load")
        loadedSegments = segments.map { ($0.memory, Array($0.buffer), $0.memorySize) }
        files["/sys/kernel/kexec_loaded"] = "1\n"
    }
    public func kexecLoadPreservingContext(entry: UInt64, segments: [KexecSegment]) throws {
        events.append("kexec_load preserve-context \(String(entry, radix: 16))")
        try check("kexec_load preserve-context")
        loadedSegments = segments.map { ($0.memory, Array($0.buffer), $0.memorySize) }
        files["/sys/kernel/kexec_loaded"] = "1\n"
    }
    public func powerOff() -> Error {
        events.append("power off")
        return SystemError("reboot(LINUX_REBOOT_CMD_POWER_OFF)", errno: 1)
    }
    /// Binary files (/sys/kernel/notes).
    public var binaryFiles: [String: [UInt8]] = [:]
    public func readBytes(_ path: String) throws -> [UInt8] {
        try check("read \(path)")
        if let bytes = binaryFiles[path] { return bytes }
        guard let text = files[path] else { throw SystemError("open", path: path, errno: 2) }
        return Array(text.utf8)
    }
    /// Physical memory as /dev/mem shows it (the hibernate kernel reads kernel A).
    public var physicalMemory = MemoryImage()
    public func openPhysicalMemory() throws -> any ImageSource {
        try check("open /dev/mem")
        return physicalMemory
    }
    public func wipePhysicalMemory(at address: UInt64, count: Int) throws {
        try check("wipe /dev/mem")
        events.append("wipe \(String(address, radix: 16))+\(count)")
        try [UInt8](repeating: 0, count: count).withUnsafeBytes { try physicalMemory.write($0, at: address) }
    }
    public func takeSecretFile(_ path: String) throws -> [UInt8] {
        let bytes = try readBytes(path)
        binaryFiles[path] = nil
        files[path] = nil
        events.append("take \(path)")
        return bytes
    }
    /// Device-dax devices' memory by path: what `mapDevice` maps (the
    /// tests read what the agent put in place there).
    public var daxMemory: [String: UnsafeMutableRawBufferPointer] = [:]
    public func mapDevice(_ path: String, bytes: UInt64) throws -> MappedMemory {
        try check("mmap \(path)")
        guard let memory = daxMemory[path], UInt64(memory.count) >= bytes else { throw SystemError("mmap", path: path, errno: 22) }
        events.append("mmap \(path)")
        return MappedMemory(memory: UnsafeMutableRawBufferPointer(rebasing: memory[0..<Int(bytes)])) { [weak self] _ in
            self?.events.append("munmap \(path)")
        }
    }
    public func kexecUnload() {
        events.append("unload")
        files["/sys/kernel/kexec_loaded"] = "0\n"
    }

    public var watchdog: [UInt32] = []
    public func armWatchdog(seconds: UInt32) { watchdog.append(seconds) }

    public var snapshot = FakeSnapshot()
    public func openSnapshotForRestore() throws -> any SnapshotRestoring {
        try check("open /dev/snapshot")
        events.append("open /dev/snapshot (online blocks: \(memoryStates.filter { $0 == "online" }.count))")
        snapshot.system = self
        return snapshot
    }
    /// How many preserve-context jumps come back (the peer jumps to us again); after that they fail.
    public var jumpsThatReturn = 0
    /// Runs when a jump comes back (the peer wrote its mailbox).
    public var onJumpReturn: (() -> Void)?
    public func kexecJumpAndReturn() throws {
        events.append("jump")
        guard jumpsThatReturn > 0 else { throw SystemError("reboot", errno: 22) }
        jumpsThatReturn -= 1
        events.append("came back")
        onJumpReturn?()
    }
    public func kexecJump() -> Error {
        events.append("jump")
        return SystemError("reboot", errno: 22)
    }

    // Memory held back at boot (memmap=SIZE%START-1+0xefffffff), played:
    // /proc/iomem, the dax device dax_hmem makes of each soft-reserved
    // range once loaded (finit_module), device_dax's unbind, kmem's new_id
    // (which adds the range as offline memory blocks, or rejects a device
    // without target_node, as the kernel does without an SRAT).
    public var loadedModules: [String] = []
    /// Top-level "System RAM" in /proc/iomem (set before `holdBack`); default: the blocks made at init.
    public var bootRAM: [(start: UInt64, size: UInt64)] = []
    public var heldBack: [(name: String, start: UInt64, size: UInt64, node: Int?, driver: String?)] = []
    /// The dax devices exist at once (udev loaded the modules) instead of when dax_hmem loads.
    public var daxDevicesPresent = false
    let blockSize: UInt64

    public static let modulesDep = "/lib/modules/6.1.0-test-amd64/modules.dep"

    /// A soft-reserved range and the dax device (daxN.0) dax_hmem makes of
    /// it; `node` nil models a machine without SRAT; `driver` the driver
    /// bound when the device appears ("device_dax" as udev does it).
    public func holdBack(start: UInt64, size: UInt64, node: Int? = 0, driver: String? = "device_dax") {
        heldBack.append(("dax\(heldBack.count).0", start, size, node, driver))
        if driver == "kmem" { addKmemBlocks(heldBack.count - 1) }
        files[Self.modulesDep] = "kernel/drivers/dax/hmem/dax_hmem.ko:\nkernel/drivers/dax/device_dax.ko:\nkernel/drivers/dax/kmem.ko:\n"
        refresh()
    }

    /// Rewrites /proc/iomem and the dax devices from `bootRAM` and `heldBack`.
    public func refresh() {
        var lines: [(UInt64, String)] = []
        for r in bootRAM { lines.append((r.start, "\(hex(r.start))-\(hex(r.start + r.size - 1)) : System RAM")) }
        let present = daxDevicesPresent || loadedModules.contains("dax_hmem")
        for d in heldBack {
            // As the kernel nests them: the hmem platform device's resource
            // (same range) above the e820 entry, kmem's below.
            let range = "\(hex(d.start))-\(hex(d.start + d.size - 1))"
            var text = "\(range) : hmem.\(d.name.dropFirst(3).prefix { $0 != "." })\n  \(range) : Soft Reserved"
            if present { text += "\n    \(range) : \(d.name)" }
            if d.driver == "kmem" { text += "\n      \(range) : System RAM (kmem)" }
            lines.append((d.start, text))
            let dir = "/sys/bus/dax/devices/\(d.name)"
            guard present else { continue }
            files["\(dir)/resource"] = "0x\(hex(d.start))\n"
            files["\(dir)/size"] = "\(d.size)\n"
            files["\(dir)/numa_node"] = "\(d.node ?? 0)\n"
            if let node = d.node { files["\(dir)/target_node"] = "\(node)\n" }
            if let driver = d.driver {
                files["\(dir)/driver"] = ""
                links["\(dir)/driver"] = "/sys/bus/dax/drivers/\(driver)"
            } else {
                files["\(dir)/driver"] = nil
                links["\(dir)/driver"] = nil
            }
        }
        files["/proc/iomem"] = lines.sorted { $0.0 < $1.0 }.map(\.1).joined(separator: "\n") + "\n"
    }

    func hex(_ v: UInt64) -> String {
        let digits = String(v, radix: 16)
        return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    /// The bus's files, as writes reach them.
    func daxWrite(_ path: String, _ text: String) throws {
        guard let i = heldBack.firstIndex(where: { $0.name == text }) else { throw SystemError("write", path: path, errno: 19) }
        let first = Int(heldBack[i].start / blockSize), count = Int(heldBack[i].size / blockSize)
        if path.hasSuffix("/device_dax/unbind") {
            guard heldBack[i].driver == "device_dax" else { throw SystemError("write", path: path, errno: 19) }
            heldBack[i].driver = nil
        } else if path.hasSuffix("/kmem/unbind") {
            // kmem removes its (offline) blocks; without hot-remove
            // (`memoryHotRemove` false) the range stays reserved.
            guard heldBack[i].driver == "kmem" else { throw SystemError("write", path: path, errno: 19) }
            heldBack[i].driver = nil
            if memoryHotRemove {
                for b in first..<(first + count) {
                    files["/sys/devices/system/memory/memory\(b)/state"] = nil
                    files["/sys/devices/system/memory/memory\(b)/removable"] = nil
                }
            } else {
                pinnedByKmem.insert(heldBack[i].name)
            }
        } else if path.hasSuffix("/device_dax/new_id") {
            // device_dax's probe fails (EBUSY) on a range kmem still holds.
            if heldBack[i].driver == nil, !pinnedByKmem.contains(heldBack[i].name) { heldBack[i].driver = "device_dax" }
        } else if path.hasSuffix("/kmem/new_id") {
            // The driver's directory is there only once kmem is loaded.
            guard exists("/sys/module/kmem") else { throw SystemError("open", path: path, errno: 2) }
            // new_id attaches at once; a device already bound stays bound,
            // and kmem's probe fails (quietly for the writer) without a node.
            if heldBack[i].driver == nil, heldBack[i].node != nil {
                heldBack[i].driver = "kmem"
                addKmemBlocks(i)
            }
        }
        refresh()
    }

    /// The kernel has CONFIG_MEMORY_HOTREMOVE (memory blocks say removable).
    public var memoryHotRemove = true
    var pinnedByKmem: Set<String> = []

    /// kmem's probe: the range's blocks, offline.
    func addKmemBlocks(_ i: Int) {
        let first = Int(heldBack[i].start / blockSize), count = Int(heldBack[i].size / blockSize)
        for b in first..<(first + count) {
            files["/sys/devices/system/memory/memory\(b)/state"] = "offline\n"
            files["/sys/devices/system/memory/memory\(b)/removable"] = memoryHotRemove ? "1\n" : "0\n"
        }
    }

    public func loadModule(path: String, compressed: Bool) throws {
        let name = String(path.split(separator: "/").last!.prefix { $0 != "." })
        try check("finit_module \(name)")
        events.append("finit_module \(name)")
        if loadedModules.contains(name) { throw SystemError("finit_module", path: path, errno: 17) }
        loadedModules.append(name)
        files["/sys/module/\(name)/refcnt"] = "0\n"
        refresh()
    }

    public var memoryStates: [String] {
        files.keys.filter { $0.hasSuffix("/state") }.sorted().map { files[$0]!.trimmingCharacters() }
    }
}

/// A device that records writes (the agent must never write a device it
/// only examines).
public final class RecordingDevice: ImageSource, ImageSink {
    let image: MemoryImage
    let path: String
    unowned let system: FakeSystem
    /// Where offset 0 is on the device (`resume_offset=`, a swap header).
    let base: UInt64
    init(image: MemoryImage, path: String, system: FakeSystem, base: UInt64 = 0) {
        self.image = image
        self.path = path
        self.system = system
        self.base = base
    }
    public var byteCount: UInt64 { image.byteCount >= base ? image.byteCount - base : 0 }
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws { try image.read(into: buffer, at: base + offset) }
    /// Recorded as "write PATH at OFFSET" (OFFSET from the device's start).
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        try system.check("write \(path)")
        system.deviceWrites.append(path)
        system.events.append("write \(path) at \(base + offset)")
        try image.write(bytes, at: base + offset)
    }
    public func sync() throws {
        try system.check("sync \(path)")
        system.events.append("sync \(path)")
    }
}

public final class FakePayload: PayloadFile {
    public var bytes: [UInt8] = []
    public var size: UInt64 { UInt64(bytes.count) }
    public func append(_ raw: UnsafeRawBufferPointer) throws { bytes += raw }
}

extension String {
    public func trimmingCharacters() -> String { String(filter { $0 != "\n" }) }
}

/// /dev/snapshot opened for restore, played.
public final class FakeSnapshot: SnapshotRestoring {
    weak var system: FakeSystem?
    public var received: [UInt8] = []
    /// errno for the write that would carry the second page (header check).
    public var headerErrno: Int32?
    public init() {}
    public func write(_ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        if let headerErrno, received.count + bytes.count > 4096 { throw SystemError("write", path: "/dev/snapshot", errno: headerErrno) }
        try system?.check("write /dev/snapshot")
        received += bytes
    }
    public func freeze() throws(SystemError) {
        try system?.check("freeze")
        system?.events.append("freeze")
    }
    public func unfreeze() { system?.events.append("unfreeze") }
    public func free() { system?.events.append("free") }
    public func atomicRestore() -> SystemError {
        system?.events.append("atomic restore")
        return SystemError("ioctl SNAPSHOT_ATOMIC_RESTORE", errno: 1)
    }
}
