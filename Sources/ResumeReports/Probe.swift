import ResumeBoot
import ResumeCore
import ResumeSystem

/// resume-probe: what the agent sees on this machine and what it would do.
/// Read-only: it never waits for devices, writes, or onlines memory.
public struct Probe {
    let system: BootSystem
    let cmdline: String?
    let suggestMemmap: Bool

    public init(system: BootSystem, cmdline: String? = nil, suggestMemmap: Bool = false) {
        self.system = system
        self.cmdline = cmdline
        self.suggestMemmap = suggestMemmap
    }

    /// `--suggest-memmap`: the memmap= right for this machine, or why none.
    public struct Suggestion {
        public var suggestion: MemmapSuggestion?
        public var source: String?
        public var ram: [PhysicalRange]
        /// /sys/firmware/acpi/tables/SRAT: without it kmem rejects the memory.
        public var srat: Bool?
        public var efi: Bool
    }

    public struct Device {
        public var path: String
        public var info: BlockDeviceInfo?
        public var finding: DeviceFinding
    }

    public struct Report {
        public var release: String
        public var machine: String
        public var capabilities: [(String, String)]
        public var cmdline: String
        public var settings: AgentSettings
        public var memory: MemoryLayout?
        /// Memory memmap= held back at boot (soft reserved), and its dax devices.
        public var heldBack: HeldBackMemory
        public var suggestion: Suggestion?
        public var devices: [Device]
        public var decision: Decision
        /// What could not be read, and why.
        public var unreadable: [String]
    }

    public func run() -> Report {
        var unreadable: [String] = []
        let (release, machine) = system.uname()
        var text = cmdline
        if text == nil {
            do { text = try system.readText("/proc/cmdline") } catch {
                unreadable.append("/proc/cmdline: \(error)")
            }
        }
        let commandLine = KernelCommandLine(text ?? "")
        // The agent's own search, without waiting and checking every chunk.
        let plan = SearchPlan(system: system, cmdline: text, mode: .probe)
        var memory: MemoryLayout?
        do { memory = try MemoryHotplug.read(system) } catch { unreadable.append("memory blocks: \(error)") }

        let (search, considered) = plan.look()
        var devices = considered.map { Device(path: $0.path, info: system.probe($0.path), finding: $0.finding) }
        // Also list every other block device as a scan would see it, so a
        // person sees what is there and why it was passed over.
        for path in DeviceDiscovery.blockDevices(system) where !devices.contains(where: { $0.path == path }) {
            devices.append(Device(path: path, info: system.probe(path), finding: plan.examine(path, base: 0, scanning: true)))
        }
        let decision = Decider.decide(search: search, devices: considered, restorable: { Agent.restorable($0, system, cmdline: commandLine) })
        let heldBack = HeldBackMemory.survey(system, cmdline: text)
        unreadable += heldBack.unreadable
        var suggestion: Suggestion?
        if suggestMemmap {
            let efi = system.exists("/sys/firmware/efi")
            let srat: Bool? = system.exists("/sys/firmware/acpi/tables") ? system.exists("/sys/firmware/acpi/tables/SRAT") : nil
            if let (ram, source) = MemmapSuggestion.firmwareRAM(system) {
                suggestion = Suggestion(suggestion: MemmapSuggestion.make(ram: ram, efi: efi), source: source, ram: ram, srat: srat, efi: efi)
            } else {
                suggestion = Suggestion(suggestion: nil, source: nil, ram: [], srat: srat, efi: efi)
                unreadable.append("/sys/firmware/memmap and /proc/iomem: cannot read the RAM map (run as root)")
            }
        }
        return Report(release: release, machine: machine, capabilities: capabilities(commandLine, &unreadable), cmdline: text ?? "",
                      settings: plan.settings, memory: memory, heldBack: heldBack, suggestion: suggestion,
                      devices: devices, decision: decision, unreadable: unreadable)
    }

