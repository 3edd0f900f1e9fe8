import Crypto
import JSON
import Postgres

/// An `Idempotency-Key` and what it was sent with.
public struct IdempotencyKey: Sendable, Equatable {
    /// Who sent it (a user, or an ExApp): keys of different callers never meet.
    public var scope: String
    public var key: String

    public init(scope: String, key: String) {
        self.scope = scope
        self.key = key
    }
}

/// The answer to a schedule request.
public enum ScheduleOutcome: Sendable, Equatable {
    case created(TaskRecord)
    /// The key was used before with the same request: the original task, unchanged.
    case replayed(TaskRecord)
    /// The key was used before with a different request.
    case keyReused
}

extension NewTask {
    /// A digest of everything that defines the request, to tell a retry from a different request.
    var requestDigest: String {
        var canonical: JSONObject = [
            "type": .string(type), "input": .object(input), "userId": userID.map(JSONValue.string) ?? .null,
            "appId": .string(appID), "customId": .string(customID),
            "webhookUri": webhookURI.map(JSONValue.string) ?? .null,
            "webhookMethod": webhookMethod.map(JSONValue.string) ?? .null, "includeWatermark": .bool(includeWatermark),
            "priority": .int(Int64(priority)), "runAfter": runAfter.map(JSONValue.int) ?? .null,
        ]
        // Only when present, so that the digests of requests without them stay as they were.
        if let dependencies {
            canonical["dependsOn"] = .array(dependencies.dependsOn.map(\.json))
            canonical["onDependencyFailure"] = .string(dependencies.policy.rawValue)
        }
        return SHA256.hash(data: JSONValue.object(canonical).serialized()).map { String(format: "%02x", $0) }.joined()
    }
}

extension TaskStore {
    /// Schedules `task` once per idempotency key. The key row is inserted first, in the same
    /// transaction as the task: a concurrent request with the same key waits on the primary key
    /// until the first commits, then finds its row and answers with the original task.
    public func schedule(_ task: NewTask, idempotencyKey: IdempotencyKey?) throws(StoreError) -> ScheduleOutcome {
        guard let idempotencyKey else { return .created(try schedule(task)) }
        let digest = task.requestDigest
        return try withConnectionRetryingDeadlocks { connection in
            try connection.transaction { connection in
                let claimed = try connection.query(
                    """
                    INSERT INTO idempotency_keys (scope, key, request_digest, task_id)
                    VALUES (\(bind: idempotencyKey.scope), \(bind: idempotencyKey.key), \(bind: digest), 0)
                    ON CONFLICT (scope, key) DO NOTHING
                    """)
                if claimed.affectedRows == 1 {
                    let created = try Self.insert(task, on: connection)
                    _ = try connection.query(
                        "UPDATE idempotency_keys SET task_id = \(bind: created.id) WHERE scope = \(bind: idempotencyKey.scope) AND key = \(bind: idempotencyKey.key)")
                    return .created(created)
                }
                let existing = try connection.query(
                    """
                    SELECT k.request_digest, \(unescaped: TaskColumns.tasks)
                    FROM idempotency_keys k JOIN tasks ON tasks.id = k.task_id
                    WHERE k.scope = \(bind: idempotencyKey.scope) AND k.key = \(bind: idempotencyKey.key)
                    """)
                guard let row = existing.rows.first else {
                    throw StoreError.corruptRow("idempotency key without its task")
                }
                guard row.string("request_digest") == digest else { return .keyReused }
                return .replayed(try TaskColumns.decode(row))
            }
        }
    }

    /// Forgets idempotency keys older than `retentionSeconds`, a batch at a time. Returns how many.
    @discardableResult
    public func expireIdempotencyKeys(retentionSeconds: Int, batch: Int = 1000) throws(StoreError) -> Int {
        try withConnection { connection in
            try connection.query(
                """
                DELETE FROM idempotency_keys WHERE (scope, key) IN (
                    SELECT scope, key FROM idempotency_keys
                    WHERE created_at < now() - make_interval(secs => \(bind: retentionSeconds)::integer)
                    LIMIT \(bind: batch)
                    FOR UPDATE SKIP LOCKED
                )
                """
            ).affectedRows
        }
    }
}
