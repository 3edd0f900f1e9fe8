import JSON
import Logging
import Postgres

/// Tasks in PostgreSQL: scheduling, reading, listing, cancelling and deleting. The worker side
/// (claims and reports) is in `TaskStore+Worker.swift`. Every statement uses bound parameters.
public struct TaskStore: Sendable, PooledStore {
    let pool: PostgresConnectionPool
    /// Shared by the copies of this store, so every request of the process sees the same claims.
    let claimedTypes = ClaimedTaskTypes()
    /// Shared likewise: which types a claim must lock before it takes them.
    let limitedTypes = LimitedTaskTypes()
    /// Shared likewise: what each ExApp did last in this process, flushed to the database.
    public let workerActivity = WorkerActivity()
    /// Shared likewise: the ExApps trigger calls go to.
    public let triggeredApps = TriggeredApps()

    public init(pool: PostgresConnectionPool) {
        self.pool = pool
    }

    /// Inserts a task in the scheduled state and returns it.
    public func schedule(_ task: NewTask) throws(StoreError) -> TaskRecord {
        try withConnectionRetryingDeadlocks { connection in
            // Attaching input files is a second statement: both commit together or not at all.
            guard !task.inputFileIDs.isEmpty else { return try Self.insert(task, on: connection) }
            return try connection.transaction { connection in try Self.insert(task, on: connection) }
        }
    }

    /// Inserts one task. A task with dependencies is inserted WAITING; the
    /// `tasks_dependencies_attach` trigger (migration 11) then locks its predecessors and
    /// decides, in the same statement, whether it waits, runs at once or already failed.
    static func insert(_ task: NewTask, on connection: PostgresConnection) throws -> TaskRecord {
        let input = JSONValue.object(task.input).serializedString()
        let dependencies = task.dependencies
        let result = try connection.query(
            """
            INSERT INTO tasks (type, user_id, app_id, custom_id, input, webhook_uri, webhook_method,
                               include_watermark, completion_expected_at, priority, run_after,
                               status, depends_on, on_dependency_failure, resolve_input)
            VALUES (\(bind: task.type), \(bind: task.userID), \(bind: task.appID), \(bind: task.customID), \(bind: input),
                    \(bind: task.webhookURI), \(bind: task.webhookMethod), \(bind: task.includeWatermark),
                    now() + make_interval(secs => \(bind: task.expectedRuntimeSeconds)), \(bind: task.priority),
                    CASE WHEN to_timestamp(\(bind: task.runAfter)::bigint) > now() THEN to_timestamp(\(bind: task.runAfter)::bigint) END,
                    \(bind: (dependencies == nil ? TaskStatus.scheduled : .waiting).rawValue)::smallint,
                    \(bind: dependencies?.taskIDs)::bigint[], \(bind: dependencies?.policy.rawValue),
                    \(bind: !(dependencies?.references.isEmpty ?? true)))
            RETURNING \(unescaped: TaskColumns.tasks)
            """)
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
        try connection.query("SELECT \(unescaped: TaskColumns.tasks) FROM tasks WHERE id = \(bind: id)").rows.first.map(TaskColumns.decode)
    }

    /// The types of the tasks with these ids (absent ids are left out): a task's type never
    /// changes, so workers' outputs can be checked against it before their report is recorded.
    /// Types of tasks claimed through this store are answered from memory.
    public func taskTypes(ids: [Int64]) throws(StoreError) -> [Int64: String] {
        var (types, unknown) = claimedTypes.lookUp(ids)
        guard !unknown.isEmpty else { return types }
        let stored = try withConnection { connection in
            try Self.typesByID(connection.query("SELECT id, type FROM tasks WHERE id = ANY(\(bind: unknown)::bigint[])"))
        }
        return types.merging(stored) { _, stored in stored }
    }

    /// The `id` and `type` columns of `result` as a map.
    static func typesByID(_ result: PostgresResult) -> [Int64: String] {
        var types: [Int64: String] = [:]
        for row in result.rows {
            if let id = row.int64("id"), let type = row.string("type") { types[id] = type }
        }
        return types
    }

