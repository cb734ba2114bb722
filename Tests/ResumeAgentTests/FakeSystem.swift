import ResumeAgentKit
import ResumeCore
import ResumeSystem

/// Plays the kernel for the agent: an in-memory sysfs, block devices
/// backed by memory, a clock that advances only when the agent sleeps,
/// and a record of every write and every log line.
final class FakeSystem: BootSystem {
    var files: [String: String] = [:]
    var devices: [String: MemoryImage] = [:]
    var blkid: [String: BlockDeviceInfo] = [:]
    /// Devices that appear once the clock reaches the given millisecond.
    var appearsAt: [String: UInt64] = [:]
    var writes: [(String, String)] = []
    var deviceWrites: [String] = []
    var logs: [String] = []
    var probes: [String] = []
    var now: UInt64 = 1_000
    var initramfs = true
    /// Memory blocks whose state write fails (EBUSY-like).
    var refusingBlocks: Set<Int> = []

    init(onlineBlocks: Int = 4, offlineBlocks: Int = 8, blockSize: UInt64 = 128 << 20) {
        files["/sys/devices/system/memory/block_size_bytes"] = String(blockSize, radix: 16) + "\n"
        for i in 0..<(onlineBlocks + offlineBlocks) {
            files["/sys/devices/system/memory/memory\(i)/state"] = i < onlineBlocks ? "online\n" : "offline\n"
        }
        files["/proc/cmdline"] = "console=ttyS0 root=/dev/vda\n"
        files["/proc/self/status"] = "Name:\tresume-agent\nVmHWM:\t    2184 kB\n"
        files["/dev/snapshot"] = ""
    }

    func addDevice(_ name: String, image: [UInt8] = [UInt8](repeating: 0, count: 8192), info: BlockDeviceInfo = BlockDeviceInfo()) {
        devices["/dev/\(name)"] = MemoryImage(image)
        blkid["/dev/\(name)"] = info
        files["/sys/class/block/\(name)/size"] = "\(max(image.count / 512, 1))\n"
    }

    func visible(_ path: String) -> Bool { (appearsAt[path] ?? 0) <= now }

    func readText(_ path: String) throws -> String {
        guard let text = files[path] else { throw SystemError("open", path: path, errno: 2) }
        return text
    }

    func writeText(_ path: String, _ text: String) throws {
        writes.append((path, text))
        if path.hasPrefix("/sys/devices/system/memory/memory"), path.hasSuffix("/state") {
            let index = Int(path.dropFirst("/sys/devices/system/memory/memory".count).dropLast("/state".count))!
            if refusingBlocks.contains(index) { throw SystemError("write", path: path, errno: 16) }
            files[path] = text == "online" ? "online\n" : text
            return
        }
        files[path] = text
    }

