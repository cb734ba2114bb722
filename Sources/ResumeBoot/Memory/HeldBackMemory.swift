import ResumeCore
import ResumeSystem

/// Confining the boot kernel on real hardware: `memmap=SIZE%START-1+0xefffffff`
/// turns the RAM in [START, START+SIZE) into "Soft Reserved", so the boot
/// kernel runs in the memory below it. To bring it online the agent loads
/// `dax_hmem` (which makes a dax device of each soft-reserved range) and
/// `kmem`, takes the device from `device_dax` if that bound it, hands it to
/// `kmem` through `new_id` (kmem adds its memory as offline blocks), and
/// `MemoryHotplug.onlineAll` then onlines those blocks with `online` (not
/// `online_movable`: a snapshot of 400 MiB fell 45060 pages short with
/// movable memory).
///
/// Module loading: the agent itself, with finit_module(2), not the boot
/// script's modprobe. The agent is what decides to bring memory online and
/// when (before a snapshot restore, or at the hand-over), it runs as PID 1
/// too (rdinit=, no boot script, no udev before it), it loads them only when
/// the command line holds memory back, and it can say which load failed and
/// why (EPERM/EKEYREJECTED under module signature enforcement) in its own
/// log. The boot script uses modprobe only in its fallback, when the agent
/// failed or did not run.
///
/// What would silently lose data or memory is refused with one line:
/// a region below the top of RAM (the kernel made it a hibernation nosave
/// region: a later snapshot omits its pages; it is onlined, and
/// `resume-image capture` refuses on such a boot), a region the firmware
/// gives no NUMA node (no SRAT: kmem rejects it, it stays offline), a
/// region not made of whole memory blocks (kmem would drop the rest).
public struct HeldBackMemory: Sendable {
    /// What `memmap=` on the command line holds back.
    public var requested: [PhysicalRange]
    public var regions: [Region]
    /// The top of the RAM the kernel booted with (/proc/iomem), if readable.
    public var topOfRAM: UInt64?
    public var blockSize: UInt64?
    /// What could not be read.
    public var unreadable: [String]

    public struct Region: Sendable, Equatable {
        /// The held-back range (the dax device's when there is one).
        public var range: PhysicalRange
        public var device: DaxDevice?
        public var status: Status
        /// Below the top of RAM: a hibernation nosave region.
        public var belowTopOfRAM: Bool

        public enum Status: Sendable, Equatable {
            /// kmem has it: its blocks are (or will be) onlined.
            case handedToKmem
            /// Ready to hand to kmem.
            case canHandOver
            /// No dax device for it (yet: dax_hmem not loaded, or none made).
            case noDevice
            /// Refused, with the one-line reason.
            case refused(String)
        }

        public var canBeOnlined: Bool {
            switch status {
            case .handedToKmem, .canHandOver: true
            case .noDevice, .refused: false
            }
        }
    }

    public static let modules = ["dax_hmem", "kmem"]

    /// Reads the command line, /proc/iomem, the memory block size and
    /// /sys/bus/dax. Read-only.
    public static func survey(_ system: BootSystem, cmdline: String?) -> HeldBackMemory {
        var unreadable: [String] = []
        let requested = MemmapParameter.heldBack(KernelCommandLine(cmdline ?? ""))
        var survey = HeldBackMemory(requested: requested, regions: [], topOfRAM: nil, blockSize: nil, unreadable: [])
        guard !requested.isEmpty else { return survey }
        do {
            let entries = IOMem.parse(try system.readText(IOMem.path))
            if IOMem.addressesHidden(entries) { unreadable.append("\(IOMem.path): addresses hidden (run as root)") } else { survey.topOfRAM = IOMem.topOfRAM(entries) }
        } catch {
            unreadable.append("\(IOMem.path): \(error)")
        }
        if let text = try? system.readText("\(MemoryHotplug.root)/block_size_bytes"), let size = UInt64(text.trimmingWhitespace(), radix: 16), size > 0 {
            survey.blockSize = size
        }
        let devices = DaxDevice.read(system)
        for range in requested {
            let mine = devices.filter { range.overlaps($0.range) }
            if mine.isEmpty {
                survey.regions.append(Region(range: range, device: nil, status: .noDevice, belowTopOfRAM: survey.below(range)))
            }
            for device in mine {
                survey.regions.append(Region(range: device.range, device: device, status: survey.status(device), belowTopOfRAM: survey.below(device.range)))
            }
        }
        survey.unreadable = unreadable
        return survey
    }

    func below(_ range: PhysicalRange) -> Bool { topOfRAM.map { range.start < $0 } ?? false }

