import Postgres

/// One claim of a task and how it ended, from its attempt history.
public struct TaskAttempt: Sendable, Equatable {
    /// How an attempt ended; `running` for the current one.
    public enum Outcome: String, Sendable, CaseIterable {
        case running
        case succeeded
        case failed
        /// A retryable failure: the task went back to the queue after a backoff.
        case retried
        /// The worker stopped reporting: the reaper requeued or failed the task.
        case leaseExpired = "lease_expired"
        case cancelled
    }

    public var attempt: Int
    public var exAppID: String?
    public var providerID: String?
    /// Unix seconds.
    public var claimedAt: Int64?
    public var endedAt: Int64?
    public var outcome: Outcome
    public var errorMessage: String?
}

extension TaskStore {
    /// The attempt history of a task, first attempt first: the recorded attempts (those that
    /// did not end the task, and final attempts an operator reopened), then the attempt that
    /// ended the task or is running, read off the task's own row.
    public func attempts(taskID: Int64) throws(StoreError) -> [TaskAttempt] {
        try withConnection { connection in
            try connection.query(
                """
                SELECT attempt, ex_app_id, provider_id, floor(extract(epoch FROM claimed_at))::bigint AS claimed_at,
                       floor(extract(epoch FROM ended_at))::bigint AS ended_at, outcome, error_message
                FROM task_attempts WHERE task_id = \(bind: taskID)
                UNION ALL
                SELECT attempt, claimed_by, claimed_provider, floor(extract(epoch FROM started_at))::bigint,
                       floor(extract(epoch FROM ended_at))::bigint, \(fragment: Self.attemptOutcome), error_message
                FROM tasks
                WHERE id = \(bind: taskID) AND attempt > 0
                    AND status IN (\(TaskStatus.running), \(TaskStatus.successful), \(TaskStatus.failed), \(TaskStatus.cancelled))
                    AND NOT EXISTS (
                        SELECT 1 FROM task_attempts WHERE task_id = tasks.id AND task_attempts.attempt = tasks.attempt)
                ORDER BY attempt
                """
            ).rows.map { row throws(StoreError) in
                guard let attempt = row.int("attempt"), let outcome = row.string("outcome").flatMap(TaskAttempt.Outcome.init)
                else { throw StoreError.corruptRow("an attempt row lacks its number or outcome") }
                return TaskAttempt(
                    attempt: attempt, exAppID: row.string("ex_app_id"), providerID: row.string("provider_id"),
                    claimedAt: row.int64("claimed_at"), endedAt: row.int64("ended_at"), outcome: outcome,
                    errorMessage: row.string("error_message"))
            }
        }
    }

    /// How the last attempt of a task in its current status went (running, or how it ended).
    static let attemptOutcome: PostgresQuery = """
        CASE tasks.status WHEN \(TaskStatus.running) THEN 'running' WHEN \(TaskStatus.successful) THEN 'succeeded'
                          WHEN \(TaskStatus.failed) THEN 'failed' ELSE 'cancelled' END
        """
}
