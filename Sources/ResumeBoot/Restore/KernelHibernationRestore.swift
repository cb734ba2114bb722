import ResumeCore
import ResumeSystem

/// The kernel's own hibernation image (TYPE=swsuspend) on the resume=
/// device, handed to the kernel as initramfs-tools does: the memory the
/// saving kernel had online first (all of it: the agent onlined it on that
/// boot too, and the kernel refuses an image made with another amount),
/// then MAJ:MIN written to /sys/power/resume, which resumes at once and
/// does not return when it works. No consumed mark: the kernel restores
/// the swap signature itself before its atomic restore.
struct KernelHibernationRestore: RestorePath {
    let system: BootSystem
    let device: String
    let settings: AgentSettings
    private var number = ""

    init(system: BootSystem, device: String, settings: AgentSettings) {
        self.system = system
        self.device = device
        self.settings = settings
    }

    var irreversibleStep: String { "writing \(number) to /sys/power/resume (the kernel resumes from \(device) now)" }
    var verb: String { "resuming" }

    mutating func prepare() throws(BootReason) {
        NormalBoot.bringMemoryOnline(system, dryRun: false)
        // /dev/mapper/NAME, /dev/VG/LV and by-* links name the device by
        // its node: its number is the node's (stat), not a sysfs name's.
        guard let number = system.blockDeviceNumber(device) else {
            throw BootReason(.deviceUnreadable, "cannot read the device number of \(device) (stat: not a block device)")
        }
        self.number = number
        if settings.offsetPages > 0 {
            do { try system.writeText("/sys/power/resume_offset", String(settings.offsetPages)) } catch {
                throw BootReason(.loadFailed, "\(error)")
            }
        }
    }

    /// The kernel checks its own image when asked to resume it.
    func confirmLoaded() throws(BootReason) {}
    func rollBack() {}

    func irreversible() -> BootReason {
        do { try system.writeText("/sys/power/resume", number) } catch {
            return BootReason(.irreversibleFailed, "\(error)")
        }
        return BootReason(.irreversibleFailed, "the kernel found no image it could resume on \(device) (see the kernel's PM: lines)")
    }
}
