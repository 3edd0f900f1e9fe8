import BackgroundThreads
import Glibc
import Logging
import TaskQueue

/// Periodic upkeep on a dedicated thread (never on Swift's cooperative pool, since it makes
/// blocking database calls): returns tasks with expired leases to the queue (or fails them after
/// the maximum attempts), releases delayed tasks whose time has come, deletes finished tasks past
/// their retention (a few small batches per pass), deletes uploads no task used in time, drops
/// finished rate limit windows, forgets old idempotency keys, writes what the ExApps did (the
/// workers view), folds the status count deltas, records each minute's rollup per task type
/// (the dashboard's history; the first process to record a minute wins) and deletes old
/// rollups and expired dashboard sessions. Every server process runs one; both
/// jobs are safe to run concurrently, so with several servers reaping goes on while any is up.
final class MaintenanceLoop: Sendable {
    private let tasks: TaskStore
    private let interval: Duration
    private let maxAttempts: Int
    private let idempotencyRetentionSeconds: Int
    private let retentionSeconds: Int
    private let historyRetentionSeconds: Int
    private let sessions: DashboardSessionStore?
    /// A minute is rolled up this long after it ends, so that results committed late in it count.
    static let rollupDelaySeconds: Int64 = 5
    private let unusedFileRetentionSeconds: Int
    private let rateLimitPeriodSeconds: Int
    /// Called when the reaper failed tasks (their webhooks are owed now).
    private let tasksFailed: @Sendable () -> Void
    /// Told the expired leases by type (metrics).
    private let leasesExpired: @Sendable ([String: Int]) -> Void
    /// This process's waiting long polls per ExApp, written with the workers' activity.
    private let longPollsWaiting: @Sendable () -> [String: Int]
    /// Prepares released tasks whose input names predecessors' outputs (the backstop of the
    /// listener's notice).
    private let resolveInputs: @Sendable () -> Void
    /// Announces the tasks released by the reaper's failures.
    private let announceReleases: @Sendable ([Int64]) -> Void
    /// Cleanup batches per pass: bounded, so a large backlog of old tasks is worked off over
    /// several passes instead of in one long stretch.
    static let cleanupBatchesPerPass = 10
    /// Cleanup (retention, unused uploads, rate limit windows, idempotency keys) runs every this
    /// many passes (a minute at the default interval): nothing waits on it, and an idle server
    /// should cost the database little.
    static let housekeepingEveryPasses = 30
    private let logger: Logger
    /// Starts, sleeps and stops the loop (internal, so tests can see its state).
    let thread = BackgroundThread(name: "taskdispatch-maintenance")

    init(
        tasks: TaskStore, intervalSeconds: Double, maxAttempts: Int, idempotencyRetentionSeconds: Int,
        retentionSeconds: Int, historyRetentionSeconds: Int = 604_800, sessions: DashboardSessionStore? = nil,
        unusedFileRetentionSeconds: Int, rateLimitPeriodSeconds: Int,
        tasksFailed: @escaping @Sendable () -> Void = {}, leasesExpired: @escaping @Sendable ([String: Int]) -> Void = { _ in },
        longPollsWaiting: @escaping @Sendable () -> [String: Int] = { [:] },
        resolveInputs: @escaping @Sendable () -> Void = {},
        announceReleases: @escaping @Sendable ([Int64]) -> Void = { _ in }, logger: Logger
    ) {
        self.resolveInputs = resolveInputs
        self.announceReleases = announceReleases
        self.tasks = tasks
        self.interval = .seconds(intervalSeconds)
        self.maxAttempts = maxAttempts
        self.idempotencyRetentionSeconds = idempotencyRetentionSeconds
        self.retentionSeconds = retentionSeconds
        self.historyRetentionSeconds = historyRetentionSeconds
        self.sessions = sessions
        self.unusedFileRetentionSeconds = unusedFileRetentionSeconds
        self.rateLimitPeriodSeconds = rateLimitPeriodSeconds
        self.tasksFailed = tasksFailed
        self.leasesExpired = leasesExpired
        self.longPollsWaiting = longPollsWaiting
        self.logger = logger
    }

    /// Starts the loop's thread; the first pass runs one interval later. Later calls do nothing.
    func start() {
        thread.start { [self] in run() }
    }

    /// Asks the loop to end and waits until the pass under way has finished; returns at once if
    /// the loop never started or has stopped.
    func stop() {
        thread.stop()
    }

    private func run() {
        var pass = 0
        var lastRollup: Int64?
        while thread.sleep(for: interval) {
            pass += 1
            do {
                // The last minute that ended at least `rollupDelaySeconds` ago, once per process.
                let settled: Int64 = Int64(time(nil)) - Self.rollupDelaySeconds
                let minute: Int64 = settled / 60 * 60 - 60
                if lastRollup != minute {
                    try tasks.recordRollup(minute: minute)
                    lastRollup = minute
                }
                let sweep = try tasks.reapExpiredLeases(maxAttempts: maxAttempts)
                if !sweep.isEmpty {
                    leasesExpired(sweep.countsByType)
                    logger.notice("leases expired", metadata: [
                        "requeued": "\(sweep.requeued)", "failed": "\(sweep.failed)",
                    ])
                    if !sweep.failed.isEmpty {
                        tasksFailed()
                        announceReleases(sweep.failed)
                    }
                }
                try tasks.releaseDueTasks()
                resolveInputs()
                try tasks.flushWorkerActivity(tasks.workerActivity, longPollsWaiting: longPollsWaiting())
                if pass % Self.housekeepingEveryPasses == 1 {
                    if retentionSeconds > 0 {
                        for _ in 0..<Self.cleanupBatchesPerPass {
                            guard try tasks.deleteFinishedTasks(olderThanSeconds: retentionSeconds) > 0 else { break }
                        }
                    }
                    for _ in 0..<Self.cleanupBatchesPerPass {
                        guard try tasks.deleteUnattachedFiles(olderThanSeconds: unusedFileRetentionSeconds) > 0 else { break }
                    }
                    try tasks.expireRateLimitWindows(periodSeconds: rateLimitPeriodSeconds)
                    try tasks.expireIdempotencyKeys(retentionSeconds: idempotencyRetentionSeconds)
                    try tasks.deleteStaleWorkerActivity()
                    try tasks.deleteOldRollups(retentionSeconds: historyRetentionSeconds)
                    try sessions?.deleteExpired()
                }
                try tasks.foldCountDeltas()
            } catch {
                logger.warning("maintenance failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
