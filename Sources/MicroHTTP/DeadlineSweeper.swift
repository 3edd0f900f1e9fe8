import BackgroundThreads
import Logging

/// A thread that, once a second, cuts off the connections past their deadlines (``ConnectionRegistry``)
/// and cancels the parked requests whose clients have hung up (``ParkedConnections``).
///
/// libmicrohttpd has no timer of its own for this, and its worker threads may all be blocked in
/// handlers, so the check runs on a thread of its own. A connection therefore lasts up to a
/// second beyond its deadline, which is precise enough to free slots from slow clients.
final class DeadlineSweeper: Sendable {
    private let daemon: DaemonContext
    /// Starts, sleeps and stops the loop (internal, so tests can see its state).
    let thread = BackgroundThread(name: "MicroHTTP deadlines")

    private static let interval = Duration.seconds(1)

    /// A sweeper for `daemon`; nothing runs until ``start()``.
    init(daemon: DaemonContext) {
        self.daemon = daemon
    }

    /// Starts the sweeping thread; ``stop()`` must be called before the daemon is stopped.
    /// Later calls do nothing.
    func start() {
        thread.start { [self] in run() }
    }

    /// Ends the thread and waits until it has exited; returns at once if it never started or
    /// another stop came first.
    func stop() {
        thread.stop()
    }

    private func run() {
        while thread.sleep(for: Self.interval) {
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