    func status(_ device: DaxDevice) -> Region.Status {
        if device.driver == "kmem" { return .handedToKmem }
        let what = "\(device.name) (\(device.range), \(sizeText(device.range.size)))"
        if let blockSize, device.range.start % blockSize != 0 || device.range.size % blockSize != 0 {
            return .refused("\(what) is not made of whole \(sizeText(blockSize)) memory blocks: kmem adds whole blocks only and would drop the rest; left offline (hold back whole blocks, 2 GiB aligned: resume-probe --suggest-memmap)")
        }
        if device.targetNode == nil {
            return .refused("\(what) has no NUMA node from the firmware (no ACPI SRAT: target_node missing), so kmem rejects it; this memory stays offline this boot")
        }
        if let driver = device.driver, driver != "device_dax" {
            return .refused("\(what) is bound to \(driver), not device_dax; left alone")
        }
        return .canHandOver
    }

    /// One line per region for the log, "memory: ..." without the prefix.
    public var lines: [String] {
        var out: [String] = []
        for region in regions {
            switch region.status {
            case let .refused(why): out.append(why)
            case .noDevice: out.append("held-back \(region.range) (\(sizeText(region.range.size))): no dax device for it (dax_hmem not loaded, or the range is not RAM)")
            case .handedToKmem, .canHandOver: break
            }
            if region.belowTopOfRAM, let top = topOfRAM {
                out.append(Self.nosaveWarning(region.range, top: top))
            }
        }
        return out
    }

    static func nosaveWarning(_ range: PhysicalRange, top: UInt64) -> String {
        "held-back \(range) lies below the top of RAM (\(hexAddress(top))): the kernel made it a hibernation nosave region, so a snapshot taken on this boot would silently omit its pages (resume-image capture refuses); hold back memory at the top of RAM (resume-probe --suggest-memmap)"
    }

    /// Loads the modules, hands every held-back dax device kmem accepts to
    /// kmem, and logs what it did and what it refused. The caller onlines
    /// the new blocks (`MemoryHotplug.onlineAll`). Does nothing when the
    /// command line holds nothing back.
    public static func handToKernel(_ system: BootSystem, cmdline: String?, log: (String) -> Void) {
        guard !MemmapParameter.heldBack(KernelCommandLine(cmdline ?? "")).isEmpty else { return }
        let start = system.monotonicMilliseconds()
        for failure in loadModules(system) { log(failure) }
        let survey = survey(system, cmdline: cmdline)
        for line in survey.unreadable { log("cannot read \(line)") }
        var handed: [String] = []
        for region in survey.regions {
            guard case .canHandOver = region.status, let device = region.device else { continue }
            do {
                if device.driver == "device_dax" {
                    try system.writeText("\(DaxDevice.drivers)/device_dax/unbind", device.name)
                }
                try system.writeText("\(DaxDevice.drivers)/kmem/new_id", device.name)
            } catch {
                log("could not hand \(device.name) to kmem: \(error); it stays offline")
                continue
            }
            let now = DaxDevice.read(system).first { $0.name == device.name }
            guard now?.driver == "kmem" else {
                log("kmem did not take \(device.name) (\(device.range)): see dmesg; it stays offline")
                continue
            }
            handed.append("\(device.name) (\(device.range), \(sizeText(device.range.size)), node \(device.targetNode.map(String.init) ?? "?"))")
        }
        for line in survey.lines { log(line) }
        if !handed.isEmpty {
            log("held-back memory handed to kmem in \(system.monotonicMilliseconds() - start) ms: \(handed.joined(separator: ", "))")
        }
    }

    /// A device kmem took at boot (a kernel with kmem built in binds each
    /// held-back device before the agent runs) given back to device_dax,
    /// so that the agent can map it: what `daxctl reconfigure-device
    /// --mode=devdax` does, kmem's unbind then device_dax's new_id. Only
    /// when kmem can give the memory back: every block of the range offline
    /// (kmem adds them offline; an online block holds this kernel's pages)
    /// and removable (without CONFIG_MEMORY_HOTREMOVE kmem's unbind keeps
    /// the range reserved until the next reboot and device_dax cannot bind).
    /// Returns the device as it is bound now. A refusal before the unbind
    /// leaves it kmem's; after it, `handToKernel` gives it back to kmem.
    static func reclaimFromKmem(_ system: BootSystem, _ device: DaxDevice) throws(Refusal) -> DaxDevice {
        let what = "\(device.name) (\(device.range))"
        guard let layout = try? MemoryHotplug.read(system) else {
            throw Refusal("cannot read \(MemoryHotplug.root), so cannot tell that kmem's blocks of \(what) are offline")
        }
        let first = Int(device.range.start / layout.blockSize), count = Int(device.range.size / layout.blockSize)
        let blocks = layout.blocks.filter { $0.index >= first && $0.index < first + count }
        if let online = blocks.first(where: { !$0.state.hasPrefix("offline") }) {
            throw Refusal("\(what) is kmem's and its memory\(online.index) is \(online.state), so it cannot be given back")
        }
        if let kept = blocks.first(where: { (try? system.readText("\(MemoryHotplug.root)/memory\($0.index)/removable"))?.trimmingWhitespace() != "1" }) {
            throw Refusal("\(what) is kmem's and this kernel cannot remove its memory\(kept.index) (no CONFIG_MEMORY_HOTREMOVE), so it cannot be given back")
        }
        do {
            try system.writeText("\(DaxDevice.drivers)/kmem/unbind", device.name)
            try system.writeText("\(DaxDevice.drivers)/device_dax/new_id", device.name)
        } catch {
            throw Refusal("could not give \(what) from kmem to device_dax: \(error)")
        }
        guard let now = DaxDevice.read(system).first(where: { $0.name == device.name }), now.driver == "device_dax" else {
            throw Refusal("device_dax did not take \(what) from kmem (see dmesg)")
        }
        return now
    }

