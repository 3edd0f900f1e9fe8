import JSON
import TaskQueue

/// Operator routes.
struct AdminEndpoints: Sendable {
    let store: TaskStore
    let catalog: ProviderCatalog
    let administration: TaskAdministration
    let configuration: OCSServerConfiguration
    let longPolls: LongPollWaiters?

    /// Task counts by status and by type, the age of the oldest waiting task, webhook
    /// deliveries owed and given up, provider and custom type rows skipped as unreadable, the
    /// warnings an operator should act on, and the version. Reads maintained counters, never counts the task table.
    func status(_ context: EndpointContext) throws -> EndpointResult {
        try context.requireAdmin()
        let statistics = try store.statistics()
        let webhooks = try store.webhookDeliveries.counts()
        let snapshot = try catalog.current()
        let totals = statistics.totals
        let byStatus = JSONObject(TaskStatus.allCases.filter { $0 != .unknown || totals[$0] != nil }.map { status in
            (status.adminName, .int(totals[status] ?? 0))
        })
        let byType = JSONObject(statistics.counts.keys.sorted().map { type in
            let counts = statistics.counts[type] ?? [:]
            return (type, .object(JSONObject(counts.keys.sorted().map { ($0.adminName, .int(counts[$0] ?? 0)) })))
        })
        return .ok([
            "version": .string(configuration.serverVersion),
            "tasks": ["byStatus": .object(byStatus), "byType": .object(byType)],
            "oldestScheduledAgeSeconds": statistics.oldestScheduledAgeSeconds.map(JSONValue.int) ?? .null,
            // This process's waiting long polls (each server process counts its own).
            "waitingLongPolls": .int(Int64(longPolls?.waitingCount ?? 0)),
            // Owed webhook calls, and those given up (retry limit or refused target).
            "webhooks": ["pending": .int(webhooks.pending), "failed": .int(webhooks.failed)],
            "unreadableDefinitions": .array(snapshot.unreadable.map { row in
                ["kind": .string(row.kind.rawValue), "id": .string(row.id), "reason": .string(row.reason)]
            }),
            "warnings": .array(try administration.warnings().map { warning in
                ["code": .string(warning.code), "message": .string(warning.message), "type": TaskJSON.optional(warning.type)]
            }),
        ])
    }
}
