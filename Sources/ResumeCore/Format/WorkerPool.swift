#if canImport(Glibc)
import Glibc
#endif

/// A fixed set of pthreads that run one parallel loop at a time, with the
/// calling thread taking part. pthreads, not Dispatch or Swift tasks: the
/// agent is a static PID-1-safe binary, and this is all it needs.
/// Threads are started once and live as long as the pool.
public final class WorkerPool: @unchecked Sendable {
    public let threadCount: Int
    private var mutex = pthread_mutex_t()
    private var wake = pthread_cond_t()
    private var finished = pthread_cond_t()
    private var threads: [pthread_t] = []
    // The current loop, guarded by `mutex`.
    private var body: ((Int) -> Void)?
    private var count = 0
    private var next = 0
    private var done = 0
    private var stopping = false

    /// `threads` counts the caller: 1 runs everything on the caller.
    public init(threads: Int) {
        threadCount = max(1, threads)
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&wake, nil)
        pthread_cond_init(&finished, nil)
        for _ in 1..<threadCount {
            var thread = pthread_t()
            let context = Unmanaged.passUnretained(self).toOpaque()
            if pthread_create(&thread, nil, { context in
                Unmanaged<WorkerPool>.fromOpaque(context!).takeUnretainedValue().workerLoop()
                return nil
            }, context) == 0 {
                self.threads.append(thread)
            }
        }
    }

    /// The online CPU count (sysconf), at least 1.
    public static var onlineCPUs: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    deinit {
        pthread_mutex_lock(&mutex)
        stopping = true
        pthread_cond_broadcast(&wake)
        pthread_mutex_unlock(&mutex)
        for thread in threads { pthread_join(thread, nil) }
        pthread_cond_destroy(&wake)
        pthread_cond_destroy(&finished)
        pthread_mutex_destroy(&mutex)
    }

    /// Runs `body(0..<count)` across the pool and returns when all are done.
    /// Bodies must touch disjoint state.
    /// (`body` escapes: a worker may drop its reference to it just after
    /// the loop ends.)
    public func parallelFor(_ count: Int, _ body: @escaping (Int) -> Void) {
        guard count > 0 else { return }
        if threads.isEmpty || count == 1 {
            for i in 0..<count { body(i) }
            return
        }
        pthread_mutex_lock(&mutex)
        self.body = body
        self.count = count
        next = 0
        done = 0
        pthread_cond_broadcast(&wake)
        pthread_mutex_unlock(&mutex)
        runItems()
        pthread_mutex_lock(&mutex)
        while done < count { pthread_cond_wait(&finished, &mutex) }
        self.body = nil
        pthread_mutex_unlock(&mutex)
    }

    /// Takes items of the current loop until none are left.
    private func runItems() {
        while true {
            pthread_mutex_lock(&mutex)
            guard let body, next < count else {
                pthread_mutex_unlock(&mutex)
                return
            }
            let i = next
            next += 1
            pthread_mutex_unlock(&mutex)
            body(i)
            pthread_mutex_lock(&mutex)
            done += 1
            if done == count { pthread_cond_signal(&finished) }
            pthread_mutex_unlock(&mutex)
        }
    }

    /// Sleeps until a loop has items left (or the pool stops), then helps.
    private func workerLoop() {
        while true {
            pthread_mutex_lock(&mutex)
            while !stopping && (body == nil || next >= count) { pthread_cond_wait(&wake, &mutex) }
            let stop = stopping
            pthread_mutex_unlock(&mutex)
            if stop { return }
            runItems()
        }
    }
}

/// How many bytes the decode and encode pipelines may hold in chunk
/// buffers: bytes in flight, not chunks, so memory does not grow with the
/// header's chunk size (4 MiB chunks used to mean 128 MiB of buffers).
public enum PipelineBudget {
    /// Stored plus raw buffers of one pipeline, at most.
    public static let maxBufferBytes = 16 << 20

    /// The chunks per batch for `chunkSize`: at most `requested`, at least
    /// one, and two buffers of a batch within `maxBufferBytes`.
    public static func batchChunks(chunkSize: UInt32, requested: Int) -> Int {
        max(1, min(requested, maxBufferBytes / (2 * max(1, Int(chunkSize)))))
    }

    /// Test hook: the pipeline buffer bytes allocated right now and the
    /// most ever allocated at once in this process.
    public static var current: Int { lock.withLock { counters.current } }
    public static var peak: Int { lock.withLock { counters.peak } }
    public static func resetPeak() { lock.withLock { counters.peak = counters.current } }

    static func record(bytes: Int) {
        lock.withLock {
            counters.current += bytes
            counters.peak = max(counters.peak, counters.current)
        }
    }

    private nonisolated(unsafe) static var counters = (current: 0, peak: 0)
    private static let lock = PthreadLock()
}

/// A pthread mutex for a few counters.
final class PthreadLock: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }
    func withLock<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body()
    }
}
