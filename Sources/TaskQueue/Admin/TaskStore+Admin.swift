import Postgres

/// How one of an operator's actions on a task ended.
public enum TaskActionOutcome: Sendable {
    case changed(TaskRecord)
    /// The task is in a state the action does not apply to; nothing changed.
    case conflict(TaskRecord)
    case notFound
}

extension TaskStore {
    /// Tasks matching `filter`, newest first, at most `limit`, only those with an id below
    /// `beforeID` (keyset pagination: pass the last id of the previous page).
    public func tasks(matching filter: TaskFilter, limit: Int, beforeID: Int64?) throws(StoreError) -> [TaskRecord] {
        try withConnection { connection in
            try connection.query(
                Self.matchingQuery(filter, statusesWithin: nil, beforeID: beforeID, limit: limit,
                                   columns: TaskColumns.tasks)
            ).rows.map(TaskColumns.decode)
        }
    }

    /// Matching rows newest first, `columns` of them.
    ///
    /// With types or statuses given, one probe of `tasks_type_status_idx` per (type, status),
    /// each reading at most `limit` entries in id order, merged: no filter on type or status
    /// ever walks the table. Without any (all types, all statuses) the primary key is walked
    /// backwards. The other filters narrow what those scans read; `userID` alone is served by
    /// `tasks_owner_idx`.
    static func matchingQuery(
        _ filter: TaskFilter, statusesWithin allowed: [TaskStatus]?, beforeID: Int64?, limit: Int, columns: String
    ) -> PostgresQuery {
        let before = beforeID ?? Int64.max
        let statuses = filter.statuses(within: allowed)
        guard !filter.types.isEmpty || !filter.statuses.isEmpty || allowed != nil else {
            return """
                SELECT \(unescaped: columns) FROM tasks
                WHERE tasks.id < \(bind: before) AND \(fragment: filter.otherConditions)
                ORDER BY tasks.id DESC
                LIMIT \(bind: limit)
                """
        }
        let types: PostgresQuery = filter.types.isEmpty
            ? "SELECT type FROM task_counts UNION SELECT type FROM task_count_deltas"
            : "SELECT unnest(\(bind: filter.types)::text[])"
        return """
            SELECT \(unescaped: columns)
            FROM (\(fragment: types)) AS wanted (type)
            CROSS JOIN unnest(\(bind: statuses.map(\.rawValue))::smallint[]) AS wanted_status (status)
            CROSS JOIN LATERAL (
                SELECT * FROM tasks
                WHERE tasks.type = wanted.type AND tasks.status = wanted_status.status
                    AND tasks.id < \(bind: before) AND \(fragment: filter.otherConditions)
                ORDER BY tasks.id DESC
                LIMIT \(bind: limit)
            ) AS tasks
            ORDER BY tasks.id DESC
            LIMIT \(bind: limit)
            """
    }

    /// How many tasks match `filter` among those in `allowed` statuses (all when nil).
    public func countTasks(matching filter: TaskFilter, statusesWithin allowed: [TaskStatus]?) throws(StoreError) -> Int64 {
        try withConnection { connection in
            let query = Self.matchingQuery(filter, statusesWithin: allowed, beforeID: nil, limit: Int.max, columns: "tasks.id")
            return try connection.query("SELECT count(*) AS n FROM (\(fragment: query)) AS matching").rows.first?.int64("n") ?? 0
        }
    }

    /// Puts a FAILED or CANCELLED task back in the queue: SCHEDULED, no output, error or
    /// claim, with a fresh allowance of attempts (`retry_base`); its attempt numbers and
    /// history keep counting.
    public func retry(id: Int64) throws(StoreError) -> TaskActionOutcome {
        try act(on: id, from: [.failed, .cancelled], update: Self.retryAssignments)
    }

    /// Cancels a SCHEDULED or RUNNING task, whoever owns it.
    public func cancel(id: Int64) throws(StoreError) -> TaskActionOutcome {
        try act(on: id, from: [.scheduled, .running], update: Self.cancelAssignments)
    }

    /// Retries (or cancels) every task matching `filter`, `batchSize` at a time, each batch its
    /// own transaction so that no lock is held long; returns how many changed.
    public func retryAll(matching filter: TaskFilter, batchSize: Int = 1000) throws(StoreError) -> Int64 {
        try actOnAll(matching: filter, from: [.failed, .cancelled], update: Self.retryAssignments, batchSize: batchSize)
    }

    public func cancelAll(matching filter: TaskFilter, batchSize: Int = 1000) throws(StoreError) -> Int64 {
        try actOnAll(matching: filter, from: [.scheduled, .running], update: Self.cancelAssignments, batchSize: batchSize)
    }

    static let retryAssignments: PostgresQuery = """
        status = \(TaskStatus.scheduled), output = NULL, error_message = NULL, user_facing_error_message = NULL,
        progress = NULL, started_at = NULL, ended_at = NULL, run_after = NULL, lease_expires_at = NULL,
        claimed_by = NULL, claimed_provider = NULL, retry_base = tasks.attempt, last_updated = now()
        """

    static let cancelAssignments: PostgresQuery = """
        status = \(TaskStatus.cancelled), ended_at = now(), last_updated = now(), lease_expires_at = NULL
        """

    private func act(on id: Int64, from statuses: [TaskStatus], update assignments: PostgresQuery) throws(StoreError) -> TaskActionOutcome {
        try withConnection { connection in
            let updated = try connection.query(
                """
                UPDATE tasks SET \(fragment: assignments)
                WHERE id = \(bind: id) AND status = ANY(\(bind: statuses.map(\.rawValue))::smallint[])
                RETURNING \(unescaped: TaskColumns.tasks)
                """)
            if let row = updated.rows.first { return .changed(try TaskColumns.decode(row)) }
            guard let current = try Self.task(id: id, on: connection) else { return .notFound }
            return .conflict(current)
        }
    }

    private func actOnAll(
        matching filter: TaskFilter, from statuses: [TaskStatus], update assignments: PostgresQuery, batchSize: Int
    ) throws(StoreError) -> Int64 {
        var changed: Int64 = 0
        var before: Int64?
        while true {
            let batch = try withConnection { connection -> (count: Int, lastID: Int64?) in
                let matching = Self.matchingQuery(
                    filter, statusesWithin: statuses, beforeID: before, limit: batchSize, columns: "tasks.id")
                let rows = try connection.query(
                    """
                    WITH batch AS MATERIALIZED (\(fragment: matching)),
                    changed AS (
                        UPDATE tasks SET \(fragment: assignments)
                        FROM batch
                        WHERE tasks.id = batch.id AND tasks.status = ANY(\(bind: statuses.map(\.rawValue))::smallint[])
                        RETURNING tasks.id
                    )
                    SELECT (SELECT count(*) FROM changed) AS changed, (SELECT min(id) FROM batch) AS last_id,
                           (SELECT count(*) FROM batch) AS seen
                    """
                ).rows
                changed += rows.first?.int64("changed") ?? 0
                return (rows.first?.int("seen") ?? 0, rows.first?.int64("last_id"))
            }
            guard batch.count == batchSize, let lastID = batch.lastID else { return changed }
            before = lastID
        }
    }
}
