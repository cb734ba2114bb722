/// Why the agent boots normally, or why it passed over a device or an
/// image: a stable code for programs (`resume-probe --json`, tests) and a
/// sentence for people. Every decision the agent makes on a failure is
/// made on the code, never on the sentence.
public struct BootReason: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, CaseIterable {
        // Where to look.
        /// `noresume` (or `resume=none`): the user's brake.
        case noresume
        /// /proc/cmdline could not be read: `noresume` might be lost, so no resume.
        case cmdlineUnreadable = "cmdline-unreadable"
        /// No device named and scanning is off.
        case scanDisabled = "scan-disabled"
        /// The named device never appeared.
        case deviceMissing = "device-missing"
        /// Nothing to resume on the devices looked at.
        case noImage = "no-image"

        // One device.
        case deviceUnreadable = "device-unreadable"
        /// Removable, USB, MMC or SDIO: never scanned, only read when named.
        case deviceRemovable = "device-removable"
        /// Image magic where libblkid also sees a file system: never guess.
        case ambiguousDevice = "ambiguous-device"

        // One image: the image is at fault, another candidate may be tried.
        /// A check failed: truncated, bad checksum, a field out of range.
        case imageInvalid = "image-invalid"
        /// A one-shot image that was already resumed.
        case imageConsumed = "image-consumed"
        /// The image changed between the look and the restore.
        case imageChanged = "image-changed"
        /// Unsigned, signed by a key this machine does not trust, or a bad signature.
        case imageUntrusted = "image-untrusted"

        // This machine.
        /// This kernel cannot restore this kind (a call absent or not permitted).
        case kindUnsupported = "kind-unsupported"
        /// Made by another kernel release.
        case otherKernel = "other-kernel"
        /// Made for another memory size or layout.
        case otherMemory = "other-memory"

        // Acting.
        /// Loading into the kernel failed (decode, memfd, kexec_*load, /dev/snapshot).
        case loadFailed = "load-failed"
        /// The consumed mark could not be written and synced: not resuming,
        /// since the image could be resumed twice.
        case cannotMarkConsumed = "cannot-mark-consumed"
        /// The irreversible call (the jump, the atomic restore) returned.
        case irreversibleFailed = "irreversible-failed"
    }

    public var code: Code
    public var text: String

    public init(_ code: Code, _ text: String) {
        self.code = code
        self.text = text
    }

    /// The image itself is at fault: the agent passes it over and decides again.
    public var imageAtFault: Bool {
        switch code {
        case .imageInvalid, .imageConsumed, .imageChanged, .imageUntrusted: true
        default: false
        }
    }

    public var description: String { text }
}

extension BootReason {
    /// A format check that failed, with the code it stands for.
    public init(_ error: FormatError) {
        switch error {
        case .consumed: self.init(.imageConsumed, "\(error)")
        default: self.init(.imageInvalid, "\(error)")
        }
    }
}

extension BootReason {
    /// Any error on the way to a decision: a format check (the image at
    /// fault), a reason already made, or else `otherwise` (a read error, a
    /// refused call) with the error's text.
    public init(_ error: any Error, otherwise: Code) {
        switch error {
        case let reason as BootReason: self = reason
        case let format as FormatError: self.init(format)
        default: self.init(otherwise, "\(error)")
        }
    }
}