    func list(_ directory: String) throws -> [String] {
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

    func exists(_ path: String) -> Bool {
        (devices[path] != nil && visible(path)) || files[path] != nil
    }

    func openImage(_ path: String, base: UInt64) throws -> any ImageSource {
        guard let image = devices[path], visible(path) else { throw SystemError("open", path: path, errno: 2) }
        return RecordingDevice(image: image, path: path, system: self)
    }

    func openImageForUpdate(_ path: String, base: UInt64) throws -> any ImageSink {
        guard let image = devices[path], visible(path) else { throw SystemError("open", path: path, errno: 2) }
        return RecordingDevice(image: image, path: path, system: self)
    }

    func probe(_ path: String) -> BlockDeviceInfo? {
        probes.append(path)
        return visible(path) ? blkid[path] : nil
    }

    func evaluateTag(name: String, value: String) -> String? {
        blkid.first { path, info in
            visible(path) && (name == "PARTLABEL" ? info.partLabel == value : name == "UUID" ? info.uuid == value : name == "LABEL" ? info.label == value : info.partUUID == value)
        }?.key
    }

    func monotonicMilliseconds() -> UInt64 { now }
    func sleep(milliseconds: UInt32) { now += UInt64(milliseconds) }
    func log(_ line: String) { logs.append(line) }
    func rootIsInitramfs() -> Bool { initramfs }
    func kexecFileLoadAvailability() -> SyscallAvailability { fileLoad }
    func kexecLoadAvailability() -> SyscallAvailability { .available }
    func uname() -> (release: String, machine: String) { ("6.1.0-test-amd64", "x86_64") }

    // kexec, played: every call lands in `events`, in order.
    var events: [String] = []
    var kexecError: Int32?
    var loadedKernel: [UInt8]?
    var loadedInitrd: [UInt8]?
    var loadedCmdline: String?
    var loadedSegments: [(UInt64, [UInt8], UInt64)] = []
    var fileLoad = SyscallAvailability.available

    func createPayloadFile(_ name: String) throws -> any PayloadFile { FakePayload() }
    func kexecFileLoad(kernel: any PayloadFile, initrd: (any PayloadFile)?, cmdline: String) throws {
        events.append("kexec_file_load")
        if let kexecError { throw SystemError("kexec_file_load", errno: kexecError) }
        loadedKernel = (kernel as! FakePayload).bytes
        loadedInitrd = (initrd as? FakePayload)?.bytes
        loadedCmdline = cmdline
    }
    func kexecLoad(entry: UInt64, segments: [KexecSegment]) throws {
        events.append("kexec_load \(String(entry, radix: 16))")
        if let kexecError { throw SystemError("kexec_load", errno: kexecError) }
        loadedSegments = segments.map { ($0.memory, Array($0.buffer), $0.memorySize) }
    }
    func kexecUnload() { events.append("unload") }

    var watchdog: [UInt32] = []
    func armWatchdog(seconds: UInt32) { watchdog.append(seconds) }

    var snapshot = FakeSnapshot()
    func openSnapshotForRestore() throws -> any SnapshotRestoring {
        events.append("open /dev/snapshot (online blocks: \(memoryStates.filter { $0 == "online" }.count))")
        snapshot.system = self
        return snapshot
    }
    func kexecJump() -> Error {
        events.append("jump")
        return SystemError("reboot", errno: 22)
    }

    var memoryStates: [String] {
        files.keys.filter { $0.hasSuffix("/state") }.sorted().map { files[$0]!.trimmingCharacters() }
    }
}

/// A device that records writes (the agent must never write a device it
/// only examines).
final class RecordingDevice: ImageSource, ImageSink {
    let image: MemoryImage
    let path: String
    unowned let system: FakeSystem
    init(image: MemoryImage, path: String, system: FakeSystem) {
        self.image = image
        self.path = path
        self.system = system
    }
    var byteCount: UInt64 { image.byteCount }
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws { try image.read(into: buffer, at: offset) }
    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        system.deviceWrites.append(path)
        system.events.append("write \(path) at \(offset)")
        try image.write(bytes, at: offset)
    }
    func sync() throws { system.events.append("sync \(path)") }
}

final class FakePayload: PayloadFile {
    var bytes: [UInt8] = []
    var size: UInt64 { UInt64(bytes.count) }
    func append(_ raw: UnsafeRawBufferPointer) throws { bytes += raw }
}

extension String {
    func trimmingCharacters() -> String { String(filter { $0 != "\n" }) }
}

/// /dev/snapshot opened for restore, played.
final class FakeSnapshot: SnapshotRestoring {
    weak var system: FakeSystem?
    var received: [UInt8] = []
    /// errno for the write that would carry the second page (header check).
    var headerErrno: Int32?
    func write(_ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        if let headerErrno, received.count + bytes.count > 4096 { throw SystemError("write", path: "/dev/snapshot", errno: headerErrno) }
        received += bytes
    }
    func freeze() throws(SystemError) { system?.events.append("freeze") }
    func unfreeze() { system?.events.append("unfreeze") }
    func free() { system?.events.append("free") }
    func atomicRestore() -> SystemError {
        system?.events.append("atomic restore")
        return SystemError("ioctl SNAPSHOT_ATOMIC_RESTORE", errno: 1)
    }
}