    func capabilities(_ commandLine: KernelCommandLine, _ unreadable: inout [String]) -> [(String, String)] {
        var caps: [(String, String)] = [
            ("kexec_file_load", system.kexecFileLoadAvailability().rawValue),
            ("kexec_load", system.kexecLoadAvailability().rawValue),
            ("/dev/snapshot", system.exists("/dev/snapshot") ? "present" : "absent"),
        ]
        if let state = try? system.readText("/sys/power/state") {
            let modes = state.split(separator: " ").map { String($0).trimmingWhitespace() }
            caps.append(("hibernation", modes.contains("disk") ? "available" : "unavailable"))
        } else {
            caps.append(("hibernation", "unknown"))
            unreadable.append("/sys/power/state: cannot read")
        }
        let securityfs = try? system.readText(Lockdown.path)
        if let mode = Lockdown.mode(securityfs: securityfs, cmdline: commandLine) {
            caps.append(("lockdown", securityfs == nil ? "\(mode) (lockdown= on the command line; securityfs not mounted)" : mode))
        } else {
            caps.append(("lockdown", "unknown"))
            unreadable.append("\(Lockdown.path): cannot read (securityfs not mounted?), and no lockdown= on the command line")
        }
        let (release, _) = system.uname()
        if let config = try? system.readText("/boot/config-\(release)") {
            caps.append(("kexec_jump", config.split(separator: "\n").contains { $0 == "CONFIG_KEXEC_JUMP=y" } ? "yes (CONFIG_KEXEC_JUMP=y)" : "no (CONFIG_KEXEC_JUMP not set)"))
        } else {
            caps.append(("kexec_jump", "unknown"))
            unreadable.append("/boot/config-\(release): cannot read, so KEXEC_JUMP is unknown")
        }
        // What the agent could restore here, kind by kind.
        for kind in ImageKind.allCases {
            caps.append(("restore \(kind.name) images", Agent.restorable(kind, system, cmdline: commandLine).map { "no: \($0)" } ?? "yes"))
        }
        return caps
    }
}

extension Probe.Report {
    public func text() -> String {
        var out: [String] = []
        out.append("kernel: \(release) \(machine)")
        for (name, value) in capabilities { out.append("  \(name): \(value)") }
        out.append("")
        out.append("command line: \(cmdline.trimmingWhitespace().escapingControlCharacters)")
        out.append("  noresume: \(settings.noresume ? "yes" : "no")")
        out.append("  resume device: \(settings.device.map { "\($0)" } ?? "none named (scan \(settings.scan ? "on" : "off"))")")
        if settings.offsetPages > 0 { out.append("  resume_offset: \(settings.offsetPages) pages") }
        out.append("  wait for device: \(settings.waitSeconds) s, delay: \(settings.delaySeconds) s")
        for w in settings.warnings { out.append("  warning: \(w.escapingControlCharacters)") }
        out.append("")
        if let memory {
            out.append("memory: \(memory.blocks.count) blocks of \(memory.blockSize >> 20) MiB, \(memory.onlineCount) online (\(memory.onlineMiB) of \(memory.totalMiB) MiB)")
            for run in runs(memory.blocks) { out.append("  \(run)") }
        } else {
            out.append("memory: unknown")
        }
        out += heldBackText()
        if let suggestion { out += suggestionText(suggestion) }
        out.append("")
        out.append("block devices:")
        if devices.isEmpty { out.append("  (none)") }
        for d in devices {
            out.append("  \(d.path): \((d.info?.summary ?? "(cannot open)").escapingControlCharacters)")
            switch d.finding {
            case let .image(h):
                out.append("    resume image, all checks passed:")
                out += ImageSummary.text(h).map { "      " + $0 }
            case let .rejected(why): out.append("    resume image REJECTED [\(why.code.rawValue)]: \(why.text)")
            case let .unreadable(why): out.append("    cannot read [\(why.code.rawValue)]: \(why.text)")
            case let .passedOver(why): out.append("    passed over [\(why.code.rawValue)]: \(why.text)")
            case .kernelHibernation: out.append("    the kernel's own hibernation image (resumed through /sys/power/resume when resume= names it)")
            case .other: break
            }
        }
        out.append("")
        out.append(decision.logLine)
        if case let .bootNormally(reason) = decision {
            out.append("reason code: \(reason.code.rawValue)")
            let offline = memory.map { $0.blocks.count - $0.onlineCount } ?? 0
            out.append("the agent would bring \(offline) offline memory block(s) online and let the boot go on")
        }
        if !unreadable.isEmpty {
            out.append("")
            out.append("could not read:")
            out += unreadable.map { "  " + $0 }
        }
        return out.joined(separator: "\n") + "\n"
    }

