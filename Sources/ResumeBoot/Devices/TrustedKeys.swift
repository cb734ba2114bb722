import ResumeCore
import ResumeSystem

/// The public keys this machine trusts, from the initramfs: when there are
/// any, only images signed by one of them are restored. The initramfs-tools
/// hook copies them from /etc/fastresume/keys/*.pub (`resume-image keygen`
/// makes them).
public struct TrustedKeys: Sendable {
    public static let directory = "/etc/fastresume/keys"

    /// Keys are configured: unsigned images are refused. True as soon as a
    /// `.pub` file is there, even one that cannot be read or parsed: when in
    /// doubt, do not resume.
    public let required: Bool
    public let keys: [PublicKey]
    /// Key files that could not be used, each with its reason.
    public let problems: [String]

    public init(required: Bool, keys: [PublicKey], problems: [String] = []) {
        self.required = required
        self.keys = keys
        self.problems = problems
    }

    public static func load(_ system: BootSystem, directory: String = directory) -> TrustedKeys {
        let names = ((try? system.list(directory)) ?? []).filter { $0.hasSuffix(".pub") }
        var keys: [PublicKey] = [], problems: [String] = []
        for name in names {
            let path = "\(directory)/\(name)"
            do {
                keys.append(try PublicKey(fileText: try system.readText(path)))
            } catch {
                problems.append("\(path): \(error)")
            }
        }
        return TrustedKeys(required: !names.isEmpty, keys: keys, problems: problems)
    }

    /// nil when `header` may be restored on this machine, else why not.
    public func refusal(_ header: ImageHeader) -> BootReason? {
        guard required else { return nil }
        do {
            _ = try SignatureCheck.verify(header, trustedKeys: keys)
            return nil
        } catch {
            return BootReason(.imageUntrusted, "\(error)")
        }
    }
}