    /// The task with this id if it belongs to `owner`: a user's, or an app's task without a user.
    public func task(id: Int64, owner: TaskOwner) throws(StoreError) -> TaskRecord? {
        try withConnection { connection in
            let result = try connection.query(
                "SELECT \(unescaped: TaskColumns.tasks) FROM tasks WHERE id = \(bind: id) AND \(fragment: owner.condition())")
            return try result.rows.first.map(TaskColumns.decode)
        }
    }

    /// A user's tasks, oldest first, optionally of one type and/or one custom id.
    public func tasks(userID: String, type: String?, customID: String?) throws(StoreError) -> [TaskRecord] {
        try withConnection { connection in
            try connection.query(
                """
                SELECT \(unescaped: TaskColumns.tasks) FROM tasks
                WHERE user_id = \(bind: userID) AND (\(bind: type)::text IS NULL OR type = \(bind: type))
                    AND (\(bind: customID)::text IS NULL OR custom_id = \(bind: customID))
                ORDER BY id
                """
            ).rows.map(TaskColumns.decode)
        }
    }

    /// A user's tasks scheduled by one app, oldest first, optionally with one custom id.
    public func tasks(userID: String, appID: String, customID: String?) throws(StoreError) -> [TaskRecord] {
        try withConnection { connection in
            try connection.query(
                """
                SELECT \(unescaped: TaskColumns.tasks) FROM tasks
                WHERE user_id = \(bind: userID) AND app_id = \(bind: appID) AND (\(bind: customID)::text IS NULL
                    OR custom_id = \(bind: customID))
                ORDER BY id
                """
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
        try withConnectionRetryingDeadlocks { connection in
            try connection.query("DELETE FROM tasks WHERE id = \(bind: id) AND \(fragment: owner.condition())").affectedRows > 0
        }
    }

    /// Cancels a user's task if it is scheduled or running.
    public func cancel(id: Int64, userID: String) throws(StoreError) -> CancelOutcome {
        try cancel(id: id, owner: .user(userID))
    }

    /// Cancels one of `owner`'s tasks if it is scheduled, waiting or running.
    public func cancel(id: Int64, owner: TaskOwner) throws(StoreError) -> CancelOutcome {
        try withConnectionRetryingDeadlocks { connection in
            let updated = try connection.query(
                """
                UPDATE tasks SET status = \(TaskStatus.cancelled), ended_at = now(), last_updated = now(),
                                 lease_expires_at = NULL
                WHERE id = \(bind: id) AND \(fragment: owner.condition())
                  AND status IN (\(TaskStatus.scheduled), \(TaskStatus.running), \(TaskStatus.waiting))
                RETURNING \(unescaped: TaskColumns.tasks)
                """)
            if let row = updated.rows.first { return .cancelled(try TaskColumns.decode(row)) }
            let current = try connection.query(
                "SELECT \(unescaped: TaskColumns.tasks) FROM tasks WHERE id = \(bind: id) AND \(fragment: owner.condition())")
            guard let row = current.rows.first else { return .notFound }
            return .unchanged(try TaskColumns.decode(row))
        }
    }
}

extension TaskStore {
    /// Inserts many tasks with ONE statement (each column sent as an array and unnested), so a
    /// batch costs one round trip and one commit. Returns the tasks in the order given.
    /// `ids`: allocated with ``allocateTaskIDs(_:)``, one per task, when items depend on
    /// earlier items of the batch.
    public func schedule(batch tasks: [NewTask], ids: [Int64]? = nil) throws(StoreError) -> [TaskRecord] {
        guard !tasks.isEmpty else { return [] }
        return try withConnectionRetryingDeadlocks { connection in
            guard tasks.contains(where: { !$0.inputFileIDs.isEmpty }) else {
                return try Self.insert(batch: tasks, ids: ids, on: connection)
            }
            return try connection.transaction { connection in try Self.insert(batch: tasks, ids: ids, on: connection) }
        }
    }

    /// Inserts a batch. `ids`, when given, are the ids its items were allocated (so that items
    /// can depend on earlier ones); the rows are inserted in order, so an item's attach trigger
    /// finds the earlier items it depends on.
    static func insert(batch tasks: [NewTask], ids: [Int64]? = nil, on connection: PostgresConnection) throws -> [TaskRecord] {
        // Marks set here for items that later items depend on, so that the attach trigger need
        // not update rows this statement inserts.
        let inBatch = Set(ids ?? [])
        let predecessors = Set(tasks.flatMap { $0.dependencies?.taskIDs ?? [] }).intersection(inBatch)
        let readOutput = Set(tasks.flatMap { task in
            task.dependencies.map { $0.references.isEmpty ? [] : $0.taskIDs } ?? []
        }).intersection(inBatch)
        let batchIDs: [Int64?] = ids ?? tasks.map { _ in nil }
        let rows = try connection.query(
            """
            INSERT INTO tasks (id, type, user_id, app_id, custom_id, input, webhook_uri, webhook_method,
                               include_watermark, completion_expected_at, priority, run_after,
                               status, depends_on, on_dependency_failure, resolve_input, has_successors,
                               successors_read_output)
            SELECT coalesce(id, nextval('tasks_id_seq')), type, user_id, app_id, custom_id, input, webhook_uri, webhook_method,
                   include_watermark, now() + make_interval(secs => expected_runtime),
                   priority, CASE WHEN to_timestamp(run_after) > now() THEN to_timestamp(run_after) END,
                   CASE WHEN depends_on IS NULL THEN \(TaskStatus.scheduled) ELSE \(TaskStatus.waiting) END,
                   string_to_array(depends_on, ',')::bigint[], on_dependency_failure, resolve_input, has_successors,
                   successors_read_output
            FROM unnest(\(bind: tasks.map(\.type))::text[], \(bind: tasks.map(\.userID))::text[], \(bind: tasks.map(\.appID))::text[],
                        \(bind: tasks.map(\.customID))::text[], \(bind: tasks.map { JSONValue.object($0.input).serializedString() })::text[],
                        \(bind: tasks.map(\.webhookURI))::text[], \(bind: tasks.map(\.webhookMethod))::text[],
                        \(bind: tasks.map(\.includeWatermark))::boolean[], \(bind: tasks.map(\.expectedRuntimeSeconds))::integer[],
                        \(bind: tasks.map(\.priority))::integer[], \(bind: tasks.map(\.runAfter))::bigint[],
                        \(bind: batchIDs)::bigint[],
                        \(bind: tasks.map { task in task.dependencies.map { $0.taskIDs.map(String.init).joined(separator: ",") } })::text[],
                        \(bind: tasks.map { $0.dependencies?.policy.rawValue })::text[],
                        \(bind: tasks.map { !($0.dependencies?.references.isEmpty ?? true) })::boolean[],
                        \(bind: batchIDs.map { $0.map(predecessors.contains) ?? false })::boolean[],
                        \(bind: batchIDs.map { $0.map(readOutput.contains) ?? false })::boolean[])
                 WITH ORDINALITY AS batch (type, user_id, app_id, custom_id, input, webhook_uri, webhook_method,
                                           include_watermark, expected_runtime, priority, run_after, id, depends_on,
                                           on_dependency_failure, resolve_input, has_successors, successors_read_output,
                                           position)
            ORDER BY position
            RETURNING \(unescaped: TaskColumns.tasks)
            """
        ).rows.map(TaskColumns.decode)
        // Identity values follow insertion order, which follows `position`.
        let records = rows.sorted { $0.id < $1.id }
        for (task, record) in zip(tasks, records) {
            try attachInputFiles(task.inputFileIDs, to: record, on: connection)
        }
        return records
    }
}