    public func json() -> String {
        let findingJSON: (DeviceFinding) -> JSON = { f in
            switch f {
            case let .image(h): .object([("status", .string("valid")), ("image", ImageSummary.json(h))])
            case let .rejected(why): .object([("status", .string("rejected")), ("code", .string(why.code.rawValue)), ("reason", .string(why.text))])
            case let .unreadable(why): .object([("status", .string("unreadable")), ("code", .string(why.code.rawValue)), ("reason", .string(why.text))])
            case let .passedOver(why): .object([("status", .string("passed-over")), ("code", .string(why.code.rawValue)), ("reason", .string(why.text))])
            case .kernelHibernation: .object([("status", .string("kernel-hibernation"))])
            case .other: .object([("status", .string("none"))])
            }
        }
        let decisionJSON: JSON = switch decision {
        case let .bootNormally(reason): .object([("action", .string("boot-normally")), ("code", .string(reason.code.rawValue)), ("reason", .string(reason.text))])
        case let .resume(kind, device, _): .object([("action", .string("resume")), ("kind", .string(kind.name)), ("device", .string(device))])
        case let .resumeKernelHibernation(device): .object([("action", .string("resume")), ("kind", .string("kernel-hibernation")), ("device", .string(device))])
        }
        var memoryJSON = JSON.null
        if let m = memory {
            let offline: [JSON] = m.blocks.filter { !$0.isOnline }.map { JSON.int(Int64($0.index)) }
            memoryJSON = .object([
                ("block_size", .uint(m.blockSize)), ("blocks", .uint(UInt64(m.blocks.count))),
                ("online", .uint(UInt64(m.onlineCount))), ("online_mib", .uint(m.onlineMiB)),
                ("offline_blocks", .array(offline)),
            ])
        }
        func deviceJSON(_ d: Probe.Device) -> JSON {
            let fields: [(String, JSON)] = [
                ("path", .string(d.path)), ("type", .optional(d.info?.type)), ("pttype", .optional(d.info?.partitionTable)),
                ("label", .optional(d.info?.label)), ("uuid", .optional(d.info?.uuid)),
                ("partlabel", .optional(d.info?.partLabel)), ("partuuid", .optional(d.info?.partUUID)),
                ("resume_image", findingJSON(d.finding)),
            ]
            return .object(fields)
        }
        let root: JSON = .object([
            ("kernel", .object([("release", .string(release)), ("machine", .string(machine))]
                + capabilities.map { ($0.0, JSON.string($0.1)) })),
            ("cmdline", .object([
                ("text", .string(cmdline.trimmingWhitespace())), ("noresume", .bool(settings.noresume)),
                ("resume", .optional(settings.device.map { "\($0)" })), ("resume_offset_pages", .uint(settings.offsetPages)),
                ("wait_seconds", .uint(UInt64(settings.waitSeconds))), ("delay_seconds", .uint(UInt64(settings.delaySeconds))),
                ("scan", .bool(settings.scan)), ("dry_run", .bool(settings.dryRun)),
                ("warnings", .array(settings.warnings.map { .string($0) })),
            ])),
            ("memory", memoryJSON),
            ("held_back_memory", heldBackJSON()),
            ("suggested_memmap", suggestion.map(suggestionJSON) ?? .null),
            ("devices", .array(devices.map(deviceJSON))),
            ("decision", decisionJSON),
            ("unreadable", .array(unreadable.map { .string($0) })),
        ])
        return root.render() + "\n"
    }

    func heldBackText() -> [String] {
        var out: [String] = []
        guard !heldBack.requested.isEmpty else {
            return ["held-back memory: none (no memmap=SIZE%START-1+0xefffffff on the command line)"]
        }
        let total = heldBack.requested.reduce(UInt64(0)) { $0 + $1.size }
        out.append("held-back memory (memmap=): \(heldBack.requested.count) range\(heldBack.requested.count == 1 ? "" : "s"), \(sizeText(total))\(heldBack.topOfRAM.map { "; top of boot RAM \(hexAddress($0))" } ?? "")")
        for r in heldBack.regions {
            let node = r.device.map { $0.targetNode.map { "node \($0)" } ?? "node none (no ACPI SRAT)" }
            let parts = [r.device?.name ?? "no dax device (dax_hmem not loaded)", r.device.map { "driver \($0.driver ?? "none")" }, node].compactMap { $0 }
            let can: String = switch r.status {
            case .handedToKmem: "yes (kmem has it)"
            case .canHandOver: "yes"
            case .noDevice: "not yet (the agent loads dax_hmem, then decides)"
            case .refused: "no"
            }
            out.append("  \(r.range) (\(sizeText(r.range.size))): \(parts.joined(separator: ", ")), can be onlined: \(can)")
        }
        out += heldBack.lines.filter { !$0.containsText("no dax device") }.map { "  " + $0 }
        return out
    }

