import Postgres

/// Counts of tasks by type and status, and the age of the oldest waiting task.
public struct TaskStatistics: Sendable, Equatable {
    /// `counts[type][status]`; absent entries are zero.
    public var counts: [String: [TaskStatus: Int64]]
    /// Per type with waiting tasks, seconds since its oldest scheduled task was scheduled.
    public var oldestScheduledAgeByType: [String: Int64]

    public init(counts: [String: [TaskStatus: Int64]], oldestScheduledAgeByType: [String: Int64]) {
        self.counts = counts
        self.oldestScheduledAgeByType = oldestScheduledAgeByType
    }

    /// Seconds since the oldest scheduled task of any type was scheduled; nil when none waits.
    public var oldestScheduledAgeSeconds: Int64? { oldestScheduledAgeByType.values.max() }

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
    /// Reads the maintained counters (folded totals plus not-yet-folded deltas) and each
    /// type's oldest waiting task through `tasks_type_status_idx`. Cost grows with the number of types, not tasks.
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
            let waiting = counts.filter { ($0.value[.scheduled] ?? 0) > 0 }.keys.sorted()
            return TaskStatistics(counts: counts, oldestScheduledAgeByType: try Self.oldestScheduledAges(types: waiting, on: connection))
        }
    }

    /// Per type, the age of its oldest scheduled task: one probe of `tasks_type_status_idx` per
    /// type (lowest id first: ids are handed out in scheduling order).
    static func oldestScheduledAges(types: [String], on connection: PostgresConnection) throws -> [String: Int64] {
        guard !types.isEmpty else { return [:] }
        let rows = try connection.query("""
            SELECT wanted.type, floor(extract(epoch FROM now() - oldest.scheduled_at))::bigint AS age
            FROM unnest(\(bind: types)::text[]) AS wanted (type)
            CROSS JOIN LATERAL (
                SELECT scheduled_at FROM tasks
                WHERE type = wanted.type AND status = \(TaskStatus.scheduled)
                ORDER BY id
                LIMIT 1
            ) AS oldest
            """).rows
        var ages: [String: Int64] = [:]
        for row in rows {
            if let type = row.string("type"), let age = row.int64("age") { ages[type] = max(age, 0) }
        }
        return ages
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
