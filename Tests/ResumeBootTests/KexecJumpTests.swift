import XCTest
@testable import ResumeBoot
import ResumeTestSupport
import ResumeCore
import ResumeSystem

/// Kexec-jump hibernation: the hibernate kernel B saving kernel A
/// (`KernelASave`), and the boot kernel C putting A back through the
/// restore stub (`MemoryRestore`), with the fake kernel.
final class KexecJumpTests: XCTestCase {
    /// B: A's memory behind /dev/mem, B's own RAM in /proc/iomem, a blank target disk.
    func hibernateKernel(_ a: KernelA = KernelA(), cmdline: String = KernelA.hibernateCommandLine()) -> FakeSystem {
        let b = FakeSystem()
        b.physicalMemory = a.memory
        b.files["/proc/iomem"] = "00000000-0009ffff : System RAM\n04000000-09ffffff : System RAM\n"
        b.files["/proc/meminfo"] = "MemTotal:       85000 kB\n"
        b.files["/proc/cmdline"] = cmdline
        b.addDevice("vdb", image: [UInt8](repeating: 0, count: 8 << 20))
        return b
    }

    func runAgent(_ system: FakeSystem) -> Int32 {
        Agent(system: system, options: Agent.Options()).run()
    }

    func savedImage() throws -> (FakeSystem, [UInt8]) {
        let b = hibernateKernel()
        _ = runAgent(b)
        return (b, b.devices["/dev/vdb"]!.bytes)
    }

    // MARK: B saves A

    func testHibernateKernelSavesTheUsedPagesOfAThenPowersOff() throws {
        let (b, image) = try savedImage()
        let reader = try ImageReader(source: MemoryImage(image))
        try reader.verifyContents()
        let h = reader.header
        XCTAssertEqual(h.kind, .memory)
        XCTAssertEqual(h.formatMinor, 2)
        XCTAssertEqual(h.entryAddress, KernelA.reentry)
        XCTAssertEqual(h.producerRelease, KernelA.release)
        XCTAssertEqual(h.kernelBuildID, KernelA.buildID)
        XCTAssertEqual(h.memoryLayoutHash, KernelA.firmwareMapHash())
        XCTAssertEqual(h.entries.map(\.type), [.pageMap, .pages])
        XCTAssertEqual(h.entries[1].physicalAddress, KernelA.ramStart)
        XCTAssertEqual(h.entries[1].rawSize, KernelA.savedPages * 4096, "free pages are left out")
        // Every saved page is A's page, in order; every free one is left out.
        let map = try PageMap(ranges: PageMap.ranges(of: h), bits: try reader.readEntry(0, limit: 1 << 20))
        var pages: [UInt8] = []
        try reader.forEachChunk(entry: 1) { _, _, raw in pages += raw }
        var at = 0
        for k in 0..<KernelA.ramPages {
            let pfn = KernelA.ramStart / 4096 + k
            XCTAssertEqual(map.isSaved(k), !KernelA.isFree(pfn), "page \(pfn)")
            guard map.isSaved(k) else { continue }
            XCTAssertEqual(Array(pages[at..<(at + 4096)]), Array(b.physicalMemory.bytes[Int(pfn * 4096)..<Int(pfn * 4096 + 4096)]))
            at += 4096
        }
        XCTAssertEqual(at, pages.count)
        // Synced before anything else; then power off; the fake's power off
        // fails, so B jumps back rather than stay.
        XCTAssertEqual(Array(b.events.suffix(4)), ["power off", "kexec_load preserve-context 1180f2", "jump", "unload"])
        XCTAssertEqual(b.loadedSegments.map(\.0), [0x9ff_f000], "one page at the top of B's RAM")
        XCTAssertTrue(b.logs.contains { $0.hasPrefix("saved kernel A to /dev/vdb: \(KernelA.savedPages) of 1024 pages") }, "\(b.logs)")
    }

    func testCheckpointJumpsBackAfterSaving() throws {
        let b = hibernateKernel(cmdline: KernelA.hibernateCommandLine(then: "back"))
        _ = runAgent(b)
        XCTAssertFalse(b.events.contains("power off"))
        XCTAssertEqual(Array(b.events.suffix(3)), ["kexec_load preserve-context 1180f2", "jump", "unload"])
        XCTAssertNoThrow(try ImageReader(source: b.devices["/dev/vdb"]!).verifyContents())
    }

    func testAFailedSaveJumpsBackToARatherThanPowerOff() throws {
        let b = hibernateKernel()
        b.blkid["/dev/vdb"]?.type = "ext4"
        _ = runAgent(b)
        XCTAssertFalse(b.events.contains("power off"))
        XCTAssertEqual(Array(b.events.suffix(3)), ["kexec_load preserve-context 1180f2", "jump", "unload"])
        XCTAssertTrue(b.logs.contains { $0.contains("kernel A not saved: refusing to write over /dev/vdb") }, "\(b.logs)")
        XCTAssertTrue(b.devices["/dev/vdb"]!.bytes.allSatisfy { $0 == 0 }, "the filesystem is not touched")
    }