    func suggestionText(_ s: Probe.Suggestion) -> [String] {
        var out = ["", "suggested confinement (from \(s.source ?? "no RAM map"); \(s.efi ? "UEFI" : "BIOS") boot):"]
        if !s.ram.isEmpty { out.append("  RAM: \(s.ram.map(\.description).joined(separator: ", "))") }
        guard let m = s.suggestion else {
            out.append("  none: no range of at least \(sizeText(MemmapSuggestion.smallestRegion)) from a 2 GiB boundary to the top of RAM leaves the boot the \(sizeText(MemmapSuggestion.bootBytes)) (and 17 MiB per GiB held back) it needs")
            return out
        }
        out.append("  \(m.parameter)\(m.nokaslr ? " nokaslr" : "")")
        out += m.explanation.map { "    " + $0 }
        switch s.srat {
        case true?: out.append("    ACPI SRAT: present (kmem can take the memory)")
        case false?: out.append("    ACPI SRAT: absent: kmem will reject the held-back memory (\"invalid node\"); confinement does not work on this firmware")
        case nil: out.append("    ACPI SRAT: unknown (/sys/firmware/acpi/tables not readable)")
        }
        return out
    }

    func heldBackJSON() -> JSON {
        let regions: [JSON] = heldBack.regions.map { r in
            let (status, reason): (String, String?) = switch r.status {
            case .handedToKmem: ("kmem", nil)
            case .canHandOver: ("ready", nil)
            case .noDevice: ("no-device", nil)
            case let .refused(why): ("refused", why)
            }
            return .object([
                ("range", .string(r.range.description)), ("start", .uint(r.range.start)), ("size", .uint(r.range.size)),
                ("dax", .optional(r.device?.name)), ("driver", .optional(r.device?.driver)),
                ("node", r.device?.targetNode.map { .int(Int64($0)) } ?? .null),
                ("can_online", .bool(r.canBeOnlined)), ("status", .string(status)), ("reason", .optional(reason)),
                ("below_top_of_ram", .bool(r.belowTopOfRAM)),
            ])
        }
        return .object([
            ("requested", .array(heldBack.requested.map { .object([("range", .string($0.description)), ("start", .uint($0.start)), ("size", .uint($0.size))]) })),
            ("top_of_ram", heldBack.topOfRAM.map { .uint($0) } ?? .null),
            ("regions", .array(regions)),
            ("warnings", .array(heldBack.lines.map { .string($0) })),
        ])
    }

    func suggestionJSON(_ s: Probe.Suggestion) -> JSON {
        guard let m = s.suggestion else { return .object([("memmap", .null), ("source", .optional(s.source))]) }
        return .object([
            ("memmap", .string(m.parameter)), ("nokaslr", .bool(m.nokaslr)),
            ("start", .uint(m.region.start)), ("size", .uint(m.region.size)), ("top_of_ram", .uint(m.topOfRAM)),
            ("low_bytes", .uint(m.lowBytes)), ("needed_low_bytes", .uint(m.neededLowBytes)),
            ("srat", s.srat.map { .bool($0) } ?? .null), ("efi", .bool(s.efi)), ("source", .optional(s.source)),
            ("why", .array(m.explanation.map { .string($0) })),
        ])
    }

    /// "memory0-3: online", "memory4-11: offline".
    func runs(_ blocks: [MemoryBlock]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < blocks.count {
            var j = i
            while j + 1 < blocks.count, blocks[j + 1].state == blocks[i].state, blocks[j + 1].index == blocks[j].index + 1 { j += 1 }
            let range = i == j ? "memory\(blocks[i].index)" : "memory\(blocks[i].index)-\(blocks[j].index)"
            out.append("\(range): \(blocks[i].state)")
            i = j + 1
        }
        return out
    }
}
