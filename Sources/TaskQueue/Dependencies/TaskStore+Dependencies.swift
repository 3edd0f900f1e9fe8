import JSON
import Postgres

/// A released task whose input names its predecessors' outputs, with what they left.
public struct PendingInput: Sendable {
    public var task: TaskRecord
    /// What each predecessor left: its status (nil: deleted) and output.
    public var sources: [Int64: OutputReference.Source]
}

/// What becomes of a ``PendingInput``.
public enum ResolvedInput: Sendable, Equatable {
    /// The task becomes claimable with this input. The values under `fileKeys` are file ids of
    /// predecessors: each is copied to the task, which names the copy.
    case claimable(JSONObject, fileKeys: [String])
    /// The task fails with this message.
    case failed(String)
}

extension TaskStore {
    /// Ids for a batch whose items depend on earlier items, in ascending order.
    public func allocateTaskIDs(_ count: Int) throws(StoreError) -> [Int64] {
        try withConnection { connection in
            try connection.query("SELECT nextval('tasks_id_seq') AS id FROM generate_series(1, \(bind: count)::integer)")
                .rows.compactMap { $0.int64("id") }.sorted()
        }
    }

    /// The types of those of `ids` that `owner` may see (the others are left out).
    public func taskTypes(ids: [Int64], owner: TaskOwner) throws(StoreError) -> [Int64: String] {
        guard !ids.isEmpty else { return [:] }
        return try withConnection { connection in
            try Self.typesByID(connection.query(
                "SELECT id, type FROM tasks WHERE id = ANY(\(bind: ids)::bigint[]) AND \(fragment: owner.condition())"))
        }
    }

    /// Whether some released task waits for its input to be made from its predecessors'
    /// outputs (`tasks_inputs_to_resolve_idx`).
    public func hasPendingInputs() throws(StoreError) -> Bool {
        let probe: PostgresQuery =
            "SELECT EXISTS (SELECT 1 FROM tasks WHERE status = \(TaskStatus.waiting) AND waiting_for = '{}') AS pending"
        return try withConnection { connection in try connection.query(probe).rows.first?.bool("pending") ?? false }
    }

    /// Takes up to `limit` released tasks whose input names predecessors' outputs, lets
    /// `resolve` substitute and check each, and stores the answer: the task becomes claimable
    /// with the new input (predecessors' files copied to it) or fails. One transaction; each
    /// task is resolved once: the tasks are locked, in id order, and passed over when another
    /// resolver (another process's, or this one's listener) holds them, or with
    /// `waitingForOthers` waited for, so that when this returns they are prepared (then they
    /// no longer qualify, and this resolver leaves them). Returns the tasks this call changed.
    public func resolvePendingInputs(
        limit: Int = 50, waitingForOthers: Bool = false, _ resolve: (PendingInput) -> ResolvedInput
    ) throws(StoreError) -> [TaskRecord] {
        try withConnectionRetryingDeadlocks { connection in
            try connection.transaction { connection in
                let pending = try connection.query(
                    """
                    SELECT \(unescaped: TaskColumns.tasks) FROM tasks
                    WHERE status = \(TaskStatus.waiting) AND waiting_for = '{}'
                    ORDER BY id LIMIT \(bind: limit)
                    FOR UPDATE \(unescaped: waitingForOthers ? "" : "SKIP LOCKED")
                    """
                ).rows.map(TaskColumns.decode)
                guard !pending.isEmpty else { return [] }
                let sources = try Self.outputSources(ids: pending.flatMap { $0.dependsOn ?? [] }, on: connection)
                var changed: [TaskRecord] = []
                for task in pending {
                    let predecessors = task.dependsOn ?? []
                    var answer = resolve(PendingInput(task: task, sources: sources.filter { predecessors.contains($0.key) }))
                    if case .claimable(let input, let fileKeys) = answer {
                        answer = try Self.copyingFiles(in: input, keys: fileKeys, to: task, on: connection)
                    }
                    if let updated = try Self.store(answer, for: task.id, on: connection) { changed.append(updated) }
                }
                return changed
            }
        }
    }

    private static func outputSources(ids: [Int64], on connection: PostgresConnection) throws -> [Int64: OutputReference.Source] {
        var sources: [Int64: OutputReference.Source] = [:]
        let rows = try connection.query(
            "SELECT id, status, output FROM tasks WHERE id = ANY(\(bind: Array(Set(ids)))::bigint[])").rows
        for row in rows {
            guard let id = row.int64("id") else { continue }
            let output = row.string("output").flatMap { try? JSONValue.parse($0) }?.objectValue
            sources[id] = OutputReference.Source(status: row.int("status").flatMap(TaskStatus.init(rawValue:)), output: output)
        }
        for id in ids where sources[id] == nil { sources[id] = OutputReference.Source(status: nil, output: nil) }
        return sources
    }

