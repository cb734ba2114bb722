import ResumeCore
import ResumeSystem

/// The one place an image is committed to: "never resume an image twice"
/// lives here and nowhere else.
///
/// After `prepare` has loaded everything and the kernel confirms it holds
/// it, a one-shot image is marked consumed (8 bytes over its state field)
/// and synced *before* the irreversible call: if the mark cannot be written
/// or synced, nothing irreversible happens (the image could otherwise be
/// resumed on every boot). A failure anywhere rolls the path back, so the
/// boot goes on with nothing half-loaded.
enum Commit {
    /// Where a one-shot image lives, to mark it consumed.
    struct OneShotImage {
        let system: BootSystem
        let device: String
        let base: UInt64

        func markConsumed() throws {
            try ResumeCore.markConsumed(try system.openImageForUpdate(device, base: base))
        }
    }

    /// Runs `path` to its irreversible step. Returns only when that did not
    /// happen, or failed, with the reason.
    /// `loaded` is logged once the kernel holds the image.
    static func run<Path: RestorePath>(_ path: inout Path, oneShot: OneShotImage?, _ system: BootSystem,
                                       loaded: (() -> String)? = nil, breaks: BreakPoints = BreakPoints()) -> BootReason {
        do {
            try path.prepare()
            try path.confirmLoaded()
        } catch {
            path.rollBack()
            return error
        }
        if let loaded { system.log(loaded()) }
        if let oneShot {
            do {
                try oneShot.markConsumed()
            } catch {
                path.rollBack()
                return BootReason(.cannotMarkConsumed,
                                  "cannot mark the image on \(oneShot.device) consumed, so not \(path.verb) (it could be resumed twice): \(error)")
            }
            system.log("marked the one-shot image on \(oneShot.device) consumed (synced)")
            system.pause(at: .consumed, breaks)
        }
        system.log("\(path.irreversibleStep); this does not return")
        let failure = path.irreversible()
        path.rollBack()
        return failure
    }
}

extension BootSystem {
    /// `resume_agent.break=` (`BreakPoints`): when `point` is named, say
    /// so and stop for the seconds given, then go on.
    func pause(at point: BreakPoint, _ breaks: BreakPoints) {
        guard breaks.points.contains(point) else { return }
        log("resume_agent.break=\(point.rawValue): stopping here for \(breaks.seconds) s (the power may be cut now)")
        // A line every 2 s: the hibernate kernel's serial console shows a
        // line only once the next one is logged (seen in QEMU), and a test
        // cuts the power when it sees the one above.
        for second in 0..<breaks.seconds {
            if second > 0, second % 2 == 0 { log("resume_agent.break=\(point.rawValue): \(breaks.seconds - second) s left") }
            sleep(milliseconds: 1000)
        }
        log("resume_agent.break=\(point.rawValue): going on")
    }
}