    public struct Refusal: Error, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// What a dry run says instead.
    public static func dryRunLines(_ system: BootSystem, cmdline: String?) -> [String] {
        let survey = survey(system, cmdline: cmdline)
        guard !survey.requested.isEmpty else { return [] }
        var out = ["dry run: memmap= holds back \(survey.requested.map { "\($0) (\(sizeText($0.size)))" }.joined(separator: ", ")); would load \(modules.joined(separator: " and ")) and hand \(survey.regions.contains { $0.device != nil } ? survey.regions.compactMap { $0.canBeOnlined ? $0.device?.name : nil }.joined(separator: ", ") : "each dax device") to kmem"]
        out += survey.lines.filter { !$0.containsText("no dax device") }
        return out
    }

    /// finit_module of each module (and what modules.dep says it needs)
    /// not already there. Returns one line per failure.
    static func loadModules(_ system: BootSystem) -> [String] {
        let (release, _) = system.uname()
        let base = "/lib/modules/\(release)"
        let dep = (try? system.readText("\(base)/modules.dep")) ?? ""
        let builtin = (try? system.readText("\(base)/modules.builtin")) ?? ""
        var failures: [String] = []
        var done = Set<String>()
        func load(_ name: String) {
            guard done.insert(name).inserted else { return }
            if system.exists("/sys/module/\(name)") || Self.entry(name, in: builtin) != nil { return }
            guard let line = Self.entry(name, in: dep) else {
                failures.append("cannot load \(name): not in \(base)/modules.dep (add it to the initramfs: the hook does)")
                return
            }
            let parts = line.split(separator: ":", maxSplits: 1)
            let deps = parts.count > 1 ? parts[1].split(separator: " ").map(String.init) : []
            for d in deps.reversed() { load(moduleName(d)) }
            let file = String(parts[0])
            do {
                try system.loadModule(path: "\(base)/\(file)", compressed: !file.hasSuffix(".ko"))
            } catch let error as SystemError where error.errno == 17 {
                // EEXIST: loaded meanwhile (udev).
            } catch {
                failures.append("cannot load \(name): \(error)")
            }
        }
        for name in modules { load(name) }
        return failures
    }

    /// "kernel/drivers/dax/kmem.ko.xz" -> "kmem" (dashes as underscores).
    static func moduleName(_ path: String) -> String {
        let file = path.split(separator: "/").last.map(String.init) ?? path
        let stem = file.components(".ko").first ?? file
        return String(stem.map { $0 == "-" ? "_" : $0 })
    }

    /// The line of modules.dep (or modules.builtin) for `name`.
    static func entry(_ name: String, in text: String) -> Substring? {
        text.split(separator: "\n").first { line in
            moduleName(String(line.split(separator: ":", maxSplits: 1).first ?? "")) == name
        }
    }

    /// Why `resume-image capture` must not hibernate on this boot, if it
    /// must not: a held-back range below the top of RAM with memory added
    /// in it. Read from /proc/iomem alone (whatever the command line says).
    public static func hibernationLoss(_ system: BootSystem) -> String? {
        guard let text = try? system.readText(IOMem.path) else { return nil }
        let entries = IOMem.parse(text)
        guard let top = IOMem.topOfRAM(entries) else { return nil }
        for range in IOMem.softReserved(entries) where range.start < top && IOMem.hasAddedRAM(entries, in: range) {
            return "refusing to hibernate: memory held back at boot (\(range), soft reserved) lies below the top of RAM (\(hexAddress(top))) and is online: the kernel made it a hibernation nosave region, so the snapshot would silently omit its pages; hold back memory at the top of RAM instead (resume-probe --suggest-memmap)"
        }
        return nil
    }
}

extension String {
    /// Split on a separator string (no Foundation).
    func components(_ separator: String) -> [String] {
        var out: [String] = [], current = ""
        var rest = Substring(self)
        while !rest.isEmpty {
            if rest.hasPrefix(separator) {
                out.append(current)
                current = ""
                rest = rest.dropFirst(separator.count)
            } else {
                current.append(rest.removeFirst())
            }
        }
        out.append(current)
        return out
    }
}