    func testAPageMapTooLargeForBIsRefusedAndBJumpsBack() throws {
        let b = hibernateKernel()
        b.files["/proc/meminfo"] = "MemTotal:       0 kB\n"
        _ = runAgent(b)
        XCTAssertEqual(Array(b.events.suffix(3)), ["kexec_load preserve-context 1180f2", "jump", "unload"])
        XCTAssertTrue(b.logs.contains { $0.contains("more than this hibernate kernel can spare") }, "\(b.logs)")
    }

    func testUnusableRequestStillJumpsBack() {
        let b = hibernateKernel(cmdline: "kexec_jump_back_entry=0x1180f2 resume_agent.jump_save=/dev/vdb")
        _ = runAgent(b)
        XCTAssertEqual(Array(b.events.suffix(3)), ["kexec_load preserve-context 1180f2", "jump", "unload"])
        XCTAssertTrue(b.logs.contains { $0.contains("cannot save kernel A: no resume_agent.jump_ram=") }, "\(b.logs)")
    }

    func testWithoutStructPageFactsEveryPageIsSaved() throws {
        let a = KernelA()
        let note = try VMCoreInfo.parse(note: Array(a.memory.bytes[Int(KernelA.noteAddress)..<Int(KernelA.noteAddress + KernelA.noteSize)]))
        XCTAssertNotNil(note.pages)
        let b = hibernateKernel(a)
        // Break SIZE(page) in A's note: 65 does not divide a page.
        let text = Array("SIZE(page)=64".utf8), broken = Array("SIZE(page)=65".utf8)
        var bytes = b.physicalMemory.bytes
        if let i = (0..<(bytes.count - text.count)).first(where: { Array(bytes[$0..<($0 + text.count)]) == text && $0 > Int(KernelA.noteAddress) }) {
            bytes.replaceSubrange(i..<(i + text.count), with: broken)
        }
        b.physicalMemory = MemoryImage(bytes)
        _ = runAgent(b)
        let h = try ImageReader(source: b.devices["/dev/vdb"]!).header
        XCTAssertEqual(h.entries[1].rawSize, KernelA.ramPages * 4096)
        XCTAssertTrue(b.logs.contains { $0.contains("does not locate its struct pages: saving every page") }, "\(b.logs)")
    }

    func testPagesOnAPerCPUFreeListAreLeftOutAndLookalikesAreSaved() throws {
        let (b, image) = try savedImage()
        let reader = try ImageReader(source: MemoryImage(image))
        let map = try PageMap(ranges: PageMap.ranges(of: reader.header), bits: try reader.readEntry(0, limit: 1 << 20))
        func saved(_ pfn: UInt64) -> Bool { map.isSaved(map.bit(of: pfn * 4096)!) }
        for pfn in KernelA.perCPUList.pfns { XCTAssertFalse(saved(pfn), "page \(pfn) is on a per-CPU free list") }
        // Stale links, poisoned links, a list with a page in use: saved.
        for pfn in KernelA.lookFreeButUsed + [0x411] { XCTAssertTrue(saved(pfn), "page \(pfn) is on no free list") }
        XCTAssertTrue(b.logs.contains { $0.contains("free (left out, 3 of them on per-CPU free lists)") }, "\(b.logs)")
    }

    func testWithoutTheListFieldsPagesOnPerCPUListsAreSaved() throws {
        let b = hibernateKernel()
        let text = Array("OFFSET(page.lru)=8\n".utf8), broken = Array("OFFSET(page.lru)=9\n".utf8)
        var bytes = b.physicalMemory.bytes
        let i = try XCTUnwrap((Int(KernelA.noteAddress)..<(bytes.count - text.count)).first { Array(bytes[$0..<($0 + text.count)]) == text })
        bytes.replaceSubrange(i..<(i + text.count), with: broken)
        b.physicalMemory = MemoryImage(bytes)
        _ = runAgent(b)
        let h = try ImageReader(source: b.devices["/dev/vdb"]!).header
        XCTAssertEqual(h.entries[1].rawSize, (KernelA.savedPages + UInt64(KernelA.perCPUList.pfns.count)) * 4096)
        XCTAssertTrue(b.logs.contains { $0.contains("free (left out, 0 of them on per-CPU free lists)") }, "\(b.logs)")
    }

    // MARK: Power cuts: resume_agent.break=

    /// What the target holds when B stops at `point`: it is never a valid image.
    func imageAtBreak(_ point: String) throws -> (FakeSystem, [UInt8]) {
        let b = hibernateKernel(cmdline: KernelA.hibernateCommandLine() + " resume_agent.break=\(point)")
        var atBreak: [UInt8]?
        b.onSleep = { ms in
            if atBreak == nil, b.logs.last?.contains("stopping here") == true { atBreak = b.devices["/dev/vdb"]!.bytes }
        }
        _ = runAgent(b)
        XCTAssertTrue(b.logs.contains("resume_agent.break=\(point): stopping here for 60 s (the power may be cut now)"), "\(b.logs)")
        return (b, try XCTUnwrap(atBreak))
    }

