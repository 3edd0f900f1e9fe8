import Postgres

/// What one pass of the lease reaper did.
public struct LeaseSweep: Sendable, Equatable {
    /// Tasks whose worker let the lease expire, back in the queue with their attempt count kept.
    public var requeued: [Int64]
    /// Tasks whose lease expired on their last allowed attempt, now FAILED.
    public var failed: [Int64]
    /// How many of either kind each task type had, for the metrics.
    public var countsByType: [String: Int] = [:]

    public init(requeued: [Int64] = [], failed: [Int64] = []) {
        self.requeued = requeued
        self.failed = failed
    }

    /// Which tasks went where; the counts follow from them.
    public static func == (lhs: LeaseSweep, rhs: LeaseSweep) -> Bool {
        lhs.requeued == rhs.requeued && lhs.failed == rhs.failed
    }

    public var isEmpty: Bool { requeued.isEmpty && failed.isEmpty }
}

extension TaskStore {
    /// The message a task gets when its last allowed attempt's lease expires.
    public static func leaseExhaustedMessage(maxAttempts: Int) -> String {
        "the worker's lease expired on each of \(maxAttempts) attempts"
    }

    /// Returns running tasks whose lease expired to the queue, or fails them once they used
    /// `maxAttempts` claims. One statement: the expired rows are locked with
    /// `FOR UPDATE SKIP LOCKED`, so reapers in several server processes never take the same
    /// task, and a worker reporting at the same moment either wins (its update holds the row
    /// first, and the reaper skips it) or finds the task no longer running and gets 409.
    public func reapExpiredLeases(maxAttempts: Int, limit: Int = 500) throws(StoreError) -> LeaseSweep {
        try withConnectionRetryingDeadlocks { connection in
            let rows = try connection.query(
                """
                WITH expired AS MATERIALIZED (
                    SELECT id FROM tasks
                    WHERE status = \(TaskStatus.running) AND lease_expires_at < now()
                    ORDER BY lease_expires_at
                    LIMIT \(bind: limit)
                    FOR UPDATE SKIP LOCKED
                )
                UPDATE tasks
                SET status = CASE WHEN tasks.attempt - tasks.retry_base >= \(bind: maxAttempts) THEN \(TaskStatus.failed)
                                  ELSE \(TaskStatus.scheduled) END,
                    ended_at = CASE WHEN tasks.attempt - tasks.retry_base >= \(bind: maxAttempts) THEN now() END,
                    error_message = CASE WHEN tasks.attempt - tasks.retry_base >= \(bind: maxAttempts) THEN \(bind: Self.leaseExhaustedMessage(maxAttempts: maxAttempts)) ELSE tasks.error_message END,
                    user_facing_error_message = CASE WHEN tasks.attempt - tasks.retry_base >= \(bind: maxAttempts)
                        THEN 'The task could not be completed.' ELSE tasks.user_facing_error_message END,
                    progress = CASE WHEN tasks.attempt - tasks.retry_base >= \(bind: maxAttempts) THEN tasks.progress END,
                    -- An intermediate output belongs to the attempt that wrote it.
                    output = NULL,
                    lease_expires_at = NULL, claimed_by = NULL, last_updated = now()
                FROM expired
                WHERE tasks.id = expired.id AND tasks.status = \(TaskStatus.running)
                RETURNING tasks.id, tasks.type, tasks.status = \(TaskStatus.failed) AS exhausted
                """)
            var sweep = LeaseSweep()
            for row in rows.rows {
                guard let id = row.int64("id") else { continue }
                sweep.countsByType[row.string("type") ?? "", default: 0] += 1
                if row.bool("exhausted") == true { sweep.failed.append(id) } else { sweep.requeued.append(id) }
            }
            return sweep
        }
    }
}
