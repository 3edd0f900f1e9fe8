import Dispatch
import Foundation
import Logging
import TaskQueue

/// Periodic upkeep on a dedicated thread (never on Swift's cooperative pool, since it makes
/// blocking database calls): folds the status count deltas. Every server process runs one;
/// the work is safe to run concurrently.
final class MaintenanceLoop: Sendable {
    private let tasks: TaskStore
    private let interval: Double
    private let logger: Logger
    private let stopRequested = DispatchSemaphore(value: 0)
    private let stopped = DispatchSemaphore(value: 0)

    init(tasks: TaskStore, intervalSeconds: Double, logger: Logger) {
        self.tasks = tasks
        self.interval = intervalSeconds
        self.logger = logger
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "taskdispatch-maintenance"
        thread.start()
    }

    private func run() {
        while stopRequested.wait(timeout: .now() + interval) == .timedOut {
            do {
                try tasks.foldCountDeltas()
            } catch {
                logger.warning("maintenance failed", metadata: ["error": "\(error)"])
            }
        }
        stopped.signal()
    }

    /// Asks the loop to end and waits until it has.
    func stop() {
        stopRequested.signal()
        stopped.wait()
    }
}