    func testACutDuringTheSaveNeverLeavesAValidImage() throws {
        for point in ["save-start", "save-middle", "save-before-header"] {
            let (b, cut) = try imageAtBreak(point)
            XCTAssertThrowsError(try ImageReader(source: MemoryImage(cut)).header, point)
            // Uncut, the save goes on to a valid image.
            XCTAssertNoThrow(try ImageReader(source: b.devices["/dev/vdb"]!).verifyContents(), point)
            XCTAssertTrue(b.logs.contains("resume_agent.break=\(point): going on"), point)
        }
        // Before the header, every chunk is there: the cut takes only the header.
        let (b, cut) = try imageAtBreak("save-before-header")
        XCTAssertEqual(Array(cut[4096...]), Array(b.devices["/dev/vdb"]!.bytes[4096...]))
    }

    func testACutAfterTheConsumedMarkLeavesAnImageNeverResumedAgain() throws {
        let c = bootKernel(image: try savedImage().1)
        c.files["/proc/cmdline"]! += " resume_agent.break=consumed"
        var stateAtBreak: ImageState?
        c.onSleep = { ms in
            if stateAtBreak == nil, c.logs.last?.contains("stopping here") == true {
                stateAtBreak = try? ImageReader(source: c.devices["/dev/vdb"]!).header.state
            }
        }
        _ = runAgent(c)
        XCTAssertEqual(stateAtBreak, .consumed)
        XCTAssertTrue(c.events.contains("jump"), "uncut, the jump follows")
    }

    func testAnUnknownBreakPointIsAWarning() {
        let settings = AgentSettings(KernelCommandLine("resume_agent.break=middle,consumed resume_agent.break_seconds=5"))
        XCTAssertEqual(settings.breaks.points, [.consumed])
        XCTAssertEqual(settings.breaks.seconds, 5)
        XCTAssertEqual(settings.warnings, ["resume_agent.break=middle is not one of save-start, save-middle, save-before-header, consumed: ignored"])
    }

    // MARK: Signed memory images: the key A hands over

    static let keyA = try! SigningKey(seed: [UInt8](repeating: 0x11, count: 32))
    static let keyOther = try! SigningKey(seed: [UInt8](repeating: 0x22, count: 32))

    func signedImage() throws -> (FakeSystem, [UInt8]) {
        let b = hibernateKernel()
        let seed = ScratchBuffer(count: 32)
        Self.keyA.copySeed(into: seed.memory)
        b.binaryFiles[JumpSigningKey.initrdPath] = Array(seed.memory)
        _ = runAgent(b)
        return (b, b.devices["/dev/vdb"]!.bytes)
    }

    func testHibernateKernelSignsWithTheKeyFromItsInitramfsAndTakesTheFile() throws {
        let (b, image) = try signedImage()
        let reader = try ImageReader(source: MemoryImage(image))
        try reader.verifyContents()
        XCTAssertEqual(try SignatureCheck.verify(reader.header, trustedKeys: [Self.keyA.publicKey]).keyID, Self.keyA.publicKey.keyID)
        XCTAssertEqual(reader.header.chunkHash, .blake2b128)
        XCTAssertTrue(b.events.contains("take \(JumpSigningKey.initrdPath)"))
        XCTAssertFalse(b.exists(JumpSigningKey.initrdPath), "the key file is gone")
        XCTAssertTrue(b.logs.contains { $0.contains("signed by key \(Self.keyA.publicKey.keyID)") }, "\(b.logs)")
    }

    func testAnUnusableKeyFailsTheSaveAndBJumpsBack() throws {
        let b = hibernateKernel()
        b.binaryFiles[JumpSigningKey.initrdPath] = [1, 2, 3]
        _ = runAgent(b)
        XCTAssertFalse(b.events.contains("power off"))
        XCTAssertTrue(b.logs.contains { $0.contains("kernel A not saved: the signing key kernel A handed over is not usable") }, "\(b.logs)")
        XCTAssertThrowsError(try ImageReader(source: b.devices["/dev/vdb"]!).header)
    }

    func testWithoutAKeyTheImageIsUnsigned() throws {
        let (b, image) = try savedImage()
        XCTAssertNil(try ImageReader(source: MemoryImage(image)).header.signature)
        XCTAssertTrue(b.logs.contains { $0.contains(", unsigned in ") }, "\(b.logs)")
    }

    func trustingBootKernel(image: [UInt8], _ key: SigningKey) -> FakeSystem {
        let c = bootKernel(image: image)
        c.files["/etc/fastresume/keys/a.pub"] = key.publicKey.fileText
        return c
    }

    func testBootKernelWithKeysRestoresAnImageSignedByOne() throws {
        let c = trustingBootKernel(image: try signedImage().1, Self.keyA)
        _ = runAgent(c)
        XCTAssertTrue(c.events.contains("jump"), "\(c.logs)")
    }

    func testBootKernelWithKeysRefusesAnUnsignedImage() throws {
        try assertRefused(trustingBootKernel(image: try savedImage().1, Self.keyA), "image is not signed")
    }

    func testBootKernelWithKeysRefusesAnImageSignedByAnotherKey() throws {
        try assertRefused(trustingBootKernel(image: try signedImage().1, Self.keyOther), "not trusted")
    }

    // MARK: A kept B: the mailbox

