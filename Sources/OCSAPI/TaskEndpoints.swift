import JSON
import TaskQueue

/// The user-facing routes: schedule, read, list, cancel, delete, task types.
struct TaskEndpoints: Sendable {
    let store: TaskStore
    let catalog: ProviderCatalog
    let configuration: OCSServerConfiguration
    let taskFinished: TaskFinishedListener

    static let maxIdentifierLength = 255

    private var quota: ScheduleQuota { ScheduleQuota(store: store, limit: configuration.scheduleRateLimit) }

    /// `schedule` for a user: `appId` names the scheduling app and is required, as in Nextcloud.
    func schedule(_ context: EndpointContext) throws(OCSError) -> EndpointResult {
        let userID = try context.requireUser()
        return try schedule(context, userID: userID, appID: try context.parameters.requiredString("appId"))
    }

    /// `tasks_consumer/schedule`: `appId` defaults to the calling ExApp. Acting for no user, the
    /// ExApp owns the task through its app id, so it cannot schedule under another app's id.
    func consumerSchedule(_ context: EndpointContext) throws(OCSError) -> EndpointResult {
        let owner = try context.consumerOwner()
        let callerAppID = try context.requireExApp(routes: "tasks_consumer routes")
        let appID = try context.parameters.string("appId") ?? callerAppID
        if owner.appID != nil, appID != callerAppID {
            throw .badRequest(
                "parameter 'appId' must be the calling ExApp's id ('\(callerAppID)') when it acts for no user: "
                    + "the task belongs to that app")
        }
        return try schedule(context, userID: owner.userID, appID: appID)
    }

    private func schedule(_ context: EndpointContext, userID: String?, appID: String) throws(OCSError) -> EndpointResult {
        let task = try newTask(from: context.parameters, userID: userID, appID: appID)
        let idempotencyKey = try Self.idempotencyKey(context)
        let grant = try quota.take(userID: userID, appID: appID, count: 1)
        let outcome: ScheduleOutcome
        do throws(OCSError) {
            outcome = try storeCall { () throws(TaskStoreError) in try store.schedule(task, idempotencyKey: idempotencyKey) }
        } catch {
            quota.giveBack(grant)
            throw error
        }
        switch outcome {
        case .created(let scheduled):
            return .ok(["task": TaskJSON.task(scheduled)])
        case .replayed(let scheduled):
            quota.giveBack(grant)
            return .ok(["task": TaskJSON.task(scheduled)])
        case .keyReused:
            quota.giveBack(grant)
            throw OCSError(
                status: 422, message: "the Idempotency-Key was already used with a different request; nothing was scheduled")
        }
    }

    /// Schedules up to `maxBatchItems` tasks in one statement (beyond Nextcloud). Every item is
    /// checked first; one bad item refuses the whole batch (400 naming it), so a batch is
    /// scheduled entirely or not at all.
    func scheduleBatch(_ context: EndpointContext) throws(OCSError) -> EndpointResult {
        let userID = try context.requireUser()
        let items = try context.parameters.objectList("tasks", limit: configuration.maxBatchItems)
        var tasks: [NewTask] = []
        for (index, item) in items.enumerated() {
            do throws(OCSError) {
                let parameters = RequestParameters(item)
                tasks.append(try newTask(from: parameters, userID: userID, appID: try parameters.requiredString("appId")))
            } catch {
                throw OCSError(status: error.status, message: "tasks[\(index)]: \(error.message)")
            }
        }
        let grant = try quota.take(userID: userID, appID: nil, count: tasks.count)
        do throws(OCSError) {
            let scheduled = try storeCall { () throws(TaskStoreError) in try store.schedule(batch: tasks) }
            return .ok(["tasks": TaskJSON.tasks(scheduled)])
        } catch {
            quota.giveBack(grant)
            throw error
        }
    }

    /// Reads and checks one task's parameters (a request's, or one item of a batch), and
    /// validates its input against the type's shapes (defaults filled, unknown keys dropped).
    func newTask(from parameters: RequestParameters, userID: String?, appID: String) throws(OCSError) -> NewTask {
        let type = try parameters.requiredString("type")
        let rawInput = try parameters.requiredObject("input")
        let customID = try parameters.string("customId") ?? ""
        let webhookURI = try parameters.string("webhookUri")
        let webhookMethod = try parameters.string("webhookMethod")
        let includeWatermark = try parameters.bool("includeWatermark") ?? true
        let priority = try parameters.int("priority", in: ParameterRanges.priority) ?? 0
        let runAfter = try parameters.int("runAfter", in: ParameterRanges.runAfter)

        let (taskType, provider) = try available(type)
        guard !appID.isEmpty, appID.utf8.count <= Self.maxIdentifierLength else {
            throw .badRequest("parameter 'appId' must be 1 to \(Self.maxIdentifierLength) bytes")
        }
        guard customID.utf8.count <= Self.maxIdentifierLength else {
            throw .badRequest("parameter 'customId' must be at most \(Self.maxIdentifierLength) bytes")
        }
        try checkWebhook(uri: webhookURI, method: webhookMethod)
        let input: JSONObject
        do {
            input = try ShapeValidator.validateInput(rawInput, for: taskType)
        } catch {
            throw .badRequest("invalid input for \(type): \(error)")
        }
        return NewTask(
            type: type, input: input, userID: userID, appID: appID, customID: customID, webhookURI: webhookURI,
            webhookMethod: webhookMethod, includeWatermark: includeWatermark,
            expectedRuntimeSeconds: provider.expectedRuntimeSeconds, priority: priority,
            runAfter: runAfter.map(Int64.init),
            inputFileIDs: ShapeValidator.fileIDs(in: input, side: .input, for: taskType))
    }

