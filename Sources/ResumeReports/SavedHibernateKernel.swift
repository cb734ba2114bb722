import ResumeBoot
import ResumeCore
import ResumeSystem

/// A kept hibernate kernel's file ("Saved hibernate kernels" in
/// docs/FORMAT.md): who B is, and whether a file holds a B that A can
/// resume. Shared by `resume-image hibernate --keep-hibernate-kernel` and
/// `resume-probe --hibernate-kernel FILE`.
public enum SavedHibernateKernel {
    /// Who B is: SHA-256 of its kernel file, its initrd file, and the window.
    public static func identity(kernel: String, initrd: String, window: PhysicalRange) throws -> [UInt8] {
        var hash = SHA256()
        let buffer = ScratchBuffer(count: 1 << 20)
        for path in [kernel, initrd] {
            var input = try FileInput(path: path)
            while true {
                let n = try input.read(into: buffer.memory)
                if n == 0 { break }
                hash.update(UnsafeRawBufferPointer(rebasing: buffer.memory[0..<n]))
            }
        }
        var tail: [UInt8] = []
        for v in [window.start, window.size] { withUnsafeBytes(of: v.littleEndian) { tail += $0 } }
        hash.update(tail)
        return hash.finalize()
    }

    /// What resume-probe says of FILE: its header and table checked, then
    /// whether it fits this machine and the B that would be booted
    /// (/boot/vmlinuz-RELEASE and /boot/initrd.img-RELEASE unless given).
    public static func report(_ path: String, system: BootSystem, kernel: String? = nil, initrd: String? = nil) -> [String] {
        let reader: ImageReader<AnySource>
        do {
            reader = try ImageReader(source: AnySource(try system.openImage(path, base: 0)))
            try reader.checkTable()
        } catch {
            return ["saved hibernate kernel \(path): none usable (\(error))"]
        }
        let file: SavedHibernateKernelFile
        do { file = try SavedHibernateKernelFile(reader.header) } catch {
            return ["saved hibernate kernel \(path): not one (\(error))"]
        }
        let window = file.window
        var lines = ["saved hibernate kernel \(path): B \(file.release.escapingControlCharacters), window \(window), re-entry point \(hexAddress(file.reentry)), \(reader.header.state.name)"]
        let machine = FirmwareMemoryMap.read({ try? system.readText($0) })?.hash
        lines.append("  this machine: \(machine == file.firmwareMapHash ? "the same firmware memory map" : "another firmware memory map: not usable")")
        let release = system.uname().release
        let b = (kernel ?? "/boot/vmlinuz-" + release, initrd ?? "/boot/initrd.img-" + release)
        if let id = try? identity(kernel: b.0, initrd: b.1, window: window) {
            lines.append("  hibernate kernel \(b.0) with \(b.1) in that window: \(id == file.identity ? "this one: usable" : "another one: not usable (B is booted cold and saved again)")")
        } else {
            lines.append("  hibernate kernel \(b.0) or \(b.1): unreadable, cannot tell")
        }
        return lines
    }
}