    func testParkedHibernateKernelTellsAItsReentryThenSavesAWhenAComesBack() throws {
        let mailbox: UInt64 = 0x400_0000
        let b = hibernateKernel(cmdline: KernelA.hibernateCommandLine(then: "park") + " resume_agent.jump_mailbox=0x4000000")
        // The mailbox page lies in B's window (ACPI data to B): /dev/mem shows it.
        var memory = b.physicalMemory.bytes
        memory += [UInt8](repeating: 0, count: Int(mailbox) + 4096 - memory.count)
        b.physicalMemory = MemoryImage(memory)
        let newEntry: UInt64 = 0x12_30f2
        b.jumpsThatReturn = 1
        var firstJumpPage: [UInt8] = []
        b.onJumpReturn = {
            firstJumpPage = b.loadedSegments.first?.1 ?? []
            // A resumed this kernel through `toB`: its new re-entry point and request.
            let request = KernelA.hibernateCommandLine(then: "back").split(separator: " ")
                .filter { $0.hasPrefix("resume_agent.") }.joined(separator: " ")
            var page = JumpMailbox.page(mailbox: mailbox, bReentry: 0x5_0000, request: request)!
            for i in 0..<8 {
                page[i] = UInt8(truncatingIfNeeded: JumpMailbox.resumed >> (8 * UInt64(i)))
                page[JumpMailbox.aReentryOffset + i] = UInt8(truncatingIfNeeded: newEntry >> (8 * UInt64(i)))
            }
            if let key = self.mailboxKey {
                let seed = ScratchBuffer(count: 32)
                key.copySeed(into: seed.memory)
                let field = JumpSigningKey.mailboxField(seed: UnsafeRawBufferPointer(seed.memory))
                page.replaceSubrange(JumpSigningKey.mailboxOffset..<(JumpSigningKey.mailboxOffset + field.count), with: field)
            }
            page.withUnsafeBytes { try! b.physicalMemory.write($0, at: mailbox) }
        }
        _ = runAgent(b)
        if let key = mailboxKey {
            let h = try ImageReader(source: b.devices["/dev/vdb"]!).header
            XCTAssertEqual(try SignatureCheck.verify(h, trustedKeys: [key.publicKey]).keyID, key.publicKey.keyID)
            let at = Int(mailbox) + JumpSigningKey.mailboxOffset
            XCTAssertTrue(b.physicalMemory.bytes[at..<(at + JumpSigningKey.mailboxBytes)].allSatisfy { $0 == 0 }, "the key is wiped from the mailbox")
            return
        }
        // Parked: nothing saved before the first jump, which went through `toA` at the top of B's RAM.
        XCTAssertEqual(Array(firstJumpPage.prefix(52)), JumpMailbox.toA(mailbox: mailbox, aReentry: KernelA.reentry))
        XCTAssertEqual(b.events.filter { $0.hasPrefix("kexec_load") }, ["kexec_load preserve-context 9fff000", "kexec_load preserve-context 9fff000"])
        // Then A's request: saved, with A's new re-entry point, and jumped back through `toA` again.
        let h = try ImageReader(source: b.devices["/dev/vdb"]!).header
        XCTAssertEqual(h.entryAddress, newEntry)
        XCTAssertEqual(Array(b.loadedSegments[0].1.prefix(52)), JumpMailbox.toA(mailbox: mailbox, aReentry: newEntry))
        XCTAssertTrue(b.writes.contains { $0.0 == "/proc/sys/vm/drop_caches" }, "stale disk caches are dropped after the return")
        XCTAssertTrue(b.logs.contains { $0.contains("this kernel resumed from its saved image") }, "\(b.logs)")
    }

    var mailboxKey: SigningKey?

    func testAKeptHibernateKernelSignsWithTheKeyFromTheMailboxAndWipesIt() throws {
        mailboxKey = Self.keyA
        try testParkedHibernateKernelTellsAItsReentryThenSavesAWhenAComesBack()
    }

    func testASavedHibernateKernelIsNeverBootedByTheAgent() throws {
        let image = MemoryImage()
        var h = ImageHeader(kind: .segments)
        h.chunkSize = 4096
        h.entryAddress = 0x4000_00f2
        h.memoryLayoutHash = 7
        h.kernelBuildID = [UInt8](repeating: 9, count: 32)
        var w = ImageWriter(sink: image, header: h)
        var window = BytesInput([UInt8](repeating: 1, count: 8192))
        try w.append(.segment, from: &window, physicalAddress: 0x4000_0000, memorySize: 8192)
        try w.finish()
        let c = FakeSystem()
        c.addDevice("vdb", image: image.bytes)
        c.files["/proc/cmdline"] = "console=ttyS0"
        _ = runAgent(c)
        XCTAssertFalse(c.events.contains { $0.hasPrefix("kexec_load") }, "\(c.events)")
        XCTAssertTrue(c.logs.contains { $0.contains("a saved hibernate kernel") && $0.contains("not an image to boot") }, "\(c.logs)")
    }

