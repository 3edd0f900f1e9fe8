import Postgres

/// How one of an operator's actions on a task ended.
public enum TaskActionOutcome: Sendable {
    case changed(TaskRecord)
    /// The task is in a state the action does not apply to; nothing changed.
    case conflict(TaskRecord)
    case notFound
}

extension TaskStore {
    /// The most rows one page of the list reads. A narrow filter within a large range (one
    /// user's failures among a million) then answers a short page, even an empty one, with a
    /// cursor to go on from, instead of reading the whole range in one request: every filter
    /// answers in bounded time.
    public static let listScanBudget = 20_000

    /// One page of the tasks matching `filter`, newest first: at most `limit`, all with an id
    /// below `beforeID`, and the id to go on below (nil when nothing is left). At most
    /// `scanBudget` rows are read; a page may therefore hold fewer than `limit` tasks while more
    /// remain.
    ///
    /// The rows read: without SUCCESSFUL among the statuses asked for, and with a type or a
    /// status given, a share of the budget from each (type, status) range of
    /// `tasks_type_status_idx`, newest first; else, with `userID`, that user's rows through
    /// `tasks_owner_idx`; else the primary key backwards (SUCCESSFUL rows, most of a table, are
    /// dense in id order). The page holds the matching rows down to the highest point where a
    /// range ran out of budget (every range was read that far), so nothing is skipped: the next
    /// page starts below it.
    public func page(
        matching filter: TaskFilter, limit: Int, beforeID: Int64?, scanBudget: Int = TaskStore.listScanBudget
    ) throws(StoreError) -> (tasks: [TaskRecord], nextBeforeID: Int64?) {
        try withConnection { connection in
            let before = beforeID ?? Int64.max
            let statuses = filter.statuses(within: nil)
            let byTypeAndStatus = (!filter.types.isEmpty || statuses.count < TaskStatus.allCases.count)
                && !statuses.contains(.successful)
            guard byTypeAndStatus else {
                return try Self.pageInOneRange(filter, statuses: statuses, limit: limit, before: before, budget: scanBudget, on: connection)
            }
            var types = filter.types
            if types.isEmpty {
                types = try connection.query("SELECT type FROM task_counts UNION SELECT type FROM task_count_deltas")
                    .rows.compactMap { $0.string("type") }
            }
            let perProbe = max(1, scanBudget / max(1, types.count * statuses.count))
            let rows = try connection.query(
                Self.byTypeAndStatusPageQuery(
                    filter, types: types, statuses: statuses, before: before, perProbe: perProbe, limit: limit)
            ).rows
            let tasks = try rows.filter { $0.int64("id") != nil }.map(TaskColumns.decode)
            if tasks.count == limit { return (tasks, tasks.last?.id) }
            return (tasks, rows.first?.int64("scan_floor"))
        }
    }

    /// A page from the (type, status) ranges of `tasks_type_status_idx`, `perProbe` rows each
    /// at most; its first row also says where the budget ended (`scan_floor`).
    static func byTypeAndStatusPageQuery(
        _ filter: TaskFilter, types: [String], statuses: [TaskStatus], before: Int64, perProbe: Int, limit: Int
    ) -> PostgresQuery {
        let probes: PostgresQuery = """
            unnest(\(bind: types)::text[]) AS wanted (type)
            CROSS JOIN unnest(\(bind: statuses.map(\.rawValue))::smallint[]) AS wanted_status (status)
            CROSS JOIN LATERAL (
                SELECT wanted.type || '/' || wanted_status.status AS probe, * FROM tasks
                WHERE tasks.type = wanted.type AND tasks.status = wanted_status.status
                    AND tasks.status <> \(TaskStatus.successful) AND tasks.id < \(bind: before)
                ORDER BY tasks.id DESC
                LIMIT \(bind: perProbe)
            ) AS tasks
            """
        return """
            WITH examined AS MATERIALIZED (
                SELECT tasks.probe, tasks.id, (\(fragment: filter.otherConditions)) AS matches FROM \(fragment: probes)
            ), floor AS (
                SELECT max(lowest) AS id FROM (
                    SELECT min(id) AS lowest FROM examined GROUP BY probe HAVING count(*) >= \(bind: perProbe)
                ) AS exhausted
            )
            SELECT (SELECT id FROM floor) AS scan_floor, page.*
            FROM (SELECT 1) AS one
            LEFT JOIN LATERAL (
                -- Chosen first, then read by id: a plan made for any parameters cannot turn it into a scan.
                SELECT \(unescaped: TaskColumns.tasks) FROM (
                    SELECT id FROM examined
                    WHERE matches AND id >= coalesce((SELECT id FROM floor), 0)
                    ORDER BY id DESC
                    LIMIT \(bind: limit)
                ) AS chosen
                CROSS JOIN LATERAL (SELECT * FROM tasks WHERE tasks.id = chosen.id) AS tasks
                ORDER BY tasks.id DESC
            ) AS page ON true
            """
    }

    /// A page read from one range, newest first: that user's rows (`tasks_owner_idx`) or the
    /// whole table (the primary key). The scan stops as soon as the page is full; only a page
    /// left short asks where the budget ended.
    private static func pageInOneRange(
        _ filter: TaskFilter, statuses: [TaskStatus], limit: Int, before: Int64, budget: Int, on connection: PostgresConnection
    ) throws -> (tasks: [TaskRecord], nextBeforeID: Int64?) {
        let range: PostgresQuery = filter.userID.map { "tasks.user_id = \(bind: $0)" } ?? "TRUE"
        let window: PostgresQuery = """
            SELECT * FROM tasks WHERE \(fragment: range) AND tasks.id < \(bind: before) ORDER BY tasks.id DESC LIMIT \(bind: budget)
            """
        let tasks = try connection.query(
            """
            SELECT \(unescaped: TaskColumns.tasks) FROM (\(fragment: window)) AS tasks
            WHERE \(fragment: filter.typeAndStatusConditions(statuses)) AND \(fragment: filter.otherConditions)
            ORDER BY tasks.id DESC
            LIMIT \(bind: limit)
            """
        ).rows.map(TaskColumns.decode)
        if tasks.count == limit { return (tasks, tasks.last?.id) }
        // Short: every match in the window is on this page; go on below the window if it was full.
        let read = try connection.query("SELECT count(*) AS n, min(id) AS lowest FROM (\(fragment: window)) AS tasks").rows.first
        return (tasks, (read?.int("n") ?? 0) >= budget ? read?.int64("lowest") : nil)
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
            return """
                SELECT \(unescaped: columns) FROM tasks
                WHERE tasks.id < \(bind: before) AND \(fragment: filter.typeAndStatusConditions(statuses))
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
        try act(on: id, from: [.scheduled, .waiting, .running], update: Self.cancelAssignments, recordingFinalAttempt: false)
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
            matching: filter, from: [.scheduled, .waiting, .running], update: Self.cancelAssignments, recordingFinalAttempt: false,
            batchSize: batchSize)
    }

    /// A task with dependencies goes back to WAITING with `waiting_for` NULL: the attach trigger
    /// then reads its dependencies afresh (waits, runs at once, or ends again if one failed).
    static let retryAssignments: PostgresQuery = """
        status = CASE WHEN tasks.depends_on IS NULL THEN \(TaskStatus.scheduled) ELSE \(TaskStatus.waiting) END,
        waiting_for = NULL, output = NULL, error_message = NULL, user_facing_error_message = NULL,
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
        try withConnectionRetryingDeadlocks { connection in
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
            let row = try withConnectionRetryingDeadlocks { connection in
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
