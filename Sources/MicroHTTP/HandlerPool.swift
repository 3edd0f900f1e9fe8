import Dispatch
import Foundation
import Synchronization

/// A fixed set of threads that run request handlers, first come, first served.
///
/// libmicrohttpd binds each connection to the thread that accepted it, and a burst of new
/// connections is often accepted by one thread; a handler that blocks (on the database) there
/// stalls every other connection of that thread while threads next to it sit idle. Handlers
/// run here instead, while their connection is suspended, so any free thread takes the next
/// request, whichever connection it came on.
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
    private let finished = DispatchGroup()
    private let threadCount: Int

    /// Starts `threadCount` threads named `name`.
    init(threadCount: Int, name: String) {
        self.threadCount = max(threadCount, 1)
        for _ in 0..<self.threadCount {
            finished.enter()
            let thread = Thread { [self] in
                run()
                finished.leave()
            }
            thread.name = name
            thread.start()
        }
    }

    /// Queues `job`; a free thread runs it.
    func submit(_ job: @escaping @Sendable () -> Void) {
        jobs.withLock { $0.append(job) }
        queued.signal()
    }

    /// Lets the threads finish the queued jobs, then ends them and waits until they have.
    func shutDown() {
        jobs.withLock { jobs in
            for _ in 0..<threadCount { jobs.append(nil) }
        }
        for _ in 0..<threadCount { queued.signal() }
        finished.wait()
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