    func testTrampolinesStoreTheCallersReentryThenJumpOn() {
        // mov (%rsp),%rax; movabs slot,%rdi; mov %rax,(%rdi); movabs magicAt,%rdi; movabs magic,%rax; mov %rax,(%rdi); movabs target,%rax; jmp *%rax
        let code = JumpMailbox.trampoline(slot: 0x1008, magicAt: 0x1000, magic: JumpMailbox.parked, target: 0xabcd)
        XCTAssertEqual(code.count, 4 + 10 + 3 + 10 + 10 + 3 + 10 + 2)
        XCTAssertEqual(Array(code.prefix(4)), [0x48, 0x8B, 0x04, 0x24])
        XCTAssertEqual(Array(code.suffix(2)), [0xFF, 0xE0])
        XCTAssertEqual(JumpMailbox.u64(code + [UInt8](repeating: 0, count: 8), 6), 0x1008)
        XCTAssertEqual(JumpMailbox.u64(code + [UInt8](repeating: 0, count: 8), code.count - 10), 0xabcd)
    }

    // MARK: C puts A back

    func bootKernel(image: [UInt8], release: String = KernelA.release, buildID: [UInt8] = KernelA.buildID,
                    memoryTop: UInt64 = 64 << 20, blockSize: UInt64 = 64 << 20) -> FakeSystem {
        let c = FakeSystem(onlineBlocks: Int((64 << 20) / blockSize), offlineBlocks: 0, blockSize: blockSize)
        c.addDevice("vdb", image: image)
        c.files["/proc/cmdline"] = "console=ttyS0 resume=/dev/vdb"
        c.files["/proc/iomem"] = "00000000-0009ffff : System RAM\n00100000-03ffffff : System RAM\n"
        c.files["/proc/meminfo"] = "MemTotal:       65000 kB\n"
        c.binaryFiles[KernelNotes.path] = KernelA.kernelNotes(buildID: buildID)
        for (path, text) in KernelA.firmwareMap(top: memoryTop) { c.files[path] = text }
        return c
    }

    func testBootKernelLoadsTheStubSegmentMarksTheImageConsumedAndJumps() throws {
        let (b, image) = try savedImage()
        let c = bootKernel(image: image)
        _ = runAgent(c)
        XCTAssertEqual(c.events.first { $0.hasPrefix("kexec_load") }.map { _ in true }, true, "\(c.events)")
        XCTAssertEqual(Array(c.events.suffix(4).prefix(3)), ["write /dev/vdb at 16", "sync /dev/vdb", "jump"], "\(c.events)")
        XCTAssertEqual(try ImageReader(source: c.devices["/dev/vdb"]!).header.state, .consumed)
        // The segment: placed in pages A did not save, and what the stub
        // would write (played here from its parameters) is A's memory.
        let (base, segment, size) = try XCTUnwrap(c.loadedSegments.first)
        XCTAssertEqual(UInt64(segment.count), size)
        XCTAssertEqual(Array(segment.prefix(RestoreStubCode.bytes.count)), RestoreStubCode.bytes)
        let restored = try runRestoreStub(segment: segment, base: base)
        var compared = 0
        for k in 0..<KernelA.ramPages {
            let pfn = KernelA.ramStart / 4096 + k, address = Int(pfn * 4096)
            if KernelA.isFree(pfn) {
                XCTAssertNil(restored[pfn], "free page \(pfn) is not written")
            } else {
                XCTAssertEqual(restored[pfn], Array(b.physicalMemory.bytes[address..<(address + 4096)]), "page \(pfn)")
                compared += 1
            }
        }
        XCTAssertEqual(UInt64(compared), KernelA.savedPages)
        for pfn in restored.keys {
            XCTAssertFalse(pfn * 4096 >= base && pfn * 4096 < base + size, "the stub never writes its own segment")
        }
    }

