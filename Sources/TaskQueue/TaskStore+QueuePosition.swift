import Postgres

/// Where a waiting task stands in the order workers claim its type.
public struct QueuePosition: Sendable, Equatable {
    /// 1 for the task a worker of its type claims next; 0 for a task that is not waiting to be
    /// claimed (running, finished, delayed, or waiting for its dependencies).
    public var position: Int64
    /// False when the position is estimated: more than ``TaskStore/queuePositionCountLimit``
    /// tasks are ahead of it.
    public var exact: Bool
}

extension TaskStore {
    /// The most tasks counted on either side of a task; past it the position is estimated.
    public static let queuePositionCountLimit = 10_000

    /// The queue position of task `id` if `owner` owns it, in the claim's order: the claimable
    /// tasks of its type with a higher priority, then those of its priority with a lower id,
    /// plus one. Counted on `tasks_claim_idx` as index ranges that stop at
    /// ``queuePositionCountLimit`` rows each, so the cost does not grow with the queue. With
    /// more ahead than that it is estimated from the type's maintained count of scheduled tasks
    /// N: N minus those behind when fewer than the limit are behind (exact but for delayed
    /// tasks, which N counts too); deeper in a longer queue, the task's place between the
    /// oldest and newest id of its priority, scaled to the tasks of that priority.
    public func queuePosition(id: Int64, owner: TaskOwner) throws(StoreError) -> QueuePosition? {
        try withConnection { connection in
            guard
                let task = try connection.query(
                    """
                    SELECT type, priority, status = \(TaskStatus.scheduled) AND run_after IS NULL AS claimable
                    FROM tasks WHERE id = \(bind: id) AND \(fragment: owner.condition())
                    """
                ).rows.first
            else { return nil }
            guard task.bool("claimable") == true, let type = task.string("type"), let priority = task.int("priority") else {
                return QueuePosition(position: 0, exact: true)
            }
            let limit = Self.queuePositionCountLimit
            let count = { (range: PostgresQuery) throws -> Int64 in
                try Self.count(range, type: type, limit: limit, on: connection)
            }
            let higher = try count("priority > \(bind: priority)")
            let olderSame = try count("priority = \(bind: priority) AND id < \(bind: id)")
            if higher + olderSame < limit { return QueuePosition(position: higher + olderSame + 1, exact: true) }
            let lower = try count("priority < \(bind: priority)")
            let newerSame = try count("priority = \(bind: priority) AND id > \(bind: id)")
            let scheduled = try connection.query(
                """
                SELECT coalesce(sum(n), 0)::bigint AS n FROM (
                    SELECT n FROM task_counts WHERE type = \(bind: type) AND status = \(TaskStatus.scheduled)
                    UNION ALL
                    SELECT delta FROM task_count_deltas WHERE type = \(bind: type) AND status = \(TaskStatus.scheduled)
                ) AS counts
                """
            ).rows.first?.int64("n") ?? 0
            let lastPossible = max(Int64(limit) + 1, scheduled - lower - newerSame)
            if lower + newerSame < limit { return QueuePosition(position: lastPossible, exact: false) }
            // Both sides past the limit: interpolate by id within the task's priority.
            let span = try connection.query(
                """
                SELECT min(id) AS first, max(id) AS last FROM tasks
                WHERE type = \(bind: type) AND status = \(TaskStatus.scheduled) AND run_after IS NULL
                  AND priority = \(bind: priority)
                """
            ).rows.first
            let first = span?.int64("first") ?? id
            let last = span?.int64("last") ?? id
            let samePriority = max(0, scheduled - higher - lower)
            let fraction = last > first ? Double(id - first) / Double(last - first) : 0
            let estimate = higher + Int64((fraction * Double(max(samePriority - 1, 0))).rounded()) + 1
            return QueuePosition(position: min(max(estimate, Int64(limit) + 1), lastPossible), exact: false)
        }
    }

    /// The claimable tasks of `type` in one range of the claim index, counted up to `limit`.
    private static func count(_ range: PostgresQuery, type: String, limit: Int, on connection: PostgresConnection) throws -> Int64 {
        try connection.query(
            """
            SELECT count(*)::bigint AS n FROM (
                SELECT 1 FROM tasks
                WHERE type = \(bind: type) AND status = \(TaskStatus.scheduled) AND run_after IS NULL AND \(fragment: range)
                LIMIT \(bind: limit)
            ) AS counted
            """
        ).rows.first?.int64("n") ?? 0
    }
}
