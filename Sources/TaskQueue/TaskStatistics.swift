import Postgres

/// Counts of tasks by type and status, and the age of the oldest waiting task.
public struct TaskStatistics: Sendable, Equatable {
    /// `counts[type][status]`; absent entries are zero.
    public var counts: [String: [TaskStatus: Int64]]
    /// Seconds since the oldest scheduled task was scheduled; nil when none waits.
    public var oldestScheduledAgeSeconds: Int64?

    public init(counts: [String: [TaskStatus: Int64]], oldestScheduledAgeSeconds: Int64?) {
        self.counts = counts
        self.oldestScheduledAgeSeconds = oldestScheduledAgeSeconds
    }

    /// Totals per status over all types.
    public var totals: [TaskStatus: Int64] {
        var totals: [TaskStatus: Int64] = [:]
        for byStatus in counts.values {
            for (status, n) in byStatus { totals[status, default: 0] += n }
        }
        return totals
    }
}

extension TaskStore {
    /// Reads the maintained counters (folded totals plus not-yet-folded deltas) and the oldest
    /// waiting task through its partial index. Cost grows with the number of types, not tasks.
    public func statistics() throws(StoreError) -> TaskStatistics {
        try withConnection { connection in
            let rows = try connection.query("""
                SELECT type, status, sum(n)::bigint AS n FROM (
                    SELECT type, status, n FROM task_counts
                    UNION ALL
                    SELECT type, status, delta FROM task_count_deltas
                ) AS all_counts
                GROUP BY type, status
                HAVING sum(n) <> 0
                """).rows
            var counts: [String: [TaskStatus: Int64]] = [:]
            for row in rows {
                guard let type = row.string("type"), let code = row.int("status"), let n = row.int64("n") else { continue }
                counts[type, default: [:]][TaskStatus(rawValue: code) ?? .unknown, default: 0] += n
            }
            let oldest = try connection.query("""
                SELECT floor(extract(epoch FROM now() - min(scheduled_at)))::bigint AS age
                FROM tasks WHERE status = \(TaskStatus.scheduled.rawValue)
                """)
            return TaskStatistics(counts: counts, oldestScheduledAgeSeconds: oldest.rows.first?.int64("age"))
        }
    }

    /// Folds the appended count deltas into the totals. Run periodically by every server; safe
    /// concurrently (each delta row is deleted, and so counted, by exactly one run).
    public func foldCountDeltas() throws(StoreError) {
        try withConnection { connection in
            _ = try connection.query("""
                WITH moved AS (
                    DELETE FROM task_count_deltas RETURNING type, status, delta
                ), summed AS (
                    SELECT type, status, sum(delta) AS n FROM moved GROUP BY type, status
                )
                INSERT INTO task_counts AS totals (type, status, n)
                SELECT type, status, n FROM summed
                ON CONFLICT (type, status) DO UPDATE SET n = totals.n + EXCLUDED.n
                """)
        }
    }
}