    /// C confined: `held` soft reserved by `memmap=` (SIZE%START), its dax
    /// device bound to device_dax with (zeroed) memory the test owns.
    func confinedBootKernel(image: [UInt8], held: PhysicalRange, memmap: String, blockSize: UInt64 = 64 << 20,
                            driver: String = "device_dax", hotRemove: Bool = true) -> (FakeSystem, UnsafeMutableRawBufferPointer) {
        let c = bootKernel(image: image, blockSize: blockSize)
        c.files["/proc/cmdline"] = "console=ttyS0 resume=/dev/vdb memmap=\(memmap)-1+0xefffffff"
        c.bootRAM = [(0, 0xa_0000), (0x10_0000, held.start - 0x10_0000), (held.end, (64 << 20) - held.end)]
        c.daxDevicesPresent = true
        c.memoryHotRemove = hotRemove
        c.holdBack(start: held.start, size: held.size, driver: driver)
        let dax = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(held.size), alignment: 4096)
        dax.initializeMemory(as: UInt8.self, repeating: 0)
        c.daxMemory["/dev/dax0.0"] = dax
        return (c, dax)
    }

    func testConfinedBootKernelPutsHeldBackPagesInPlaceAndLeavesOnlyItsOwnToTheStub() throws {
        let c = try assertConfinedRestore(driver: "device_dax")
        XCTAssertFalse(c.writes.contains { $0.0.hasPrefix("/sys/bus/dax") }, "\(c.writes)")
    }

    /// A kernel with kmem built in gives it the device at boot, its blocks offline.
    func testConfinedBootKernelTakesTheDeviceBackFromKmemBuiltIn() throws {
        let c = try assertConfinedRestore(driver: "kmem")
        XCTAssertEqual(c.writes.filter { $0.0.hasPrefix("/sys/bus/dax") }.map(\.0),
                       ["/sys/bus/dax/drivers/kmem/unbind", "/sys/bus/dax/drivers/device_dax/new_id"])
        XCTAssertTrue(c.logs.contains("memory: dax0.0 taken back from kmem for device_dax (its blocks were offline), to put kernel A's pages there"), "\(c.logs)")
    }

    /// Without hot-remove kmem would keep the range reserved: the device is left to it.
    func testKmemThatCannotRemoveMemoryKeepsTheDeviceAndTheStubWritesEveryPage() throws {
        let (_, image) = try savedImage()
        let (c, dax) = confinedBootKernel(image: image, held: PhysicalRange(start: 0x40_0000, size: 0x40_0000),
                                          memmap: "4M%4M", blockSize: 1 << 20, driver: "kmem", hotRemove: false)
        defer { dax.deallocate() }
        _ = runAgent(c)
        XCTAssertEqual(c.events.filter { $0.hasPrefix("jump") }, ["jump"], "\(c.events) \(c.logs)")
        XCTAssertFalse(c.writes.contains { $0.0.hasSuffix("/unbind") }, "left to kmem: \(c.writes)")
        XCTAssertFalse(c.events.contains { $0.hasPrefix("mmap") }, "\(c.events)")
        XCTAssertTrue(c.logs.contains("memory: dax0.0 (0x400000-0x7fffff) is kmem's and this kernel cannot remove its memory4 (no CONFIG_MEMORY_HOTREMOVE), so it cannot be given back; the restore stub writes kernel A's pages there"), "\(c.logs)")
        XCTAssertTrue(c.logs.contains { $0.contains(" 0 pages put in place through dax (no device-dax memory mapped)") }, "\(c.logs)")
    }

    /// Restores the saved image on a C confined below 0x290000 with the
    /// held-back device bound to `driver`, and checks every page of A.
    func assertConfinedRestore(driver: String, file: StaticString = #filePath, line: UInt = #line) throws -> FakeSystem {
        let (b, image) = try savedImage()
        // C runs below 0x290000; the rest, to 32 MiB, is held back (not a
        // chunk boundary: one chunk is split between C and the stub). The
        // stub's chunks go where A has no page, at 16 MiB.
        let held = PhysicalRange(start: 0x29_0000, size: 0x200_0000 - 0x29_0000)
        let (c, dax) = confinedBootKernel(image: image, held: held, memmap: "30144K%2624K", driver: driver)
        defer { dax.deallocate() }
        _ = runAgent(c)
        XCTAssertEqual(c.events.filter { $0.hasPrefix("jump") }, ["jump"], "\(c.events) \(c.logs)")
        XCTAssertTrue(c.events.contains("munmap /dev/dax0.0"), "\(c.events)")
        XCTAssertFalse(c.writes.contains { $0.0.hasSuffix("/state") || $0.0.hasSuffix("/kmem/new_id") }, "held-back memory stays offline: \(c.writes)")
        let (base, segment, _) = try XCTUnwrap(c.loadedSegments.first)
        let restored = try runRestoreStub(segment: segment, base: base, heldBack: (held.start, dax))
        XCTAssertTrue(c.logs.contains { $0.contains("in held-back memory at 0x1000000") }, "\(c.logs)")
        var inPlace = 0, byStub = 0
        for k in 0..<KernelA.ramPages {
            let pfn = KernelA.ramStart / 4096 + k, address = pfn * 4096
            let a = Array(b.physicalMemory.bytes[Int(address)..<Int(address + 4096)])
            if held.contains(PhysicalRange(start: address, size: 4096)) {
                XCTAssertNil(restored[pfn], "page \(pfn) is C's to put in place, not the stub's")
                guard !KernelA.isFree(pfn) else { continue }
                let at = Int(address - held.start)
                XCTAssertEqual(Array(dax[at..<(at + 4096)]), a, "page \(pfn) in place")
                inPlace += 1
            } else if !KernelA.isFree(pfn) {
                XCTAssertEqual(restored[pfn], a, "page \(pfn) by the stub")
                byStub += 1
            }
        }
        XCTAssertEqual(UInt64(inPlace + byStub), KernelA.savedPages)
        XCTAssertTrue(inPlace > 0 && byStub > 0)
        XCTAssertTrue(c.logs.contains { $0.contains("\(inPlace) pages put in place through dax (dax0.0") && $0.contains("and \(byStub) left to the restore stub") }, "\(c.logs)")
        return c
    }

    /// SMP A: B saves A's real-mode trampoline first, as the low pages
    /// entry, and the stub puts it back below 1 MiB.
    func testTheTrampolineIsSavedAsLowPagesAndTheStubPutsItBack() throws {
        let b = hibernateKernel(cmdline: KernelA.hibernateCommandLine() + " resume_agent.jump_trampoline=98000-9efff")
        _ = runAgent(b)
        let image = b.devices["/dev/vdb"]!.bytes
        let h = try ImageReader(source: MemoryImage(image)).header
        XCTAssertEqual(h.entries.map(\.type), [.pageMap, .lowPages, .pages], "\(b.logs)")
        XCTAssertEqual(h.entries[1].physicalAddress, 0x9_8000)
        XCTAssertEqual(h.entries[1].rawSize, 7 * 4096)
        let c = bootKernel(image: image)
        _ = runAgent(c)
        let (base, segment, _) = try XCTUnwrap(c.loadedSegments.first, "\(c.logs)")
        let restored = try runRestoreStub(segment: segment, base: base)
        for pfn in KernelA.trampolinePFNs {
            XCTAssertEqual(restored[pfn], KernelA.pattern(pfn), "trampoline page \(pfn)")
        }
        XCTAssertEqual(restored.count, Int(KernelA.savedPages) + KernelA.trampolinePFNs.count)
    }

    func testAFailureAfterPagesWentInPlaceIsANormalBootWithHeldBackMemoryOnline() throws {
        let (_, image) = try savedImage()
        // Whole (1 MiB) memory blocks, so that kmem takes it on the normal boot.
        let (c, dax) = confinedBootKernel(image: image, held: PhysicalRange(start: 0x40_0000, size: 0x40_0000),
                                          memmap: "4M%4M", blockSize: 1 << 20)
        defer { dax.deallocate() }
        c.failing["kexec_load"] = 22
        _ = runAgent(c)
        XCTAssertEqual(try ImageReader(source: c.devices["/dev/vdb"]!).header.state, .valid, "not consumed")
        XCTAssertFalse(c.events.contains("jump"))
        let unmapped = c.events.firstIndex(of: "munmap /dev/dax0.0")
        XCTAssertNotNil(unmapped, "\(c.events)")
        XCTAssertTrue(c.writes.contains { $0 == ("/sys/bus/dax/drivers/kmem/new_id", "dax0.0") }, "handed to kmem: \(c.writes)")
        XCTAssertTrue(c.logs.contains { $0.hasPrefix("decision: boot normally") }, "\(c.logs)")
    }

    func assertRefused(_ c: FakeSystem, _ code: String, file: StaticString = #filePath, line: UInt = #line) throws {
        _ = runAgent(c)
        XCTAssertFalse(c.events.contains { $0.hasPrefix("kexec_load") || $0 == "jump" }, "\(c.events)", file: file, line: line)
        XCTAssertEqual(try ImageReader(source: c.devices["/dev/vdb"]!).header.state, .valid, file: file, line: line)
        XCTAssertTrue(c.logs.contains { $0.hasPrefix("decision: boot normally") && $0.contains(code) }, "\(c.logs)", file: file, line: line)
        XCTAssertTrue(c.memoryStates.allSatisfy { $0 == "online" }, file: file, line: line)
    }

    func testAnotherKernelBuildIsRefused() throws {
        try assertRefused(bootKernel(image: try savedImage().1, buildID: [UInt8](repeating: 7, count: 20)),
                          "saved from build 010c17222d38434e59646f7a85909ba6b1bcc7d2 of 6.1.0-test-amd64, this is build 0707")
    }

    func testAnotherReleaseIsRefused() throws {
        let c = bootKernel(image: try savedImage().1)
        c.unameRelease = "6.1.0-other-amd64"
        try assertRefused(c, "saved from kernel 6.1.0-test-amd64, this is 6.1.0-other-amd64")
    }

    func testAnotherMemoryMapIsRefused() throws {
        try assertRefused(bootKernel(image: try savedImage().1, memoryTop: 128 << 20), "another firmware memory map")
    }

    func testACorruptChunkIsCaughtBeforeAnythingIsLoaded() throws {
        var image = try savedImage().1
        image[4096 + 300] ^= 0xFF // inside the first chunk's stored bytes (the page map)
        let c = bootKernel(image: image)
        _ = runAgent(c)
        XCTAssertFalse(c.events.contains { $0.hasPrefix("kexec_load") || $0 == "jump" }, "\(c.events)")
        XCTAssertTrue(c.logs.contains { $0.contains("chunk") && $0.contains("checksum") }, "\(c.logs)")
        var late = try savedImage().1
        let reader = try ImageReader(source: MemoryImage(late))
        late[Int(reader.header.tableOffset) - 10] ^= 0xFF // the last pages chunk
        let c2 = bootKernel(image: late)
        _ = runAgent(c2)
        XCTAssertFalse(c2.events.contains { $0.hasPrefix("kexec_load") || $0 == "jump" }, "\(c2.events)")
        XCTAssertEqual(try ImageReader(source: c2.devices["/dev/vdb"]!).header.state, .valid)
    }

    func testLockdownIsNamedAndTheBootGoesOn() throws {
        let c = bootKernel(image: try savedImage().1)
        c.files["/sys/kernel/security/lockdown"] = "none [integrity] confidentiality\n"
        c.kexecLoadAvailable = .notPermitted
        try assertRefused(c, "kernel lockdown (integrity) refuses kexec_load")
        // An initramfs rarely mounts securityfs: the command line says it.
        let d = bootKernel(image: try savedImage().1)
        d.files["/proc/cmdline"] = "console=ttyS0 resume=/dev/vdb lockdown=integrity"
        d.kexecLoadAvailable = .notPermitted
        try assertRefused(d, "kernel lockdown (integrity) refuses kexec_load")
    }

    // MARK: Format

    func testAMemoryImageIsNeverReusableAndNeedsFormat12() throws {
        var h = try ImageReader(source: MemoryImage(try savedImage().1)).header
        h.flags = [.reusable]
        XCTAssertThrowsError(try ImageHeader.decode(h.encode())) { XCTAssertTrue("\($0)".contains("never reusable"), "\($0)") }
        h.flags = []
        h.formatMinor = 1
        XCTAssertThrowsError(try ImageHeader.decode(h.encode())) { XCTAssertTrue("\($0)".contains("needs format 1.2"), "\($0)") }
        h.formatMinor = 2
        h.producerRelease = "6.1.0\u{1b}[2J"
        XCTAssertThrowsError(try ImageHeader.decode(h.encode())) {
            XCTAssertEqual("\($0)", "producer release: byte 5 is 0x1b, not printable ASCII")
        }
    }

    /// Honest checksums, a matching map hash, and a range that is not RAM here.
    func testARangeThatIsNotRAMInTheFirmwareMapIsRefused() throws {
        let small = KernelA.firmwareMapHash(top: 4 << 20)
        let line = KernelA.hibernateCommandLine().replacing("resume_agent.jump_memmap=\(String(KernelA.firmwareMapHash(), radix: 16))",
                                                                with: "resume_agent.jump_memmap=\(String(small, radix: 16))")
        let b = hibernateKernel(cmdline: line)
        _ = runAgent(b)
        let c = bootKernel(image: b.devices["/dev/vdb"]!.bytes, memoryTop: 4 << 20)
        try assertRefused(c, "pages 1 range 0x100000-0x4fffff is not RAM in this machine's firmware memory map")
    }

    func testJumpRequestRefusesMalformedParameters() {
        func reason(_ extra: String) -> String? {
            let line = KernelA.hibernateCommandLine() + " " + extra
            if case let .failure(e) = JumpSaveRequest.parse(KernelCommandLine(line)) { return e.text }
            return nil
        }
        XCTAssertNil(reason(""))
        XCTAssertNotNil(reason("resume_agent.jump_ram=100000-1ffffe"))
        XCTAssertNotNil(reason("resume_agent.jump_then=reboot"))
        XCTAssertNotNil(reason("resume_agent.jump_vmcoreinfo=0x1000,ffffffff"))
        XCTAssertNotNil(reason("resume_agent.jump_memmap=zz"))
        XCTAssertNotNil(reason("resume_agent.jump_ram=200000-2fffff,100000-1fffff"))
        XCTAssertNotNil(reason("resume_agent.jump_ram=9f000-1fffff"), "only the trampoline lies in the first MiB")
        XCTAssertEqual(reason("resume_agent.jump_trampoline=98000-1000ff"),
                       "resume_agent.jump_trampoline=98000-1000ff is not a page-aligned START-END range below 1 MiB")
        XCTAssertNotNil(reason("resume_agent.jump_trampoline=98800-9efff"))
        let line = KernelCommandLine(KernelA.hibernateCommandLine() + " resume_agent.jump_trampoline=98000-9efff")
        guard case let .success(request) = JumpSaveRequest.parse(line) else { return XCTFail("\(line)") }
        XCTAssertEqual(request.ranges.first, PageMap.Range(start: 0x9_8000, pages: 7), "the trampoline is saved first")
    }
}

