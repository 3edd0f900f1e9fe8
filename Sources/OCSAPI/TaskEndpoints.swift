import JSON
import TaskQueue

/// The user-facing routes: schedule, read, list, cancel, delete, task types. Scheduling rules
/// live in ``TaskScheduler``; these read parameters and map answers.
struct TaskEndpoints: Sendable {
    let store: TaskStore
    let catalog: ProviderCatalog
    let services: TaskServices
    let configuration: OCSServerConfiguration

    private var scheduler: TaskScheduler { services.scheduler }

    /// `schedule` for a user: `appId` names the scheduling app and is required, as in Nextcloud.
    func schedule(_ context: EndpointContext) throws -> EndpointResult {
        let userID = try context.requireUser()
        return try schedule(context, userID: userID, appID: try context.parameters.requiredString("appId"))
    }

    /// `tasks_consumer/schedule`: `appId` defaults to the calling ExApp. Acting for no user, the
    /// ExApp owns the task through its app id, so it cannot schedule under another app's id.
    func consumerSchedule(_ context: EndpointContext) throws -> EndpointResult {
        let owner = try context.consumerOwner()
        let callerAppID = try context.requireExApp(routes: "tasks_consumer routes")
        let appID = try scheduler.consumerAppID(
            asked: try context.parameters.string("appId"), callerAppID: callerAppID, actsForUser: owner.appID == nil)
        return try schedule(context, userID: owner.userID, appID: appID)
    }

    private func schedule(_ context: EndpointContext, userID: String?, appID: String) throws -> EndpointResult {
        let task = try scheduler.validate(try scheduleRequest(from: context.parameters, userID: userID, appID: appID))
        let idempotencyKey = try TaskScheduler.idempotencyKey(context.headers["Idempotency-Key"], caller: context.principal)
        return .ok(["task": TaskJSON.task(try scheduler.schedule(task, idempotencyKey: idempotencyKey))])
    }

    /// Schedules up to `maxBatchItems` tasks in one statement (beyond Nextcloud). Every item is
    /// checked first; one bad item refuses the whole batch (400 naming it), so a batch is
    /// scheduled entirely or not at all.
    func scheduleBatch(_ context: EndpointContext) throws -> EndpointResult {
        let userID = try context.requireUser()
        let items = try context.parameters.objectList("tasks", limit: configuration.maxBatchItems)
        var tasks: [NewTask] = []
        for (index, item) in items.enumerated() {
            do {
                let parameters = RequestParameters(item)
                let request = try scheduleRequest(
                    from: parameters, userID: userID, appID: try parameters.requiredString("appId"), inBatch: true)
                tasks.append(try scheduler.validate(request, earlierBatchTypes: tasks.map(\.type)))
            } catch {
                let refusal = OCSError(answering: error)
                throw OCSError(status: refusal.status, message: "tasks[\(index)]: \(refusal.message)")
            }
        }
        return .ok(["tasks": TaskJSON.tasks(try scheduler.schedule(batch: tasks, userID: userID))])
    }

    /// Reads one task's parameters (a request's, or one item of a batch, whose `dependsOn` may
    /// also name earlier items as `"#N"`).
    private func scheduleRequest(
        from parameters: RequestParameters, userID: String?, appID: String, inBatch: Bool = false
    ) throws -> ScheduleRequest {
        try ScheduleRequest(
            type: try parameters.requiredString("type"), input: try parameters.requiredObject("input"), userID: userID,
            appID: appID, customID: try parameters.string("customId") ?? "", webhookURI: try parameters.string("webhookUri"),
            webhookMethod: try parameters.string("webhookMethod"),
            includeWatermark: try parameters.bool("includeWatermark") ?? true,
            priority: try parameters.int("priority", in: ParameterRanges.priority) ?? 0,
            runAfter: try parameters.int("runAfter", in: ParameterRanges.runAfter),
            dependsOn: taskReferences(parameters["dependsOn"], batchItems: inBatch),
            onDependencyFailure: try parameters.string("onDependencyFailure").map { text throws(OCSError) in
                guard let policy = DependencyFailurePolicy(rawValue: text) else {
                    throw .badRequest("parameter 'onDependencyFailure' must be cancel, fail or run")
                }
                return policy
            })
    }

    /// `dependsOn`: a list of task ids (numbers, or digit strings from a query or form), in a
    /// batch also `"#N"`.
    private func taskReferences(_ value: JSONValue?, batchItems: Bool) throws(OCSError) -> [TaskReference] {
        guard let value else { return [] }
        let wrong = OCSError.badRequest(
            "parameter 'dependsOn' must be a list of task ids\(batchItems ? " or \"#N\" naming earlier items of the batch" : "")")
        guard let items = value.arrayValue else { throw wrong }
        var references: [TaskReference] = []
        for item in items {
            let number = item.stringValue.flatMap { text in text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } ? Int64(text) : nil }
            guard let reference = TaskReference(number.map(JSONValue.int) ?? item, batchItems: batchItems) else { throw wrong }
            references.append(reference)
        }
        return references
    }

    func get(_ context: EndpointContext, id: Int64, owner: TaskOwner) throws -> EndpointResult {
        guard let task = try store.task(id: id, owner: owner) else { throw OCSError.notFound("Task not found") }
        return .ok(["task": TaskJSON.task(task)])
    }

    /// `GET tasks/{id}/queue_position`: `position`, 1 for the task its type's workers claim next,
    /// 0 when it is not waiting to be claimed; `exact` false when it is estimated (beyond
    /// Nextcloud, whose clients ignore it). Another user's task is a 404, as in `get`.
    func queuePosition(_ context: EndpointContext, id: Int64, owner: TaskOwner) throws -> EndpointResult {
        try context.parameters.refuseUnknown([])
        guard let position = try store.queuePosition(id: id, owner: owner) else { throw OCSError.notFound("Task not found") }
        return .ok(["position": .int(position.position), "exact": .bool(position.exact)])
    }

    /// Answers 200 with `null` also when there was nothing to delete, as Nextcloud does.
    func delete(_ context: EndpointContext, id: Int64, owner: TaskOwner) throws -> EndpointResult {
        // Tasks that waited for it and run anyway ('run') are released by the delete.
        if try store.delete(id: id, owner: owner) { services.announcer.announce(endOf: [id]) }
        return .ok(.null)
    }

    func list(_ context: EndpointContext) throws -> EndpointResult {
        let userID = try context.requireUser()
        let type = try context.parameters.string("taskType")
        let customID = try context.parameters.string("customId")
        return .ok(["tasks": TaskJSON.tasks(try store.tasks(userID: userID, type: type, customID: customID))])
    }

    func listForApp(_ context: EndpointContext, appID: String) throws -> EndpointResult {
        let userID = try context.requireUser()
        let customID = try context.parameters.string("customId")
        return .ok(["tasks": TaskJSON.tasks(try store.tasks(userID: userID, appID: appID, customID: customID))])
    }

    func cancel(_ context: EndpointContext, id: Int64, owner: TaskOwner) throws -> EndpointResult {
        .ok(["task": TaskJSON.task(try services.recorder.cancel(taskID: id, owner: owner))])
    }

    /// The types that have a provider, as in Nextcloud, as of now (not a hot path).
    func taskTypes(_ context: EndpointContext) throws -> EndpointResult {
        let types = JSONObject(try catalog.current().availableTypes.map { ($0.id, TaskJSON.taskType($0)) })
        return .ok(["types": .object(types)])
    }
}
