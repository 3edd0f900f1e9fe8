import Dispatch
import class Foundation.Thread
import Logging
import Synchronization

/// A thread that, once a second, cuts off the connections past their deadlines (``ConnectionRegistry``)
/// and cancels the parked requests whose clients have hung up (``ParkedConnections``).
///
/// libmicrohttpd has no timer of its own for this, and its worker threads may all be blocked in
/// handlers, so the check runs on a thread of its own. A connection therefore lasts up to a
/// second beyond its deadline, which is precise enough to free slots from slow clients.
final class DeadlineSweeper: Sendable {
    private let daemon: DaemonContext
    /// Signalled by ``stop()`` to end the wait early; otherwise it times out once a second.
    private let wakeUp = DispatchSemaphore(value: 0)
    /// Signalled by the thread as it exits, so that ``stop()`` can wait for it.
    private let exited = DispatchSemaphore(value: 0)
    private let stopRequested = Atomic<Bool>(false)

    private static let interval = DispatchTimeInterval.seconds(1)

    /// Starts the sweeping thread; ``stop()`` must be called before the daemon is stopped.
    static func start(daemon: DaemonContext) -> DeadlineSweeper {
        let sweeper = DeadlineSweeper(daemon: daemon)
        let thread = Thread { sweeper.run() }
        thread.name = "MicroHTTP deadlines"
        thread.start()
        return sweeper
    }

    private init(daemon: DaemonContext) {
        self.daemon = daemon
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
            for overdue in daemon.connections.cutOffOverdue(at: .now) {
                daemon.logClosed(overdue)
            }
            let hungUp = daemon.parked.cancelHungUp()
            if hungUp > 0 {
                daemon.logger.debug("parked requests whose client hung up", metadata: ["count": "\(hungUp)"])
            }
        }
    }
}
