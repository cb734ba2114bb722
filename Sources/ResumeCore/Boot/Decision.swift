/// "What to do on this boot" as a value: computed from what the agent saw,
/// with no I/O, so every branch is unit-tested.

/// What one block device turned out to hold.
public enum DeviceFinding: Sendable, Equatable {
    /// A resume image that passed every check (header, table, every chunk).
    case image(ImageHeader)
    /// A resume image that failed a check; the reason names it.
    case rejected(BootReason)
    /// Not an image; `type` is what libblkid saw there, if anything.
    case other(type: String?)
    /// Not read at all, by policy (a removable or USB device while scanning).
    case passedOver(BootReason)
    /// The device could not be read (permissions, I/O error).
    case unreadable(BootReason)
    /// The kernel's own hibernation image (libblkid TYPE=swsuspend).
    case kernelHibernation
}

public struct ProbedDevice: Sendable, Equatable {
    public var path: String
    public var finding: DeviceFinding
    public init(path: String, finding: DeviceFinding) {
        self.path = path
        self.finding = finding
    }
}

/// How the agent looked for images.
public enum Search: Sendable, Equatable {
    case skipped(BootReason)
    /// `resume=` named a device; nil when it never appeared.
    case named(DeviceSpec, found: String?, waitedSeconds: UInt32)
    case scanned
}

public enum Decision: Sendable, Equatable {
    case bootNormally(BootReason)
    case resume(kind: ImageKind, device: String, header: ImageHeader)
    /// The kernel's own image on the resume= device: handed to the kernel
    /// through /sys/power/resume, as initramfs-tools does.
    case resumeKernelHibernation(device: String)

    /// The one log line that states the decision.
    public var logLine: String {
        switch self {
        case let .bootNormally(reason): "decision: boot normally: \(reason.text)"
        case let .resume(kind, device, _): "decision: resume \(kind.name) image on \(device)"
        case let .resumeKernelHibernation(device): "decision: resume the kernel's hibernation image on \(device)"
        }
    }
}

public enum Decider {
    /// Decides from what was seen. `restorable(kind)` returns nil when this
    /// agent on this kernel can restore `kind`, else why not.
    public static func decide(search: Search, devices: [ProbedDevice],
                              restorable: (ImageKind) -> String?) -> Decision {
        switch search {
        case let .skipped(reason):
            return .bootNormally(reason)
        case let .named(spec, nil, waited):
            return .bootNormally(BootReason(.deviceMissing, "\(spec) did not appear within \(waited) s"))
        case .named, .scanned:
            break
        }
        let images = devices.compactMap { d -> (String, ImageHeader)? in
            if case let .image(h) = d.finding { return (d.path, h) }
            return nil
        }
        // The newest image wins; among equals, the first device in probe order.
        guard let (device, header) = images.enumerated().max(by: { a, b in
            a.element.1.createdAt != b.element.1.createdAt ? a.element.1.createdAt < b.element.1.createdAt : a.offset > b.offset
        })?.element else {
            let rejected = devices.compactMap { d -> (String, BootReason)? in
                if case let .rejected(why) = d.finding { return (d.path, why) }
                return nil
            }
            if let (_, first) = rejected.first {
                let list = rejected.map { "\($0.0): \($0.1.text)" }.joined(separator: "; ")
                return .bootNormally(BootReason(first.code, "no valid resume image (rejected \(list))"))
            }
            if case let .named(spec, found?, _) = search {
                // Only a device resume= names: the kernel and
                // initramfs-tools never resume an image found by chance.
                if case .kernelHibernation? = devices.first?.finding {
                    return .resumeKernelHibernation(device: found)
                }
                if case let .unreadable(why)? = devices.first?.finding {
                    return .bootNormally(BootReason(.deviceUnreadable, "cannot read \(found) (\(spec)): \(why.text)"))
                }
                return .bootNormally(BootReason(.noImage, "no resume image on \(found) (\(spec))"))
            }
            let passedOver = devices.filter { if case .passedOver = $0.finding { true } else { false } }.count
            let note = passedOver > 0 ? " (\(passedOver) removable or USB device(s) passed over: name one with resume= to use it)" : ""
            return .bootNormally(BootReason(.noImage, "no resume image found on \(devices.count - passedOver) block device(s)\(note)"))
        }
        if let why = restorable(header.kind) {
            return .bootNormally(BootReason(.kindUnsupported, "\(header.kind.name) image on \(device) cannot be restored: \(why)"))
        }
        return .resume(kind: header.kind, device: device, header: header)
    }
}
