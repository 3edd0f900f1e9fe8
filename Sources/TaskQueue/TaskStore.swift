import JSON
import Logging
import Postgres

/// Tasks in PostgreSQL: scheduling, reading, listing, cancelling and deleting. The worker side
/// (claims and reports) is in `TaskStore+Worker.swift`. Every statement uses bound parameters.
public struct TaskStore: Sendable, PooledStore {
    let pool: PostgresConnectionPool
    /// Shared by the copies of this store, so every request of the process sees the same claims.
    let claimedTypes = ClaimedTaskTypes()

    public init(pool: PostgresConnectionPool) {
        self.pool = pool
    }

    /// Inserts a task in the scheduled state and returns it.
    public func schedule(_ task: NewTask) throws(StoreError) -> TaskRecord {
        try withConnection { connection in
            // Attaching input files is a second statement: both commit together or not at all.
            guard !task.inputFileIDs.isEmpty else { return try Self.insert(task, on: connection) }
            return try connection.transaction { connection in try Self.insert(task, on: connection) }
        }
    }

    static func insert(_ task: NewTask, on connection: PostgresConnection) throws -> TaskRecord {
        let result = try connection.query(
            """
            INSERT INTO tasks (type, user_id, app_id, custom_id, input, webhook_uri, webhook_method,
                               include_watermark, completion_expected_at, priority, run_after)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now() + make_interval(secs => $9), $10,
                    CASE WHEN to_timestamp($11::bigint) > now() THEN to_timestamp($11::bigint) END)
            RETURNING \(TaskColumns.tasks)
            """,
            [
                task.type, task.userID, task.appID, task.customID, JSONValue.object(task.input).serializedString(),
                task.webhookURI, task.webhookMethod, task.includeWatermark, task.expectedRuntimeSeconds,
                task.priority, task.runAfter,
            ])
        let record = try TaskColumns.decode(result[0])
        try attachInputFiles(task.inputFileIDs, to: record, on: connection)
        return record
    }

    /// The task with this id, if it exists and belongs to `userID` (nil: any owner, for workers).
    public func task(id: Int64, userID: String?) throws(StoreError) -> TaskRecord? {
        if let userID { return try task(id: id, owner: .user(userID)) }
        return try withConnection { connection in try Self.task(id: id, on: connection) }
    }

    /// The task with this id, whoever owns it.
    static func task(id: Int64, on connection: PostgresConnection) throws -> TaskRecord? {
        try connection.query("SELECT \(TaskColumns.tasks) FROM tasks WHERE id = $1", [id]).rows.first.map(TaskColumns.decode)
    }

    /// The types of the tasks with these ids (absent ids are left out): a task's type never
    /// changes, so workers' outputs can be checked against it before their report is recorded.
    /// Types of tasks claimed through this store are answered from memory.
    public func taskTypes(ids: [Int64]) throws(StoreError) -> [Int64: String] {
        var (types, unknown) = claimedTypes.lookUp(ids)
        guard !unknown.isEmpty else { return types }
        try withConnection { connection in
            for row in try connection.query("SELECT id, type FROM tasks WHERE id = ANY($1::bigint[])", [unknown]).rows {
                if let id = row.int64("id"), let type = row.string("type") { types[id] = type }
            }
        }
        return types
    }

    /// The task with this id if it belongs to `owner`: a user's, or an app's task without a user.
    public func task(id: Int64, owner: TaskOwner) throws(StoreError) -> TaskRecord? {
        try withConnection { connection in
            let result = try connection.query(
                "SELECT \(TaskColumns.tasks) FROM tasks WHERE id = $1 AND \(TaskOwner.condition(user: "$2", app: "$3"))",
                [id, owner.userID, owner.appID])
            return try result.rows.first.map(TaskColumns.decode)
        }
    }

    /// A user's tasks, oldest first, optionally of one type and/or one custom id.
    public func tasks(userID: String, type: String?, customID: String?) throws(StoreError) -> [TaskRecord] {
        try withConnection { connection in
            try connection.query(
                """
                SELECT \(TaskColumns.tasks) FROM tasks
                WHERE user_id = $1 AND ($2::text IS NULL OR type = $2) AND ($3::text IS NULL OR custom_id = $3)
                ORDER BY id
                """,
                [userID, type, customID]
            ).rows.map(TaskColumns.decode)
        }
    }

