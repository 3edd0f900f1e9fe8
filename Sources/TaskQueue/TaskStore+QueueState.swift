import Postgres

/// How many tasks of some types wait and run.
public struct QueueCounts: Sendable, Equatable {
    public var scheduled: Int64
    public var running: Int64

    public init(scheduled: Int64, running: Int64) {
        self.scheduled = scheduled
        self.running = running
    }
}

extension TaskStore {
    /// Whether a task of one of `types` is ready to be claimed. One probe of `tasks_claim_idx`
    /// per type, from its head, as the claim reads it. Rows another claimer holds locked but has
    /// not committed yet still count, so the answer can be a harmless `true` that the next claim
    /// finds empty; it is never a wrong `false` for a task that was ready before the call.
    public func hasReadyTask(types: [String]) throws(StoreError) -> Bool {
        guard !types.isEmpty else { return false }
        return try withConnection { connection in
            try connection.query(Self.hasReadyTaskQuery(types: types)).rows.first?.bool("ready") ?? false
        }
    }

    /// The `ORDER BY` of the claim index keeps the planner on it: with a bare `EXISTS` it may
    /// prefer reading the table from its start, where the finished rows of a draining queue
    /// lie, page after page of them on every probe.
    static func hasReadyTaskQuery(types: [String]) -> PostgresQuery {
        """
        SELECT EXISTS (
            SELECT 1 FROM unnest(\(bind: types)::text[]) AS wanted (type)
            CROSS JOIN LATERAL (
                SELECT 1 FROM tasks
                WHERE status = \(TaskStatus.scheduled) AND run_after IS NULL AND type = wanted.type
                ORDER BY priority DESC, id
                LIMIT 1
            ) AS ready
            WHERE \(fragment: claimableNow)
        ) AS ready
        """
    }

    /// Whether `wanted.type` may be claimed now: not paused, and below its running limit if it
    /// has one. Waiting long polls are woken only for such types, so a paused or full type
    /// does not make them claim in vain.
    static let claimableNow: PostgresQuery = """
        NOT EXISTS (
            SELECT 1 FROM task_type_settings AS setting
            WHERE setting.type = wanted.type AND (setting.paused OR setting.max_running <= (
                SELECT count(*) FROM (
                    SELECT 1 FROM tasks AS running
                    WHERE running.type = wanted.type AND running.status = \(TaskStatus.running)
                    LIMIT setting.max_running
                ) AS counted))
        )
        """

    /// How many tasks of each of `types` are ready to be claimed, counting at most `cap` per
    /// type (so a large backlog costs no more than `cap` index entries per type); types with
    /// none are left out. One statement for all types: the long poll backstop runs it while
    /// requests wait.
    public func readyCounts(types: [String], cap: Int) throws(StoreError) -> [String: Int] {
        guard !types.isEmpty else { return [:] }
        return try withConnection { connection in
            let rows = try connection.query(Self.readyCountsQuery(types: types, cap: cap)).rows
            var counts: [String: Int] = [:]
            for row in rows {
                if let type = row.string("type"), let n = row.int("n"), n > 0 { counts[type] = n }
            }
            return counts
        }
    }

    /// Ordered as the claim index, for the reason given at ``hasReadyTaskQuery(types:)``.
    static func readyCountsQuery(types: [String], cap: Int) -> PostgresQuery {
        """
        SELECT wanted.type, (
            SELECT count(*) FROM (
                SELECT 1 FROM tasks
                WHERE status = \(TaskStatus.scheduled) AND run_after IS NULL AND type = wanted.type
                ORDER BY priority DESC, id
                LIMIT \(bind: cap)
            ) AS capped
        ) AS n
        FROM unnest(\(bind: types)::text[]) AS wanted (type)
        WHERE \(fragment: claimableNow)
        """
    }

    /// Scheduled and running tasks of `types` (all types when empty), from the maintained
    /// counters (folded totals plus pending deltas): the cost grows with the number of types,
    /// never with the number of tasks.
    public func queueCounts(types: [String]) throws(StoreError) -> QueueCounts {
        try withConnection { connection in
            let rows = try connection.query(
                """
                SELECT status, sum(n)::bigint AS n FROM (
                    SELECT type, status, n FROM task_counts
                    UNION ALL
                    SELECT type, status, delta FROM task_count_deltas
                ) AS all_counts
                WHERE status IN (\(TaskStatus.scheduled), \(TaskStatus.running))
                  AND (cardinality(\(bind: types)::text[]) = 0 OR type = ANY(\(bind: types)::text[]))
                GROUP BY status
                """
            ).rows
            var counts = QueueCounts(scheduled: 0, running: 0)
            for row in rows {
                switch row.int("status").flatMap(TaskStatus.init(rawValue:)) {
                case .scheduled: counts.scheduled = row.int64("n") ?? 0
                case .running: counts.running = row.int64("n") ?? 0
                default: break
                }
            }
            return counts
        }
    }
}