    /// The type and its preferred provider (whose expected runtime sets `completionExpectedAt`).
    /// An unknown type is a 400; a known type without a provider is a 412, as in Nextcloud.
    /// Either answer is checked against the database first, so a type or provider registered
    /// through another server process a moment ago is honoured.
    private func available(_ type: String) throws(OCSError) -> (TaskType, TaskProvider) {
        var known = false
        let found = try providerCall { () throws(ProviderStoreError) in
            try catalog.lookup { snapshot -> (type: TaskType, provider: TaskProvider)? in
                known = snapshot.types[type] != nil
                return snapshot.available(type)
            }
        }
        if let found { return (found.type, found.provider) }
        guard known else { throw .badRequest("unknown task type '\(type)'; GET /tasktypes lists them") }
        throw OCSError(status: 412, message: "No task processing provider is installed that can handle this task type: \(type)")
    }

    /// Refuses a webhook the server will not call: a method other than `HTTP:*`, a URI that is
    /// not http(s), and (unless allowed) a literal loopback or private address. Host names are
    /// checked again after resolving, when delivering.
    private func checkWebhook(uri: String?, method: String?) throws(OCSError) {
        do throws(WebhookTargetError) {
            if let uri {
                _ = try WebhookTarget(uri: uri, method: method, allowPrivateTargets: configuration.webhookAllowPrivateTargets)
            } else if let method {
                _ = try WebhookTarget.httpMethod(for: method)
            }
        } catch {
            throw .badRequest("invalid webhook: \(error.message)")
        }
    }

    /// The caller's `Idempotency-Key`, scoped to the caller so that keys of different callers never meet.
    static func idempotencyKey(_ context: EndpointContext) throws(OCSError) -> IdempotencyKey? {
        guard let key = context.headers["Idempotency-Key"] else { return nil }
        guard (1...255).contains(key.utf8.count), key.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else {
            throw .badRequest("the Idempotency-Key header must be 1 to 255 printable characters")
        }
        let scope =
            switch context.principal {
            case .user(let name, _): "user:\(name)"
            case .exApp(let appID, let userID): "app:\(appID):\(userID ?? "")"
            }
        return IdempotencyKey(scope: scope, key: key)
    }

    func get(_ context: EndpointContext, id: Int64, owner: TaskOwner) throws(OCSError) -> EndpointResult {
        guard let task = try storeCall({ () throws(TaskStoreError) in try store.task(id: id, owner: owner) }) else {
            throw .notFound("Task not found")
        }
        return .ok(["task": TaskJSON.task(task)])
    }

    /// Answers 200 with `null` also when there was nothing to delete, as Nextcloud does.
    func delete(_ context: EndpointContext, id: Int64, owner: TaskOwner) throws(OCSError) -> EndpointResult {
        try storeCall { () throws(TaskStoreError) in _ = try store.delete(id: id, owner: owner) }
        return .ok(.null)
    }

    func list(_ context: EndpointContext) throws(OCSError) -> EndpointResult {
        let userID = try context.requireUser()
        let type = try context.parameters.string("taskType")
        let customID = try context.parameters.string("customId")
        let tasks = try storeCall { () throws(TaskStoreError) in try store.tasks(userID: userID, type: type, customID: customID) }
        return .ok(["tasks": TaskJSON.tasks(tasks)])
    }

    func listForApp(_ context: EndpointContext, appID: String) throws(OCSError) -> EndpointResult {
        let userID = try context.requireUser()
        let customID = try context.parameters.string("customId")
        let tasks = try storeCall { () throws(TaskStoreError) in
            try store.tasks(userID: userID, appID: appID, customID: customID)
        }
        return .ok(["tasks": TaskJSON.tasks(tasks)])
    }

    func cancel(_ context: EndpointContext, id: Int64, owner: TaskOwner) throws(OCSError) -> EndpointResult {
        switch try storeCall({ () throws(TaskStoreError) in try store.cancel(id: id, owner: owner) }) {
        case .cancelled(let task):
            taskFinished.taskChanged(task)
            return .ok(["task": TaskJSON.task(task)])
        case .unchanged(let task): return .ok(["task": TaskJSON.task(task)])
        case .notFound: throw .notFound("Task not found")
        }
    }

    /// The types that have a provider, as in Nextcloud, as of now (not a hot path).
    func taskTypes(_ context: EndpointContext) throws(OCSError) -> EndpointResult {
        let snapshot = try providerCall { () throws(ProviderStoreError) in try catalog.current() }
        let types = JSONObject(snapshot.availableTypes.map { ($0.id, TaskJSON.taskType($0)) })
        return .ok(["types": .object(types)])
    }
}