    /// The input with every file id under `keys` replaced by a copy made for `task` of that
    /// predecessor's file; fails the task when a file is not one of its predecessors'.
    private static func copyingFiles(
        in input: JSONObject, keys: [String], to task: TaskRecord, on connection: PostgresConnection
    ) throws -> ResolvedInput {
        var copied = input
        var copies: [Int64: Int64] = [:]
        func copy(_ id: Int64) throws -> Int64? {
            if let known = copies[id] { return known }
            let row = try connection.query(
                """
                INSERT INTO task_files (task_id, user_id, app_id, name, content_type, size, data)
                SELECT \(bind: task.id), user_id, app_id, name, content_type, size, data FROM task_files
                WHERE id = \(bind: id) AND task_id = ANY(\(bind: task.dependsOn ?? [])::bigint[])
                RETURNING id
                """
            ).rows.first
            copies[id] = row?.int64("id")
            return copies[id]
        }
        for key in keys {
            guard let value = input[key] else { continue }
            if let id = value.int64Value {
                guard let copy = try copy(id) else { return .failed(Self.missingFileMessage(id, key: key)) }
                copied[key] = .int(copy)
            } else if let items = value.arrayValue {
                var replaced: [JSONValue] = []
                for item in items {
                    guard let id = item.int64Value, let copy = try copy(id) else {
                        return .failed(Self.missingFileMessage(item.int64Value ?? 0, key: key))
                    }
                    replaced.append(.int(copy))
                }
                copied[key] = .array(replaced)
            }
        }
        return .claimable(copied, fileKeys: keys)
    }

    private static func missingFileMessage(_ id: Int64, key: String) -> String {
        "input '\(key)': file \(id) is not a file of a task this task depends on"
    }

    /// Makes the waiting task claimable with its new input, or fails it; nil when it was no
    /// longer waiting.
    private static func store(_ answer: ResolvedInput, for id: Int64, on connection: PostgresConnection) throws -> TaskRecord? {
        let updated: PostgresResult
        switch answer {
        case .claimable(let input, _):
            updated = try connection.query(
                """
                UPDATE tasks
                SET input = \(bind: JSONValue.object(input).serializedString()), status = \(TaskStatus.scheduled),
                    resolve_input = false, run_after = CASE WHEN run_after > now() THEN run_after END, last_updated = now()
                WHERE id = \(bind: id) AND status = \(TaskStatus.waiting)
                RETURNING \(unescaped: TaskColumns.tasks)
                """)
        case .failed(let message):
            updated = try connection.query(
                """
                UPDATE tasks
                SET status = \(TaskStatus.failed), error_message = \(bind: message),
                    user_facing_error_message = 'The input could not be made from the results of the tasks it depends on.',
                    ended_at = now(), last_updated = now()
                WHERE id = \(bind: id) AND status = \(TaskStatus.waiting)
                RETURNING \(unescaped: TaskColumns.tasks)
                """)
        }
        return try updated.rows.first.map(TaskColumns.decode)
    }
}

extension TaskStore {
    /// Announces on the ready channel the tasks that the end of `predecessors` made claimable
    /// (the release itself, inside the ending transaction, notifies nothing: see migration 11),
    /// in the format of the `tasks_notify_ready` trigger. Its own short transaction, which
    /// commits (a NOTIFY needs a transaction id) only when there was something to announce;
    /// answers whether there was.
    @discardableResult
    public func announceReleasedSuccessors(of predecessors: [Int64]) throws(StoreError) -> Bool {
        guard !predecessors.isEmpty else { return false }
        return try withConnection { connection in
            try !connection.query(
                """
                SELECT pg_notify('\(unescaped: ReadyTaskNotice.channel)', CASE WHEN octet_length(payload) > 7000 THEN '*' ELSE payload END)
                FROM (
                    SELECT string_agg(n || ' ' || type, E'\\n') AS payload FROM (
                        SELECT successor.type, count(DISTINCT successor.id) AS n
                        FROM task_dependencies JOIN tasks AS successor ON successor.id = task_dependencies.task_id
                        WHERE task_dependencies.depends_on = ANY(\(bind: predecessors)::bigint[])
                          AND successor.status = \(TaskStatus.scheduled) AND successor.run_after IS NULL
                        GROUP BY successor.type
                    ) AS ready
                ) AS notice
                WHERE payload IS NOT NULL
                """
            ).rows.isEmpty
        }
    }
}
