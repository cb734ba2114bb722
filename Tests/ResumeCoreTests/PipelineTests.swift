import XCTest
@testable import ResumeCore

final class PipelineTests: XCTestCase {
    func bigImage() throws -> (MemoryImage, [UInt8]) {
        let data = TestImages.bytes(4096 * 100 + 123, seed: 42)
        let image = MemoryImage()
        var header = TestImages.header(.snapshot)
        header.requiredMemoryBytes = 128 << 20
        header.memoryBlockSize = 128 << 20
        var w = ImageWriter(sink: image, header: header)
        var input = BytesInput(data)
        try w.append(.stream, from: &input)
        try w.finish()
        return (image, data)
    }

    func testParallelDecodeDeliversInOrderForAnyBatchAndThreadCount() throws {
        let (image, data) = try bigImage()
        let reader = try ImageReader(source: image)
        try reader.checkTable()
        for threads in [1, 2, 3, 8] {
            let pool = WorkerPool(threads: threads)
            for batch in [1, 7, 16, 200] {
                var out: [UInt8] = []
                var indices: [UInt64] = []
                try reader.forEachChunk(pool: pool, batchChunks: batch) { _, index, raw in
                    out += raw
                    indices.append(index)
                }
                XCTAssertEqual(out, data, "threads \(threads) batch \(batch)")
                XCTAssertEqual(indices, Array(0..<101))
            }
        }
    }

    func testTheFirstBadChunkInOrderIsReportedAndNothingAfterItIsDelivered() throws {
        let (image, _) = try bigImage()
        let reader = try ImageReader(source: image)
        try reader.checkTable()
        // Corrupt chunks 37 and 40 (same batch of 16): 37 is reported.
        var offsets: [UInt64] = []
        try reader.forEachDescriptor { _, d, _ in offsets.append(d.offset) }
        image.bytes[Int(offsets[37]) + 3] ^= 0x10
        image.bytes[Int(offsets[40]) + 3] ^= 0x10
        var delivered: UInt64 = 0
        XCTAssertThrowsError(try reader.forEachChunk(pool: WorkerPool(threads: 4)) { _, index, _ in delivered = index }) {
            XCTAssertEqual($0 as? FormatError, .chunkChecksum(index: 37, which: "stored"))
        }
        XCTAssertEqual(delivered, 36)
    }
}

final class ParallelWriterTests: XCTestCase {
    func testParallelCompressionWritesTheSameBytesAsSerial() throws {
        let data = TestImages.bytes(4096 * 77 + 5, seed: 11)
        func make(_ pool: WorkerPool?, batch: Int) throws -> [UInt8] {
            let image = MemoryImage()
            var header = TestImages.header(.snapshot)
            header.requiredMemoryBytes = 128 << 20
        header.memoryBlockSize = 128 << 20
            var w = ImageWriter(sink: image, header: header, pool: pool, batchChunks: batch)
            var input = BytesInput(data)
            try w.append(.stream, from: &input)
            try w.finish()
            return image.bytes
        }
        let serial = try make(nil, batch: 1)
        for threads in [2, 3] {
            for batch in [1, 4, 16, 100] {
                XCTAssertEqual(try make(WorkerPool(threads: threads), batch: batch), serial, "threads \(threads) batch \(batch)")
            }
        }
    }
}