/// Reading a loaded kexec image's pages out of kernel memory.
final class KexecImageListTests: XCTestCase {
    func testTheListGivesEachDestinationPageItsSourcePage() throws {
        // head -> list page at 0x1000: dest 0x40000000, two sources, then
        // an indirection to 0x2000: one more source, done.
        let memory = MemoryImage([UInt8](repeating: 0, count: 0x3000))
        func put(_ at: UInt64, _ values: [UInt64]) {
            for (i, v) in values.enumerated() { withUnsafeBytes(of: v.littleEndian) { try! memory.write($0, at: at + UInt64(i) * 8) } }
        }
        put(0x1000, [0x4000_0000 | 0x1, 0x7000 | 0x8, 0x9000 | 0x8, 0x2000 | 0x2])
        put(0x2000, [0xB000 | 0x8, 0x4])
        let map = try KexecImageList.sources(head: 0x1000 | 0x2) { try memory.read(into: $1, at: $0) }
        XCTAssertEqual(map, [0x4000_0000: 0x7000, 0x4000_1000: 0x9000, 0x4000_2000: 0xB000])
    }

    func testALoopingListIsRefused() {
        let memory = MemoryImage([UInt8](repeating: 0, count: 0x2000))
        withUnsafeBytes(of: UInt64(0x1000 | 0x2).littleEndian) { try! memory.write($0, at: 0x1000) }
        XCTAssertThrowsError(try KexecImageList.sources(head: 0x1000 | 0x2, limit: 1000) { try memory.read(into: $1, at: $0) })
    }
}
