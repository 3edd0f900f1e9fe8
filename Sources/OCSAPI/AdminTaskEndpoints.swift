import JSON
import TaskQueue

/// The operator's task routes under `admin/`: list and read tasks with their attempt history,
/// retry and cancel them (one, or every match of a filter), types with pause and limits,
/// statistics and workers. Administrators only; each reads its parameters, calls
/// ``TaskAdministration`` and maps the answer.
struct AdminTaskEndpoints: Sendable {
    let administration: TaskAdministration

    /// The filters of the list and of the bulk actions.
    static let filterParameters: Set<String> = [
        "status", "type", "userId", "appId", "customId", "providerId", "scheduledAfter", "scheduledBefore", "endedAfter",
        "endedBefore", "errorContains",
    ]

    func list(_ context: EndpointContext) throws -> EndpointResult {
        try context.requireAdmin()
        try context.parameters.refuseUnknown(Self.filterParameters.union(["limit", "cursor"]))
        let filter = try Self.filter(context.parameters)
        let limit = try context.parameters.int("limit", in: 1...TaskAdministration.maxPageSize) ?? 100
        let page = try administration.tasks(matching: filter, limit: limit, cursor: try context.parameters.string("cursor"))
        return .ok(["tasks": .array(page.tasks.map(AdminJSON.task)), "nextCursor": page.nextCursor.map(JSONValue.string) ?? .null])
    }

    func get(_ context: EndpointContext, id: Int64) throws -> EndpointResult {
        try context.requireAdmin()
        try context.parameters.refuseUnknown([])
        let (task, attempts) = try administration.task(id: id)
        var object = AdminJSON.task(task, attempts: attempts).objectValue ?? [:]
        object["files"] = .array(try administration.files(ofTask: id).map(AdminJSON.file))
        return .ok(["task": .object(object)])
    }

    func retry(_ context: EndpointContext, id: Int64) throws -> EndpointResult {
        try context.requireAdmin()
        try context.parameters.refuseUnknown([])
        return .ok(["task": AdminJSON.task(try administration.retry(id: id))])
    }

    func cancel(_ context: EndpointContext, id: Int64) throws -> EndpointResult {
        try context.requireAdmin()
        try context.parameters.refuseUnknown([])
        return .ok(["task": AdminJSON.task(try administration.cancel(id: id))])
    }

    /// `POST tasks/retry` and `tasks/cancel`: every task matching the filters; at least one
    /// filter is required, so that an empty body cannot retry or cancel everything by mistake
    /// (`"all": true` says that is meant).
    func bulk(_ context: EndpointContext, _ action: TaskAdministration.BulkAction) throws -> EndpointResult {
        try context.requireAdmin()
        try context.parameters.refuseUnknown(Self.filterParameters.union(["dryRun", "all"]))
        let filter = try Self.filter(context.parameters)
        let all = try context.parameters.bool("all") ?? false
        guard all || filter != TaskFilter() else {
            throw OCSError.badRequest("name at least one filter, or send \"all\": true to act on every task")
        }
        let dryRun = try context.parameters.bool("dryRun") ?? false
        let count = try administration.apply(action, matching: filter, dryRun: dryRun)
        return .ok([dryRun ? "matching" : "changed": .int(count), "dryRun": .bool(dryRun)])
    }

    func types(_ context: EndpointContext) throws -> EndpointResult {
        try context.requireAdmin()
        try context.parameters.refuseUnknown([])
        return .ok(["types": .array(try administration.types().map(AdminJSON.type))])
    }

    func setPaused(_ context: EndpointContext, type: String, _ paused: Bool) throws -> EndpointResult {
        try context.requireAdmin()
        try context.parameters.refuseUnknown([])
        return .ok(AdminJSON.setting(type, try administration.setPaused(type: type, paused)))
    }

    /// `PUT types/{type}/limits` with `{"maxRunning": N}` or `{"maxRunning": null}`.
    func setLimits(_ context: EndpointContext, type: String) throws -> EndpointResult {
        try context.requireAdmin()
        try context.parameters.refuseUnknown(["maxRunning"])
        let range = TaskAdministration.maxRunningRange
        let maxRunning = try context.parameters.int("maxRunning", in: range)
        return .ok(AdminJSON.setting(type, try administration.setMaxRunning(type: type, maxRunning)))
    }

