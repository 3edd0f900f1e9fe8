import JSON
import Postgres

/// The column list every task query returns, and the decoding of one such row.
enum TaskColumns {
    private static let plain = [
        "id", "type", "status", "user_id", "app_id", "custom_id", "input", "output", "error_message",
        "user_facing_error_message", "progress", "priority", "include_watermark", "allow_cleanup", "webhook_uri",
        "webhook_method", "attempt", "claimed_by", "on_dependency_failure", "has_successors",
        "successors_read_output",
    ]
    /// Id arrays leave the database as comma-separated text.
    private static let idLists = ["depends_on", "waiting_for"]
    /// Timestamps leave the database as whole unix seconds, the wire format.
    private static let times = [
        "last_updated", "scheduled_at", "started_at", "ended_at", "completion_expected_at", "lease_expires_at",
        "run_after",
    ]

    /// `SELECT`/`RETURNING` list, every column qualified with `table` (needed where a CTE has an `id` too).
    static func list(qualifiedBy table: String) -> String {
        let columns = plain.map { "\(table).\($0)" }
            + times.map { "floor(extract(epoch FROM \(table).\($0)))::bigint AS \($0)" }
            + idLists.map { "array_to_string(\(table).\($0), ',') AS \($0)" }
            // For the metrics' histograms, which need more than whole seconds.
            + [
                "extract(epoch FROM \(table).started_at - \(table).scheduled_at)::float8 AS queue_wait_seconds",
                "extract(epoch FROM \(table).ended_at - \(table).started_at)::float8 AS run_seconds",
            ]
        return columns.joined(separator: ", ")
    }

    static let tasks = list(qualifiedBy: "tasks")

    static func decode(_ row: PostgresRow) throws(StoreError) -> TaskRecord {
        guard let id = row.int64("id"), let type = row.string("type"), let statusCode = row.int("status"),
            let appID = row.string("app_id"), let inputText = row.string("input"),
            let lastUpdated = row.int64("last_updated")
        else { throw StoreError.corruptRow("a task row lacks a required column") }
        return TaskRecord(
            id: id,
            type: type,
            status: TaskStatus(rawValue: statusCode) ?? .unknown,
            userID: row.string("user_id"),
            appID: appID,
            customID: row.string("custom_id") ?? "",
            input: try decodeObject(inputText, taskID: id),
            output: try row.string("output").map { text throws(StoreError) in try decodeObject(text, taskID: id) },
            errorMessage: row.string("error_message"),
            userFacingErrorMessage: row.string("user_facing_error_message"),
            progress: row.double("progress"),
            priority: row.int("priority") ?? 0,
            includeWatermark: row.bool("include_watermark") ?? true,
            allowCleanup: row.bool("allow_cleanup") ?? true,
            webhookURI: row.string("webhook_uri"),
            webhookMethod: row.string("webhook_method"),
            attempt: row.int("attempt") ?? 0,
            claimedBy: row.string("claimed_by"),
            lastUpdated: lastUpdated,
            scheduledAt: row.int64("scheduled_at"),
            startedAt: row.int64("started_at"),
            endedAt: row.int64("ended_at"),
            completionExpectedAt: row.int64("completion_expected_at"),
            leaseExpiresAt: row.int64("lease_expires_at"),
            runAfter: row.int64("run_after"),
            queueWaitSeconds: row.double("queue_wait_seconds"),
            runSeconds: row.double("run_seconds"),
            dependsOn: try row.string("depends_on").map { text throws(StoreError) in try decodeIDs(text, taskID: id) },
            waitingFor: try row.string("waiting_for").map { text throws(StoreError) in try decodeIDs(text, taskID: id) } ?? [],
            dependencyPolicy: row.string("on_dependency_failure").flatMap(DependencyFailurePolicy.init(rawValue:)),
            hasSuccessors: row.bool("has_successors") ?? false,
            successorsReadOutput: row.bool("successors_read_output") ?? false)
    }

    private static func decodeIDs(_ text: String, taskID: Int64) throws(StoreError) -> [Int64] {
        guard !text.isEmpty else { return [] }
        var ids: [Int64] = []
        for part in text.split(separator: ",") {
            guard let id = Int64(part) else { throw StoreError.corruptRow("task \(taskID) holds an id list that is not one") }
            ids.append(id)
        }
        return ids
    }

    private static func decodeObject(_ text: String, taskID: Int64) throws(StoreError) -> JSONObject {
        guard let object = (try? JSONValue.parse(text))?.objectValue else {
            throw StoreError.corruptRow("task \(taskID) holds a value that is not a JSON object")
        }
        return object
    }
}
