import ResumeCore

/// Who writes each chunk of a memory image: the boot kernel C itself, while
/// it still runs, or the restore stub, after C has stopped.
///
/// C runs confined to its low memory; the rest of the machine's RAM is held
/// back (soft reserved) and reachable through device-dax mappings. A's pages
/// that lie there can be decoded straight into place by C, on every CPU,
/// before the jump: nothing of C lives there. A's pages in C's own memory
/// can only be written once C has stopped, by the stub. So:
///
///   inPlace  every page of the chunk is in held-back memory: C decodes it
///            there (and checks it as it decodes)
///   stub     no page is: the stub gets the chunk as it is stored
///   split    some are: C decodes it once, puts those pages in place, and
///            hands the stub the other pages uncompressed
///
/// The stub's map is A's map without the pages C put in place, so the stub
/// writes exactly the pages of its chunks and nothing else.
struct RestorePlan {
    enum Route: Equatable { case inPlace, stub, split }

    /// Per chunk of the `pages` entries, in image order.
    struct Chunk: Equatable {
        var route: Route
        /// The map bit of the chunk's first page.
        var firstBit: UInt64
        /// Of its pages, how many go to the stub.
        var stubPages: UInt32
    }

    let map: PageMap
    let chunks: [Chunk]
    /// A's map without the pages put in place by C.
    let stubMap: PageMap
    /// Per range, the chunks the stub gets.
    let stubChunks: [UInt64]
    let inPlacePages: UInt64
    let stubPages: UInt64

    /// `chunkPages[r]` lists the pages of each chunk of range `r` (raw size
    /// over the page size); `heldBack` is the memory C can write in place.
    init(map: PageMap, chunkPages: [[UInt32]], heldBack: [PhysicalRange]) throws(FormatError) {
        self.map = map
        var stub = map
        var out: [Chunk] = []
        var perRange: [UInt64] = []
        var inPlace: UInt64 = 0, toStub: UInt64 = 0
        let page = ImageHeader.pageSize
        for (r, range) in map.ranges.enumerated() {
            let first = map.firstBit[r]
            var k: UInt64 = 0, stubCount: UInt64 = 0
            for n in chunkPages[r] {
                while k < range.pages, !map.isSaved(first + k) { k += 1 }
                var chunk = Chunk(route: .stub, firstBit: first + k, stubPages: 0)
                var held: UInt32 = 0
                for _ in 0..<n {
                    while k < range.pages, !map.isSaved(first + k) { k += 1 }
                    guard k < range.pages else {
                        throw .field("pages \(r + 1)", "its chunks hold more pages than the page map saves in that range")
                    }
                    let address = range.start + k * page
                    if heldBack.contains(where: { $0.contains(PhysicalRange(start: address, size: page)) }) {
                        held += 1
                        stub.markFree(first + k)
                    }
                    k += 1
                }
                chunk.stubPages = n - held
                chunk.route = held == 0 ? .stub : held == n ? .inPlace : .split
                if chunk.stubPages > 0 { stubCount += 1 }
                inPlace += UInt64(held)
                toStub += UInt64(chunk.stubPages)
                out.append(chunk)
            }
            perRange.append(stubCount)
        }
        chunks = out
        stubMap = stub
        stubChunks = perRange
        inPlacePages = inPlace
        stubPages = toStub
    }

    /// The physical address of each page of chunk `c`, in order, calling
    /// `body(pageIndexInChunk, address)`.
    func forEachPage(of c: Int, count: UInt32, _ body: (Int, UInt64) -> Void) {
        var bit = chunks[c].firstBit
        var r = 0
        while r + 1 < map.ranges.count, bit >= map.firstBit[r + 1] { r += 1 }
        var done = 0
        while done < Int(count), r < map.ranges.count {
            let end = map.firstBit[r] + map.ranges[r].pages
            while bit < end, done < Int(count) {
                if map.isSaved(bit) {
                    body(done, map.ranges[r].start + (bit - map.firstBit[r]) * ImageHeader.pageSize)
                    done += 1
                }
                bit += 1
            }
            r += 1
        }
    }
}