    func statistics(_ context: EndpointContext) throws -> EndpointResult {
        try context.requireAdmin()
        try context.parameters.refuseUnknown(["windowSeconds"])
        let window = try context.parameters.int("windowSeconds", in: TaskAdministration.statisticsWindow) ?? 3600
        let types = try administration.statistics(windowSeconds: window)
        return .ok(["windowSeconds": .int(Int64(window)), "types": .array(types.map(AdminJSON.statistics))])
    }

    func workers(_ context: EndpointContext) throws -> EndpointResult {
        try context.requireAdmin()
        try context.parameters.refuseUnknown([])
        return .ok(["workers": .array(try administration.workers().map(AdminJSON.worker))])
    }

    /// `GET admin/history?seconds=3600&stepSeconds=60`: the per-minute rollups per type, in steps.
    func history(_ context: EndpointContext) throws -> EndpointResult {
        try context.requireAdmin()
        try context.parameters.refuseUnknown(["seconds", "stepSeconds"])
        let seconds = try context.parameters.int("seconds", in: 60...Self.maxHistorySeconds) ?? 3600
        let step = try context.parameters.int("stepSeconds", in: 60...86_400) ?? 60
        guard step % 60 == 0 else { throw OCSError.badRequest("parameter 'stepSeconds' must be a multiple of 60") }
        let histories = try administration.history(seconds: seconds, stepSeconds: step)
        return .ok([
            "seconds": .int(Int64(seconds)), "stepSeconds": .int(Int64(step)),
            "types": .array(histories.map(AdminJSON.history)),
        ])
    }

    /// The longest history one call reads: 31 days.
    static let maxHistorySeconds = 31 * 86_400

    /// `GET admin/webhooks?state=failed&taskId=12&limit=50&before=900`: deliveries, newest first.
    func webhooks(_ context: EndpointContext) throws -> EndpointResult {
        try context.requireAdmin()
        try context.parameters.refuseUnknown(["state", "taskId", "limit", "before"])
        let state = try context.parameters.string("state").map { text throws(OCSError) in
            guard let state = WebhookDeliveryState(rawValue: text) else {
                throw .badRequest("parameter 'state' has an unknown value '\(text)'; use pending, delivered or failed")
            }
            return state
        }
        let ids = 1...Int(Int64.max)
        let taskID = try context.parameters.int("taskId", in: ids).map(Int64.init)
        let before = try context.parameters.int("before", in: ids).map(Int64.init)
        let limit = try context.parameters.int("limit", in: 1...TaskAdministration.maxPageSize) ?? 100
        let deliveries = try administration.webhookDeliveries(state: state, taskID: taskID, limit: limit, beforeID: before)
        return .ok([
            "deliveries": .array(deliveries.map(AdminJSON.webhookDelivery)),
            "nextBefore": deliveries.count == limit ? deliveries.last.map { .int($0.id) } ?? .null : .null,
        ])
    }

    // MARK: Parameters

    static func filter(_ parameters: RequestParameters) throws -> TaskFilter {
        var filter = TaskFilter()
        filter.statuses = try parameters.stringList("status").map(status)
        filter.types = try parameters.stringList("type")
        filter.userID = try parameters.string("userId")
        filter.appID = try parameters.string("appId")
        filter.customID = try parameters.string("customId")
        filter.providerID = try parameters.string("providerId")
        let time = 0...Int(Int32.max) * 4
        filter.scheduledAfter = try parameters.int("scheduledAfter", in: time).map(Int64.init)
        filter.scheduledBefore = try parameters.int("scheduledBefore", in: time).map(Int64.init)
        filter.endedAfter = try parameters.int("endedAfter", in: time).map(Int64.init)
        filter.endedBefore = try parameters.int("endedBefore", in: time).map(Int64.init)
        filter.errorContains = try parameters.string("errorContains")
        if let text = filter.errorContains, text.isEmpty || text.utf8.count > 1000 {
            throw OCSError.badRequest("parameter 'errorContains' must be 1 to 1000 bytes")
        }
        return filter
    }

    static func status(_ text: String) throws(OCSError) -> TaskStatus {
        if let status = TaskStatus(operatorName: text) { return status }
        throw .badRequest("parameter 'status' has an unknown value '\(text)'; use STATUS_SCHEDULED, STATUS_WAITING, "
            + "STATUS_RUNNING, STATUS_SUCCESSFUL, STATUS_FAILED, STATUS_CANCELLED or STATUS_UNKNOWN")
    }
}
