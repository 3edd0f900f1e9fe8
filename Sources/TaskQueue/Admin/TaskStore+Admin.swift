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
    /// Without SUCCESSFUL among the statuses asked for, and with a type or a status given, one
    /// probe of `tasks_type_status_idx` per (type, status), each reading at most `limit`
    /// entries in id order, merged: such a filter never walks the table. Otherwise (SUCCESSFUL
    /// rows, most of a table and dense, are not in that index) the primary key is walked
    /// backwards. The other filters narrow what those scans read; `userID` alone is served by
    /// `tasks_owner_idx`.
    static func matchingQuery(
        _ filter: TaskFilter, statusesWithin allowed: [TaskStatus]?, beforeID: Int64?, limit: Int, columns: String
    ) -> PostgresQuery {
        let before = beforeID ?? Int64.max
        let statuses = filter.statuses(within: allowed)
        let narrowed = !filter.types.isEmpty || statuses.count < TaskStatus.allCases.count
        guard narrowed, !statuses.contains(.successful) else {
            let types: PostgresQuery = filter.types.isEmpty ? "TRUE" : "tasks.type = ANY(\(bind: filter.types)::text[])"
            let statusCondition: PostgresQuery = statuses.count == TaskStatus.allCases.count
                ? "TRUE" : "tasks.status = ANY(\(bind: statuses.map(\.rawValue))::smallint[])"
            return """
                SELECT \(unescaped: columns) FROM tasks
                WHERE tasks.id < \(bind: before) AND \(fragment: types) AND \(fragment: statusCondition)
                    AND \(fragment: filter.otherConditions)
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
                WHERE tasks.type = wanted.type AND tasks.status = wanted_status.status AND tasks.status <> \(TaskStatus.successful)
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
        try act(on: id, from: [.failed, .cancelled], update: Self.retryAssignments, recordingFinalAttempt: true)
    }

    /// Cancels a SCHEDULED or RUNNING task, whoever owns it.
    public func cancel(id: Int64) throws(StoreError) -> TaskActionOutcome {
        try act(on: id, from: [.scheduled, .running], update: Self.cancelAssignments, recordingFinalAttempt: false)
    }

    /// Retries (or cancels) every task matching `filter`, `batchSize` at a time, each batch its
    /// own transaction so that no lock is held long; returns how many changed.
    public func retryAll(matching filter: TaskFilter, batchSize: Int = 1000) throws(StoreError) -> Int64 {
        try actOnAll(
            matching: filter, from: [.failed, .cancelled], update: Self.retryAssignments, recordingFinalAttempt: true,
            batchSize: batchSize)
    }

    public func cancelAll(matching filter: TaskFilter, batchSize: Int = 1000) throws(StoreError) -> Int64 {
        try actOnAll(
            matching: filter, from: [.scheduled, .running], update: Self.cancelAssignments, recordingFinalAttempt: false,
            batchSize: batchSize)
    }

    static let retryAssignments: PostgresQuery = """
        status = \(TaskStatus.scheduled), output = NULL, error_message = NULL, user_facing_error_message = NULL,
        progress = NULL, started_at = NULL, ended_at = NULL, run_after = NULL, lease_expires_at = NULL,
        claimed_by = NULL, claimed_provider = NULL, retry_base = tasks.attempt, last_updated = now()
        """

    static let cancelAssignments: PostgresQuery = """
        status = \(TaskStatus.cancelled), ended_at = now(), last_updated = now(), lease_expires_at = NULL
        """

    /// Updates the tasks `targets` selects (a query of ids) that are in `statuses`, locked in id
    /// order. With `recordingFinalAttempt`, each one's last attempt is first written to the
    /// history (the task's row, which shows it, is about to be reset). Returns the updated
    /// tasks, or with `summarized` one row: how many changed, and how many ids and the lowest one
    /// `targets` gave (for the next batch).
    private static func actQuery(
        targets: PostgresQuery, statuses: [TaskStatus], update assignments: PostgresQuery, recordingFinalAttempt: Bool,
        summarized: Bool
    ) -> PostgresQuery {
        let head: PostgresQuery = """
            WITH chosen AS MATERIALIZED (\(fragment: targets)),
            target AS MATERIALIZED (
                SELECT tasks.id FROM tasks JOIN chosen ON chosen.id = tasks.id
                WHERE tasks.status = ANY(\(bind: statuses.map(\.rawValue))::smallint[])
                ORDER BY tasks.id
                FOR UPDATE OF tasks
            ), recorded AS (
                INSERT INTO task_attempts (task_id, attempt, type, ex_app_id, provider_id, claimed_at, ended_at, outcome, error_message)
                SELECT tasks.id, tasks.attempt, tasks.type, tasks.claimed_by, tasks.claimed_provider, tasks.started_at,
                       coalesce(tasks.ended_at, now()), \(fragment: attemptOutcome), tasks.error_message
                FROM tasks JOIN target ON target.id = tasks.id
                WHERE \(bind: recordingFinalAttempt) AND tasks.attempt > 0
                ON CONFLICT DO NOTHING
            )
            """
        let update: PostgresQuery = """
            UPDATE tasks SET \(fragment: assignments)
            FROM target
            WHERE tasks.id = target.id
            """
        guard summarized else {
            return "\(fragment: head)\n\(fragment: update)\nRETURNING \(unescaped: TaskColumns.tasks)"
        }
        return """
            \(fragment: head), updated AS (
                \(fragment: update)
                RETURNING tasks.id
            )
            SELECT (SELECT count(*) FROM updated) AS changed, (SELECT count(*) FROM chosen) AS seen,
                   (SELECT min(id) FROM chosen) AS last_id
            """
    }

    private func act(
        on id: Int64, from statuses: [TaskStatus], update assignments: PostgresQuery, recordingFinalAttempt: Bool
    ) throws(StoreError) -> TaskActionOutcome {
        try withConnection { connection in
            let updated = try connection.query(
                Self.actQuery(
                    targets: "SELECT \(bind: id)::bigint AS id", statuses: statuses, update: assignments,
                    recordingFinalAttempt: recordingFinalAttempt, summarized: false))
            if let row = updated.rows.first { return .changed(try TaskColumns.decode(row)) }
            guard let current = try Self.task(id: id, on: connection) else { return .notFound }
            return .conflict(current)
        }
    }

    private func actOnAll(
        matching filter: TaskFilter, from statuses: [TaskStatus], update assignments: PostgresQuery, recordingFinalAttempt: Bool,
        batchSize: Int
    ) throws(StoreError) -> Int64 {
        var changed: Int64 = 0
        var before: Int64?
        while true {
            let matching = Self.matchingQuery(filter, statusesWithin: statuses, beforeID: before, limit: batchSize, columns: "tasks.id")
            let row = try withConnection { connection in
                try connection.query(
                    Self.actQuery(
                        targets: matching, statuses: statuses, update: assignments, recordingFinalAttempt: recordingFinalAttempt,
                        summarized: true)
                ).rows.first
            }
            changed += row?.int64("changed") ?? 0
            guard row?.int("seen") == batchSize, let lastID = row?.int64("last_id") else { return changed }
            before = lastID
        }
    }
}
