import Dispatch
import class Foundation.Thread
import Logging
import Synchronization

/// A thread that, once a second, cuts off the connections past their ``ConnectionDeadlines``
/// and cancels the parked requests whose clients have hung up (``ParkedConnections``).
///
/// libmicrohttpd has no timer of its own for this, and its worker threads may all be blocked in
/// handlers, so the check runs on a thread of its own. A connection therefore lasts up to a
/// second beyond its deadline, which is precise enough to free slots from slow clients.
final class DeadlineSweeper: Sendable {
    /// `nil` when request deadlines are off.
    private let deadlines: ConnectionDeadlines?
    private let parked: ParkedConnections
    private let logger: Logger
    /// Signalled by ``stop()`` to end the wait early; otherwise it times out once a second.
    private let wakeUp = DispatchSemaphore(value: 0)
    /// Signalled by the thread as it exits, so that ``stop()`` can wait for it.
    private let exited = DispatchSemaphore(value: 0)
    private let stopRequested = Atomic<Bool>(false)

    private static let interval = DispatchTimeInterval.seconds(1)

    /// Starts the sweeping thread; ``stop()`` must be called before the daemon is stopped.
    static func start(deadlines: ConnectionDeadlines?, parked: ParkedConnections, logger: Logger) -> DeadlineSweeper {
        let sweeper = DeadlineSweeper(deadlines: deadlines, parked: parked, logger: logger)
        let thread = Thread { sweeper.run() }
        thread.name = "MicroHTTP deadlines"
        thread.start()
        return sweeper
    }

    private init(deadlines: ConnectionDeadlines?, parked: ParkedConnections, logger: Logger) {
        self.deadlines = deadlines
        self.parked = parked
        self.logger = logger
    }

    /// Ends the thread and waits until it has exited; later calls return at once.
    func stop() {
        guard !stopRequested.exchange(true, ordering: .acquiringAndReleasing) else { return }
        wakeUp.signal()
        exited.wait()
    }

    private func run() {
        defer { exited.signal() }
        while true {
            _ = wakeUp.wait(timeout: .now() + Self.interval)
            if stopRequested.load(ordering: .acquiring) { return }
            for overdue in deadlines?.cutOffOverdue(at: .now) ?? [] {
                log(overdue)
            }
            let hungUp = parked.cancelHungUp()
            if hungUp > 0 {
                logger.debug("parked requests whose client hung up", metadata: ["count": "\(hungUp)"])
            }
        }
    }

    private func log(_ overdue: ConnectionDeadlines.Overdue) {
        var metadata: Logger.Metadata = ["remote.address": "\(overdue.remoteAddress ?? "unknown")"]
        if let id = overdue.requestID {
            metadata["request.id"] = "\(id)"
        }
        if let failure = overdue.failure {
            metadata["error"] = "\(failure)"
        }
        logger.notice("request not received in time, closing the connection", metadata: metadata)
    }
}
