import CRestoreStub
import Glibc
@testable import ResumeBoot
import ResumeCore
import ResumeTestSupport
import XCTest

/// The real restore stub (stub/restore-stub.c, built for the host) run over
/// the segment the agent lays out, with memory mapped at the physical
/// addresses it writes: kernel A's pages must land where A had them, and a
/// segment whose parameters would write out of place must be refused.
/// [low, high) mapped at its own addresses for one run of the stub.
final class PhysicalWindow {
        let low: UInt64, high: UInt64
        init?(low: UInt64, high: UInt64) {
            let at = UnsafeMutableRawPointer(bitPattern: UInt(low))
            let got = mmap(at, Int(high - low), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0)
            guard let got, got != MAP_FAILED, UInt64(UInt(bitPattern: got)) == low else { return nil }
            self.low = low
            self.high = high
        }
        deinit { munmap(UnsafeMutableRawPointer(bitPattern: UInt(low)), Int(high - low)) }
        func bytes(_ address: UInt64, _ count: Int) -> [UInt8] {
            Array(UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: UInt(address)), count: count))
        }
}

extension KexecJumpTests {

    /// B saves KernelA, C loads the stub segment; the segment copied to its
    /// base inside a window over A's RAM and the segment.
    func loadedSegment(appending extra: String = "") throws -> (b: FakeSystem, base: UInt64, segment: [UInt8], window: PhysicalWindow) {
        let a = KernelA()  // its note's size goes into the command line
        let b = hibernateKernel(a, cmdline: KernelA.hibernateCommandLine() + extra)
        _ = runAgent(b)
        let c = bootKernel(image: b.devices["/dev/vdb"]!.bytes)
        _ = runAgent(c)
        let (base, segment, _) = try XCTUnwrap(c.loadedSegments.first, "\(b.logs) \(c.logs)")
        guard let window = PhysicalWindow(low: 0x9_0000, high: (base + UInt64(segment.count) + 0xFFFFF) & ~0xFFFFF) else {
            throw XCTSkip("cannot map 0x90000-\(hexAddress(base + UInt64(segment.count))) at its own addresses here")
        }
        segment.withUnsafeBytes { UnsafeMutableRawPointer(bitPattern: UInt(base))!.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return (b, base, segment, window)
    }

    func runStub(base: UInt64, paramsAt offset: Int) -> (entry: UInt64, status: UInt64) {
        let params = UnsafeMutableRawPointer(bitPattern: UInt(base))!.advanced(by: offset)
        let entry = fr_stub_run(UnsafeMutablePointer(bitPattern: UInt(base)), params.assumingMemoryBound(to: fr_stub_params.self))
        return (entry, params.load(fromByteOffset: 0x1C8, as: UInt64.self))
    }

    /// Runs the real stub on `segment` at `base` (and `heldBack`'s bytes at
    /// its start: pages put in place, chunks parked there), in a window
    /// filled with 0xA5 first. Returns every page outside the segment and
    /// the held-back memory that the stub wrote, by page number.
    func runRestoreStub(segment: [UInt8], base: UInt64,
                        heldBack: (start: UInt64, memory: UnsafeMutableRawBufferPointer)? = nil) throws -> [UInt64: [UInt8]] {
        let top = max(base + UInt64(segment.count), heldBack.map { $0.start + UInt64($0.memory.count) } ?? 0)
        guard let window = PhysicalWindow(low: 0x9_0000, high: (top + 0xFFFFF) & ~0xFFFFF) else {
            throw XCTSkip("cannot map 0x90000-\(hexAddress(top)) at its own addresses here")
        }
        let all = UnsafeMutableRawPointer(bitPattern: UInt(window.low))!
        all.initializeMemory(as: UInt8.self, repeating: 0xA5, count: Int(window.high - window.low))
        segment.withUnsafeBytes { UnsafeMutableRawPointer(bitPattern: UInt(base))!.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        if let heldBack {
            UnsafeMutableRawPointer(bitPattern: UInt(heldBack.start))!.copyMemory(from: heldBack.memory.baseAddress!, byteCount: heldBack.memory.count)
        }
        let (entry, status) = runStub(base: base, paramsAt: stubParamsOffset)
        XCTAssertEqual(entry, KernelA.reentry)
        XCTAssertEqual(status, 2, "the stub stopped (0xbad: it refused)")
        let untouched = [UInt8](repeating: 0xA5, count: 4096)
        var out: [UInt64: [UInt8]] = [:]
        var page = window.low
        while page < window.high {
            let inSegment = page >= base && page < base + UInt64(segment.count)
            let inHeld = heldBack.map { page >= $0.start && page < $0.start + UInt64($0.memory.count) } ?? false
            if !inSegment, !inHeld {
                let bytes = window.bytes(page, 4096)
                if bytes != untouched { out[page / 4096] = bytes }
            }
            page += 4096
        }
        return out
    }

    var stubParamsOffset: Int { (RestoreStubCode.bytes.count + 4095) & ~4095 }

    func testTheStubPutsEverySavedPageOfAWhereAHadItAndNoOther() throws {
        let (b, base, _, window) = try loadedSegment(appending: " resume_agent.jump_trampoline=98000-9efff")
        defer { withExtendedLifetime(window) {} }
        let (entry, status) = runStub(base: base, paramsAt: stubParamsOffset)
        XCTAssertEqual(entry, KernelA.reentry)
        XCTAssertEqual(status, 2)
        for pfn in Array(KernelA.trampolinePFNs) + Array((KernelA.ramStart / 4096)..<(KernelA.ramEnd / 4096)) {
            let address = pfn * 4096
            let expected = KernelA.isFree(pfn) ? [UInt8](repeating: 0, count: 4096) : Array(b.physicalMemory.bytes[Int(address)..<Int(address + 4096)])
            XCTAssertEqual(window.bytes(address, 4096), expected, "page \(pfn)\(KernelA.isFree(pfn) ? " (free in A: never written)" : "")")
        }
    }

    func testTheStubRefusesParametersThatWouldWriteOutOfPlace() throws {
        let (_, base, _, window) = try loadedSegment()
        defer { withExtendedLifetime(window) {} }
        let params = UnsafeMutableRawPointer(bitPattern: UInt(base))!.advanced(by: stubParamsOffset)
        // Range 0 moved onto the stub's own segment.
        let start = params.load(fromByteOffset: 0x60, as: UInt64.self)
        params.storeBytes(of: base, toByteOffset: 0x60, as: UInt64.self)
        XCTAssertEqual(runStub(base: base, paramsAt: stubParamsOffset).entry, 0)
        XCTAssertEqual(params.load(fromByteOffset: 0x1C8, as: UInt64.self), 0xbad)
        // A range beyond the identity map.
        params.storeBytes(of: 64 << 30, toByteOffset: 0x60, as: UInt64.self)
        XCTAssertEqual(runStub(base: base, paramsAt: stubParamsOffset).entry, 0)
        // More chunks than were loaded.
        params.storeBytes(of: start, toByteOffset: 0x60, as: UInt64.self)
        let count = params.load(fromByteOffset: 0x38, as: UInt64.self)
        params.storeBytes(of: count - 1, toByteOffset: 0x38, as: UInt64.self)
        XCTAssertEqual(runStub(base: base, paramsAt: stubParamsOffset).entry, 0)
        // Chunks outside the segment that overlap it.
        params.storeBytes(of: count, toByteOffset: 0x38, as: UInt64.self)
        params.storeBytes(of: 0, toByteOffset: 0x40, as: UInt64.self)
        params.storeBytes(of: base, toByteOffset: 0x1D8, as: UInt64.self)
        XCTAssertEqual(runStub(base: base, paramsAt: stubParamsOffset).entry, 0)
    }
}
