import JSON
import Postgres

/// A provider's row in `task_providers` (its shape additions stored as `ProviderShapesColumns` says).
enum ProviderColumns {
    /// The columns `decode` reads; `prefix` qualifies them (e.g. `p.`).
    static func all(prefix: String = "") -> String {
        (["id", "app_id", "display_name", "task_type", "expected_runtime"] + ProviderShapesColumns.names)
            .map { prefix + $0 }.joined(separator: ", ")
    }

    static func decode(_ row: PostgresRow) throws(StoreError) -> TaskProvider {
        guard let id = row.string("id"), let name = row.string("display_name"), let type = row.string("task_type"),
            let runtime = row.int("expected_runtime")
        else { throw .corruptRow("provider row missing a column") }
        return TaskProvider(
            id: id, appID: row.string("app_id"), displayName: name, taskType: type, expectedRuntimeSeconds: runtime,
            shapes: try ProviderShapesColumns.decode(row, of: "provider \(id)"))
    }
}
