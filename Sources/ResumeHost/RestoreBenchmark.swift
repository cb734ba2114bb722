import ResumeBoot
import ResumeCore
import ResumeSystem
#if canImport(Glibc)
import Glibc
#endif

/// `resume-image bench-restore IMAGE [SINK]`: the agent's restore pipeline
/// (device reads, parallel decode and checks, in-order delivery) streaming
/// an image's entries into a sink file descriptor (default /dev/null, as
/// /dev/snapshot takes a stream), reporting throughput and the process's
/// peak resident memory. For bench/, not for the boot.
public enum RestoreBenchmark {
    public static func main(_ args: [String]) -> Int32 {
        guard let path = args.first, args.count <= 2 else {
            writeStderr("usage: resume-image bench-restore IMAGE [SINK]\n")
            return 2
        }
        let sinkPath = args.count == 2 ? args[1] : "/dev/null"
        let system = LiveSystem(log: KernelLog(prefix: "bench-restore: ", useKmsg: false))
        do {
            let sink = open(sinkPath, O_WRONLY | O_CLOEXEC)
            guard sink >= 0 else { throw SystemError("open", path: sinkPath, errno: errno) }
            defer { close(sink) }
            let start = system.monotonicMilliseconds()
            let reader = try ImageReader(source: try DeviceFile(path: path))
            try reader.requireValidState()
            try reader.checkTable()
            let pool = WorkerPool(threads: WorkerPool.onlineCPUs)
            try reader.forEachChunk(pool: pool) { _, _, raw in
                var done = 0
                while done < raw.count {
                    let n = write(sink, raw.baseAddress! + done, raw.count - done)
                    if n < 0 && errno == EINTR { continue }
                    guard n > 0 else { throw SystemError("write", path: sinkPath, errno: errno) }
                    done += n
                }
            }
            let ms = max(1, system.monotonicMilliseconds() - start)
            let bytes = reader.header.rawTotal
            let hwm = (try? system.readText("/proc/self/status")).flatMap { ProcFields.number("VmHWM", in: $0) }
                .map { "\($0)kB" } ?? "unknown"
            print("restored \(bytes) bytes in \(ms) ms: \(bytes / 1000 / ms) MB/s on \(pool.threadCount) threads, peak memory \(hwm)")
            return 0
        } catch {
            writeStderr("bench-restore: \(error)\n")
            return 1
        }
    }
}
