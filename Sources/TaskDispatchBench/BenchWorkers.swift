import Foundation
import Synchronization
import TaskDispatchApp

/// What the worker threads of one measured phase did, together.
struct WorkerOutcome {
    var processed = 0
    var latencies: [Double] = []
    var errors: [String] = []
    /// CPU seconds the worker threads used: the load generator's share of this process. Nil
    /// when the phase's workers did not all run inside it (the parked fleets of rows 5 and 6).
    var cpuSeconds: Double?
}

/// One worker thread's tally; `timed` records each request's duration.
struct WorkerTally {
    var processed = 0
    var latencies: [Double] = []

    mutating func timed<T>(_ body: () throws -> T) rethrows -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { latencies.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1_000_000) }
        return try body()
    }
}

/// Runs `body(index, &tally)` on `count` plain threads at once (blocking libpq and socket calls
/// belong on their own threads, not on Swift's cooperative pool) and merges their tallies.
func runWorkers(_ count: Int, stackSize: Int = 1 << 20, _ body: @escaping @Sendable (Int, inout WorkerTally) throws -> Void) -> WorkerOutcome {
    let outcome = Mutex(WorkerOutcome())
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        let thread = Thread {
            let cpuAtStart = threadCPUSeconds()
            var tally = WorkerTally()
            var failure: String?
            do { try body(index, &tally) } catch { failure = "\(error)" }
            let finished = tally
            let cpu = threadCPUSeconds() - cpuAtStart
            outcome.withLock { outcome in
                outcome.cpuSeconds = (outcome.cpuSeconds ?? 0) + cpu
                outcome.processed += finished.processed
                outcome.latencies += finished.latencies
                if let failure { outcome.errors.append(failure) }
            }
            group.leave()
        }
        thread.stackSize = stackSize
        thread.start()
    }
    group.wait()
    return outcome.withLock { $0 }
}

/// CPU seconds (user + system) the calling thread has used.
func threadCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1_000_000_000
}

/// A shared countdown: workers take units until none is left.
final class WorkPool: Sendable {
    private let remaining: Atomic<Int>

    init(_ units: Int) { remaining = Atomic(units) }

    /// Takes up to `count` units; 0 when the pool is empty.
    func take(_ count: Int = 1) -> Int {
        while true {
            let left = remaining.load(ordering: .relaxed)
            guard left > 0 else { return 0 }
            let taken = min(count, left)
            if remaining.compareExchange(expected: left, desired: left - taken, ordering: .relaxed).exchanged { return taken }
        }
    }
}

struct BenchFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
