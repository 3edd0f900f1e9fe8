import Dispatch
import Foundation
import Logging
import TaskQueue

/// Periodic upkeep on a dedicated thread (never on Swift's cooperative pool, since it makes
/// blocking database calls): returns tasks with expired leases to the queue (or fails them after
/// the maximum attempts), forgets idempotency keys past their retention, and folds the status
/// count deltas. Every server process runs one; both
/// jobs are safe to run concurrently, so with several servers reaping goes on while any is up.
final class MaintenanceLoop: Sendable {
    private let tasks: TaskStore
    private let interval: Double
    private let maxAttempts: Int
    private let idempotencyRetentionSeconds: Int
    private let logger: Logger
    private let stopRequested = DispatchSemaphore(value: 0)
    private let stopped = DispatchSemaphore(value: 0)

    init(tasks: TaskStore, intervalSeconds: Double, maxAttempts: Int, idempotencyRetentionSeconds: Int, logger: Logger) {
        self.tasks = tasks
        self.interval = intervalSeconds
        self.maxAttempts = maxAttempts
        self.idempotencyRetentionSeconds = idempotencyRetentionSeconds
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
                let sweep = try tasks.reapExpiredLeases(maxAttempts: maxAttempts)
                if !sweep.isEmpty {
                    logger.notice("leases expired", metadata: [
                        "requeued": "\(sweep.requeued)", "failed": "\(sweep.failed)",
                    ])
                }
                try tasks.expireIdempotencyKeys(retentionSeconds: idempotencyRetentionSeconds)
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
