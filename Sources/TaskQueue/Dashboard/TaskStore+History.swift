import Postgres

/// One task type's counts over one step of the history.
public struct TaskHistoryPoint: Sendable, Equatable {
    /// Unix seconds: the step's first minute.
    public var time: Int64
    /// The most tasks scheduled (waiting to be claimed) and running at the end of a minute of the step.
    public var scheduled: Int64
    public var running: Int64
    /// Tasks that finished in the step.
    public var succeeded: Int64
    public var failed: Int64
    public var cancelled: Int64
}

/// The history of one task type: its steps that counted anything, oldest first.
public struct TaskTypeHistory: Sendable, Equatable {
    public var type: String
    public var points: [TaskHistoryPoint]
}

extension TaskStore {
    /// Records the rollup of the minute starting at `minute` (Unix seconds, a multiple of 60):
    /// per type, the tasks scheduled and running now (from the maintained counts, the minute
    /// having just ended) and those that finished in it (through `tasks_cleanup_idx`, as the
    /// statistics window reads them). The first process to record a minute wins; the others'
    /// statements find the minute there and count nothing. Returns the rows written.
    @discardableResult
    public func recordRollup(minute: Int64) throws(StoreError) -> Int {
        try withConnection { connection in
            try connection.query(
                """
                WITH counts AS (
                    SELECT type, sum(n) FILTER (WHERE status = \(TaskStatus.scheduled)) AS scheduled,
                           sum(n) FILTER (WHERE status = \(TaskStatus.running)) AS running
                    FROM (SELECT type, status, n FROM task_counts
                          UNION ALL SELECT type, status, delta FROM task_count_deltas) AS all_counts
                    WHERE status IN (\(TaskStatus.scheduled), \(TaskStatus.running))
                    GROUP BY type
                ), ended AS (
                    SELECT type, count(*) FILTER (WHERE status = \(TaskStatus.successful)) AS succeeded,
                           count(*) FILTER (WHERE status = \(TaskStatus.failed)) AS failed,
                           count(*) FILTER (WHERE status = \(TaskStatus.cancelled)) AS cancelled
                    FROM tasks
                    WHERE status BETWEEN \(TaskStatus.successful) AND \(TaskStatus.cancelled) AND allow_cleanup
                      AND last_updated >= to_timestamp(\(bind: minute))
                      AND ended_at >= to_timestamp(\(bind: minute)) AND ended_at < to_timestamp(\(bind: minute + 60))
                    GROUP BY type
                ), rollup AS (
                    SELECT coalesce(counts.type, ended.type) AS type, coalesce(counts.scheduled, 0) AS scheduled,
                           coalesce(counts.running, 0) AS running, coalesce(ended.succeeded, 0) AS succeeded,
                           coalesce(ended.failed, 0) AS failed, coalesce(ended.cancelled, 0) AS cancelled
                    FROM counts FULL JOIN ended ON ended.type = counts.type
                    WHERE NOT EXISTS (SELECT 1 FROM task_rollups WHERE minute = to_timestamp(\(bind: minute)))
                )
                INSERT INTO task_rollups (minute, type, scheduled, running, succeeded, failed, cancelled)
                SELECT to_timestamp(\(bind: minute)), type, scheduled, running, succeeded, failed, cancelled FROM rollup
                WHERE scheduled + running + succeeded + failed + cancelled > 0
                ON CONFLICT DO NOTHING
                """
            ).affectedRows
        }
    }

    /// The rollups of the last `seconds`, per type, in steps of `stepSeconds` (a multiple of
    /// 60): scheduled and running are the most of any minute of a step, the finished counts
    /// its sums. Steps without a row are left out (nothing was counted, or no server was up).
    public func history(seconds: Int, stepSeconds: Int) throws(StoreError) -> [TaskTypeHistory] {
        try withConnection { connection in
            let rows = try connection.query(
                """
                SELECT type, (floor(extract(epoch FROM minute) / \(bind: stepSeconds)) * \(bind: stepSeconds))::bigint AS step,
                       max(scheduled) AS scheduled, max(running) AS running, sum(succeeded)::bigint AS succeeded,
                       sum(failed)::bigint AS failed, sum(cancelled)::bigint AS cancelled
                FROM task_rollups
                WHERE minute >= now() - make_interval(secs => \(bind: seconds))
                GROUP BY type, step
                ORDER BY type, step
                """
            ).rows
            var histories: [TaskTypeHistory] = []
            for row in rows {
                guard let type = row.string("type"), let time = row.int64("step") else { continue }
                let point = TaskHistoryPoint(
                    time: time, scheduled: row.int64("scheduled") ?? 0, running: row.int64("running") ?? 0,
                    succeeded: row.int64("succeeded") ?? 0, failed: row.int64("failed") ?? 0,
                    cancelled: row.int64("cancelled") ?? 0)
                if histories.last?.type == type {
                    histories[histories.count - 1].points.append(point)
                } else {
                    histories.append(TaskTypeHistory(type: type, points: [point]))
                }
            }
            return histories
        }
    }

    /// Deletes rollups older than `retentionSeconds`; returns how many.
    @discardableResult
    public func deleteOldRollups(retentionSeconds: Int) throws(StoreError) -> Int {
        try withConnection { connection in
            try connection.query(
                "DELETE FROM task_rollups WHERE minute < now() - make_interval(secs => \(bind: retentionSeconds))"
            ).affectedRows
        }
    }
}
