import BackgroundThreads
import Dispatch
import Synchronization

/// A fixed set of threads that run request handlers, first come, first served.
///
/// libmicrohttpd binds each connection to the thread that accepted it, and a burst of new
/// connections is often accepted by one thread; a handler that blocks (on the database) there
/// stalls every other connection of that thread while threads next to it sit idle. Handlers
/// run here instead, while their connection is suspended, so any free thread takes the next
/// request, whichever connection it came on.
///
/// The pool owns one ``BackgroundThread`` per thread: starting and stopping follow their rules
/// (nothing runs before ``start()``, a second start adds no threads, a stop before the start
/// returns at once), and the pool adds only what is its own, the queue its threads drain.
final class HandlerPool: Sendable {
    private struct Jobs {
        var waiting: [(@Sendable () -> Void)?] = []
        var head = 0

        mutating func append(_ job: (@Sendable () -> Void)?) { waiting.append(job) }

        mutating func removeFirst() -> (@Sendable () -> Void)? {
            let job = waiting[head]
            waiting[head] = nil
            head += 1
            // Compact once the consumed prefix dominates, so the array does not grow for ever.
            if head >= 1024 && head * 2 >= waiting.count {
                waiting.removeFirst(head)
                head = 0
            }
            return job
        }
    }

    private let jobs = Mutex(Jobs())
    /// One signal per queued job, and one per thread at shutdown.
    private let queued = DispatchSemaphore(value: 0)
    /// The pool's own: each ends on the stop job it takes from the queue, not on its sleep,
    /// so that the jobs queued before the stop still run.
    let threads: [BackgroundThread]

    /// A pool of `threadCount` threads named `name`; none runs until ``start()``.
    init(threadCount: Int, name: String) {
        threads = (0..<max(threadCount, 1)).map { _ in BackgroundThread(name: name) }
    }

    /// Starts the threads; later calls do nothing.
    func start() {
        for thread in threads {
            thread.start { [self] in run() }
        }
    }

    /// Queues `job`; a free thread runs it.
    func submit(_ job: @escaping @Sendable () -> Void) {
        jobs.withLock { $0.append(job) }
        queued.signal()
    }

    /// Lets the threads finish the queued jobs, then ends them and waits until they have.
    /// Returns at once for threads that never started or that another stop waits for.
    func stop() {
        jobs.withLock { jobs in
            for _ in threads { jobs.append(nil) }
        }
        for _ in threads { queued.signal() }
        for thread in threads { thread.stop() }
    }

    private func run() {
        while true {
            queued.wait()
            // A nil job is the signal to stop; every real job queued before it has been taken.
            guard let job = jobs.withLock({ $0.removeFirst() }) else { return }
            job()
        }
    }
}
