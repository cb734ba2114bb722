import ResumeCore
import ResumeSystem

/// Memory blocks as /sys/devices/system/memory shows them.
public struct MemoryBlock: Sendable, Equatable {
    public var index: Int
    public var state: String
    public var isOnline: Bool { state.hasPrefix("online") }
    public init(index: Int, state: String) {
        self.index = index
        self.state = state
    }
}

public struct MemoryLayout: Sendable, Equatable {
    public var blockSize: UInt64
    public var blocks: [MemoryBlock]
    public init(blockSize: UInt64, blocks: [MemoryBlock]) {
        self.blockSize = blockSize
        self.blocks = blocks
    }
    public var onlineCount: Int { blocks.filter(\.isOnline).count }
    public var onlineMiB: UInt64 { UInt64(onlineCount) * blockSize >> 20 }
    public var totalMiB: UInt64 { UInt64(blocks.count) * blockSize >> 20 }
    public var onlineBytes: UInt64 { UInt64(onlineCount) * blockSize }

    /// XXH64 of the block size and the online blocks' numbers: a snapshot
    /// restores only onto the same online memory (the kernel compares page
    /// counts; this also names which blocks).
    public var onlineLayoutHash: UInt64 {
        let text = "\(blockSize):" + blocks.filter(\.isOnline).map { String($0.index) }.joined(separator: ",")
        return XXH64.hash(Array(text.utf8))
    }
}

public enum MemoryHotplug {
    public static let root = "/sys/devices/system/memory"

    /// Reads the block size and every block's state.
    public static func read(_ system: BootSystem) throws -> MemoryLayout {
        let sizeText = try system.readText("\(root)/block_size_bytes").trimmingWhitespace()
        guard let blockSize = UInt64(sizeText, radix: 16), blockSize > 0 else {
            throw MemoryLayoutError("\(root)/block_size_bytes holds \"\(sizeText)\", not a hex size")
        }
        var blocks: [MemoryBlock] = []
        for name in try system.list(root) where name.hasPrefix("memory") {
            guard let index = Int(name.dropFirst("memory".count)) else { continue }
            let state = (try? system.readText("\(root)/\(name)/state").trimmingWhitespace()) ?? "unreadable"
            blocks.append(MemoryBlock(index: index, state: state))
        }
        blocks.sort { $0.index < $1.index }
        return MemoryLayout(blockSize: blockSize, blocks: blocks)
    }

    public struct OnlineResult: Sendable {
        public var onlined: [Int] = []
        public var failures: [String] = []
        public var layout: MemoryLayout
    }

    /// Writes `online` to every offline block, lowest first, and re-reads
    /// the layout. A block that refuses is reported, and the rest go on.
    public static func onlineAll(_ system: BootSystem) throws -> OnlineResult {
        let before = try read(system)
        var result = OnlineResult(layout: before)
        for block in before.blocks where !block.isOnline {
            do {
                try system.writeText("\(root)/memory\(block.index)/state", "online")
                result.onlined.append(block.index)
            } catch {
                result.failures.append("memory\(block.index): \(error)")
            }
        }
        result.layout = try read(system)
        return result
    }

    /// The rest of RAM: memory `memmap=` held back is handed to kmem
    /// first (`HeldBackMemory`), then every offline block is onlined. The
    /// snapshot path needs it before it opens /dev/snapshot (the kernel
    /// maps the image over the memory online then). kexec_file_load needs
    /// none of it (the kernel places kernel B in memory it has). A
    /// kexec_load segment aimed into held-back memory would need it in the
    /// direct map for the copy at the jump: not done yet (segments images
    /// load low).
    public static func onlineEverything(_ system: BootSystem, cmdline: String?) throws -> OnlineResult {
        HeldBackMemory.handToKernel(system, cmdline: cmdline) { system.log("memory: \($0)") }
        return try onlineAll(system)
    }
}

/// sysfs memory files that do not say what the kernel documents.
public struct MemoryLayoutError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