    /// A user's tasks scheduled by one app, oldest first, optionally with one custom id.
    public func tasks(userID: String, appID: String, customID: String?) throws(StoreError) -> [TaskRecord] {
        try withConnection { connection in
            try connection.query(
                """
                SELECT \(TaskColumns.tasks) FROM tasks
                WHERE user_id = $1 AND app_id = $2 AND ($3::text IS NULL OR custom_id = $3)
                ORDER BY id
                """,
                [userID, appID, customID]
            ).rows.map(TaskColumns.decode)
        }
    }

    /// Deletes a user's task whatever its state. Returns whether a task was deleted.
    @discardableResult
    public func delete(id: Int64, userID: String) throws(StoreError) -> Bool {
        try delete(id: id, owner: .user(userID))
    }

    /// Deletes one of `owner`'s tasks whatever its state. Returns whether a task was deleted.
    @discardableResult
    public func delete(id: Int64, owner: TaskOwner) throws(StoreError) -> Bool {
        try withConnection { connection in
            try connection.query(
                "DELETE FROM tasks WHERE id = $1 AND \(TaskOwner.condition(user: "$2", app: "$3"))",
                [id, owner.userID, owner.appID]
            ).affectedRows > 0
        }
    }

    /// Cancels a user's task if it is scheduled or running.
    public func cancel(id: Int64, userID: String) throws(StoreError) -> CancelOutcome {
        try cancel(id: id, owner: .user(userID))
    }

    /// Cancels one of `owner`'s tasks if it is scheduled or running.
    public func cancel(id: Int64, owner: TaskOwner) throws(StoreError) -> CancelOutcome {
        let owned = TaskOwner.condition(user: "$2", app: "$3")
        return try withConnection { connection in
            let updated = try connection.query(
                """
                UPDATE tasks SET status = \(TaskStatus.cancelled.rawValue), ended_at = now(), last_updated = now(),
                                 lease_expires_at = NULL
                WHERE id = $1 AND \(owned)
                  AND status IN (\(TaskStatus.scheduled.rawValue), \(TaskStatus.running.rawValue))
                RETURNING \(TaskColumns.tasks)
                """,
                [id, owner.userID, owner.appID])
            if let row = updated.rows.first { return .cancelled(try TaskColumns.decode(row)) }
            let current = try connection.query(
                "SELECT \(TaskColumns.tasks) FROM tasks WHERE id = $1 AND \(owned)", [id, owner.userID, owner.appID])
            guard let row = current.rows.first else { return .notFound }
            return .unchanged(try TaskColumns.decode(row))
        }
    }
}

extension TaskStore {
    /// Inserts many tasks with ONE statement (each column sent as an array and unnested), so a
    /// batch costs one round trip and one commit. Returns the tasks in the order given.
    public func schedule(batch tasks: [NewTask]) throws(StoreError) -> [TaskRecord] {
        guard !tasks.isEmpty else { return [] }
        return try withConnection { connection in
            guard tasks.contains(where: { !$0.inputFileIDs.isEmpty }) else { return try Self.insert(batch: tasks, on: connection) }
            return try connection.transaction { connection in try Self.insert(batch: tasks, on: connection) }
        }
    }

    static func insert(batch tasks: [NewTask], on connection: PostgresConnection) throws -> [TaskRecord] {
        let rows = try connection.query(
            """
            INSERT INTO tasks (type, user_id, app_id, custom_id, input, webhook_uri, webhook_method,
                               include_watermark, completion_expected_at, priority, run_after)
            SELECT type, user_id, app_id, custom_id, input, webhook_uri, webhook_method, include_watermark,
                   now() + make_interval(secs => expected_runtime),
                   priority, CASE WHEN to_timestamp(run_after) > now() THEN to_timestamp(run_after) END
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                        $8::boolean[], $9::integer[], $10::integer[], $11::bigint[])
                 WITH ORDINALITY AS batch (type, user_id, app_id, custom_id, input, webhook_uri, webhook_method,
                                           include_watermark, expected_runtime, priority, run_after, position)
            ORDER BY position
            RETURNING \(TaskColumns.tasks)
            """,
            [
                tasks.map(\.type), tasks.map(\.userID), tasks.map(\.appID), tasks.map(\.customID),
                tasks.map { JSONValue.object($0.input).serializedString() }, tasks.map(\.webhookURI),
                tasks.map(\.webhookMethod), tasks.map(\.includeWatermark), tasks.map(\.expectedRuntimeSeconds),
                tasks.map(\.priority), tasks.map(\.runAfter),
            ]
        ).rows.map(TaskColumns.decode)
        // Identity values follow insertion order, which follows `position`.
        let records = rows.sorted { $0.id < $1.id }
        for (task, record) in zip(tasks, records) {
            try attachInputFiles(task.inputFileIDs, to: record, on: connection)
        }
        return records
    }
}
