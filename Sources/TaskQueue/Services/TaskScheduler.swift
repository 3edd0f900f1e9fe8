import JSON

/// One task as a front end read it from a request, before any rule is checked.
public struct ScheduleRequest: Sendable {
    public var type: String
    public var input: JSONObject
    public var userID: String?
    public var appID: String
    public var customID: String
    public var webhookURI: String?
    public var webhookMethod: String?
    public var includeWatermark: Bool
    public var priority: Int
    public var runAfter: Int?
    /// The tasks it waits for (beyond Nextcloud); empty: none.
    public var dependsOn: [TaskReference]
    /// What a dependency's failure does to it; nil: cancel.
    public var onDependencyFailure: DependencyFailurePolicy?

    public init(
        type: String, input: JSONObject, userID: String?, appID: String, customID: String = "", webhookURI: String? = nil,
        webhookMethod: String? = nil, includeWatermark: Bool = true, priority: Int = 0, runAfter: Int? = nil,
        dependsOn: [TaskReference] = [], onDependencyFailure: DependencyFailurePolicy? = nil
    ) {
        self.type = type
        self.input = input
        self.userID = userID
        self.appID = appID
        self.customID = customID
        self.webhookURI = webhookURI
        self.webhookMethod = webhookMethod
        self.includeWatermark = includeWatermark
        self.priority = priority
        self.runAfter = runAfter
        self.dependsOn = dependsOn
        self.onDependencyFailure = onDependencyFailure
    }
}

/// Schedules tasks: checks a request against the rules (type and provider available, sizes,
/// webhook target, input shape), applies the rate limit, and stores the task, once per
/// idempotency key. Whatever front end schedules goes through here.
public struct TaskScheduler: Sendable {
    let store: TaskStore
    let catalog: ProviderCatalog
    let rules: TaskRules
    let inputResolver: InputResolver

    /// Longest app id and custom id, in bytes.
    public static let maxIdentifierLength = 255

    private var quota: ScheduleQuota { ScheduleQuota(store: store, limit: rules.scheduleRateLimit) }

    /// The task `request` describes, checked, with its input validated against the type's
    /// shapes (defaults filled, unknown keys dropped). In a batch, `earlierBatchTypes` are the
    /// types of the items before this one, which it may depend on as `#N`.
    public func validate(_ request: ScheduleRequest, earlierBatchTypes: [String]? = nil) throws -> NewTask {
        let (taskType, provider) = try available(request.type)
        guard !request.appID.isEmpty, request.appID.utf8.count <= Self.maxIdentifierLength else {
            throw ServiceError.invalid("parameter 'appId' must be 1 to \(Self.maxIdentifierLength) bytes")
        }
        guard request.customID.utf8.count <= Self.maxIdentifierLength else {
            throw ServiceError.invalid("parameter 'customId' must be at most \(Self.maxIdentifierLength) bytes")
        }
        try checkWebhook(uri: request.webhookURI, method: request.webhookMethod)
        let dependencies = try dependencies(of: request, type: taskType, earlierBatchTypes: earlierBatchTypes)
        let input: JSONObject
        do {
            input = try ShapeValidator.validateInput(
                request.input, for: taskType, deferring: Set(dependencies?.references.map(\.inputKey) ?? []))
        } catch {
            throw ServiceError.invalid("invalid input for \(request.type): \(error)")
        }
        return NewTask(
            type: request.type, input: input, userID: request.userID, appID: request.appID, customID: request.customID,
            webhookURI: request.webhookURI, webhookMethod: request.webhookMethod, includeWatermark: request.includeWatermark,
            expectedRuntimeSeconds: provider.expectedRuntimeSeconds, priority: request.priority,
            runAfter: request.runAfter.map(Int64.init),
            inputFileIDs: ShapeValidator.fileIDs(in: input, side: .input, for: taskType), dependencies: dependencies)
    }

    /// The request's dependencies, checked: at most `maxDependencies`, each a task the caller
    /// may see (404 otherwise) or an earlier batch item, and each output reference naming one of
    /// them, a key of its type's output shape, and a key of this type's input shape.
    private func dependencies(
        of request: ScheduleRequest, type: TaskType, earlierBatchTypes: [String]?
    ) throws -> NewTaskDependencies? {
        let references = try OutputReference.references(in: request.input, batchItems: earlierBatchTypes != nil)
        var seen = Set<TaskReference>()
        let dependsOn = request.dependsOn.filter { seen.insert($0).inserted }
        guard !dependsOn.isEmpty else {
            if let reference = references.first {
                throw ServiceError.invalid("input '\(reference.inputKey)' names \(reference.task)'s output, which needs 'dependsOn'")
            }
            if request.onDependencyFailure != nil { throw ServiceError.invalid("parameter 'onDependencyFailure' needs 'dependsOn'") }
            return nil
        }
        guard dependsOn.count <= rules.maxDependencies else {
            throw ServiceError.invalid("parameter 'dependsOn' names \(dependsOn.count) tasks; at most \(rules.maxDependencies) are allowed")
        }
        let ids = dependsOn.compactMap(\.taskID)
        let visible = try store.taskTypes(ids: ids, owner: request.userID.map(TaskOwner.user) ?? .app(request.appID))
        if let missing = ids.first(where: { visible[$0] == nil }) {
            throw ServiceError.notFound("dependsOn: task \(missing) not found")
        }
        var predecessorTypes: [TaskReference: String] = [:]
        for reference in dependsOn {
            switch reference {
            case .task(let id):
                predecessorTypes[reference] = visible[id]
            case .batchItem(let index):
                guard let earlier = earlierBatchTypes, earlier.indices.contains(index) else {
                    throw ServiceError.invalid("dependsOn: #\(index) is not an earlier item of this batch")
                }
                predecessorTypes[reference] = earlier[index]
            }
        }
        let inputKeys = Set((type.inputShape + type.optionalInputShape).map(\.key))
        let types = references.isEmpty ? nil : try catalog.current().types
        for reference in references {
            guard let predecessorType = predecessorTypes[reference.task] else {
                throw ServiceError.invalid("input '\(reference.inputKey)' names \(reference.task), which is not in 'dependsOn'")
            }
            guard inputKeys.contains(reference.inputKey) else {
                throw ServiceError.invalid("input '\(reference.inputKey)' is not an input of \(type.id)")
            }
            let outputKeys = types?[predecessorType].map { Set(($0.outputShape + $0.optionalOutputShape).map(\.key)) } ?? []
            guard outputKeys.contains(reference.outputKey) else {
                throw ServiceError.invalid(
                    "input '\(reference.inputKey)' names output '\(reference.outputKey)' of \(reference.task), "
                        + "which its type \(predecessorType) does not have")
            }
        }
        return NewTaskDependencies(dependsOn: dependsOn, policy: request.onDependencyFailure ?? .cancel, references: references)
    }

    /// Stores a checked task within the rate limit; with an idempotency key, a repeat of the
    /// same request answers the task stored the first time (and costs no quota).
    public func schedule(_ task: NewTask, idempotencyKey: IdempotencyKey?) throws -> TaskRecord {
        let outcome = try quota.spending(userID: task.userID, appID: task.appID, count: 1) {
            try withInputFileCheck { try store.schedule(task, idempotencyKey: idempotencyKey) }
        } stored: { outcome in
            if case .created = outcome { true } else { false }
        }
        switch outcome {
        case .created(let scheduled), .replayed(let scheduled):
            return try withInputsResolved([scheduled])[0]
        case .keyReused:
            throw ServiceError(
                .idempotencyKeyReused, "the Idempotency-Key was already used with a different request; nothing was scheduled")
        }
    }

    /// Stores checked tasks in one statement, all or none, within the user's rate limit. When
    /// items depend on earlier items (`#N`), the ids are allocated first and put in their place.
    public func schedule(batch tasks: [NewTask], userID: String?) throws -> [TaskRecord] {
        try quota.spending(userID: userID, appID: nil, count: tasks.count) {
            try withInputFileCheck {
                let itemDependencies = tasks.contains { task in
                    task.dependencies?.dependsOn.contains { $0.taskID == nil } ?? false
                }
                guard itemDependencies else { return try withInputsResolved(store.schedule(batch: tasks)) }
                let ids = try store.allocateTaskIDs(tasks.count)
                return try withInputsResolved(store.schedule(batch: tasks.map { $0.resolvingBatchItems(ids) }, ids: ids))
            }
        } stored: { _ in true }
    }

    /// The tasks as they are once the inputs of those whose dependencies had all succeeded
    /// already (waiting with nothing to wait for: their output references to fill in) are
    /// prepared, so that the answer shows them claimable (or failed), as a worker finds them.
    /// Another process (or this one's listener, on the database's notice) may prepare them
    /// first, so they are read again.
    private func withInputsResolved(_ tasks: [TaskRecord]) throws -> [TaskRecord] {
        guard tasks.contains(where: { $0.status == .waiting && $0.waitingFor.isEmpty }) else { return tasks }
        try inputResolver.resolvePending(waitingForOthers: true)
        return try tasks.map { task in
            guard task.status == .waiting, task.waitingFor.isEmpty else { return task }
            return try store.task(id: task.id, userID: nil) ?? task
        }
    }

    /// The app a `tasks_consumer` schedule files the task under: the one asked for, which must
    /// be the calling ExApp's own when it acts for no user (the task then belongs to that app).
    public func consumerAppID(asked: String?, callerAppID: String, actsForUser: Bool) throws -> String {
        let appID = asked ?? callerAppID
        if !actsForUser, appID != callerAppID {
            throw ServiceError.invalid(
                "parameter 'appId' must be the calling ExApp's id ('\(callerAppID)') when it acts for no user: "
                    + "the task belongs to that app")
        }
        return appID
    }

    /// A caller's idempotency key, scoped to the caller so that keys of different callers never meet.
    public static func idempotencyKey(_ key: String?, caller: Principal) throws -> IdempotencyKey? {
        guard let key else { return nil }
        guard (1...255).contains(key.utf8.count), key.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else {
            throw ServiceError.invalid("the Idempotency-Key header must be 1 to 255 printable characters")
        }
        let scope =
            switch caller {
            case .user(let name, _): "user:\(name)"
            case .exApp(let appID, let userID): "app:\(appID):\(userID ?? "")"
            }
        return IdempotencyKey(scope: scope, key: key)
    }

    /// The type and its preferred provider (whose expected runtime sets `completionExpectedAt`).
    /// An unknown type is invalid; a known type without a provider has no provider, as in
    /// Nextcloud. Either answer is checked against the database first, so a type or provider
    /// registered through another server process a moment ago is honoured.
    private func available(_ type: String) throws -> (TaskType, TaskProvider) {
        var known = false
        let found = try catalog.lookup { snapshot -> (type: TaskType, provider: TaskProvider)? in
            known = snapshot.types[type] != nil
            return snapshot.available(type)
        }
        if let found { return (found.type, found.provider) }
        guard known else { throw ServiceError.invalid("unknown task type '\(type)'; GET /tasktypes lists them") }
        throw ServiceError(.noProvider, "No task processing provider is installed that can handle this task type: \(type)")
    }

    /// Refuses a webhook the server will not call: a method other than `HTTP:*`, a URI that is
    /// not http(s), and (unless allowed) a literal loopback or private address. Host names are
    /// checked again after resolving, when delivering.
    private func checkWebhook(uri: String?, method: String?) throws {
        do throws(WebhookTargetError) {
            if let uri {
                _ = try WebhookTarget(uri: uri, method: method, allowPrivateTargets: rules.webhookAllowPrivateTargets)
            } else if let method {
                _ = try WebhookTarget.httpMethod(for: method)
            }
        } catch {
            throw ServiceError.invalid("invalid webhook: \(error.message)")
        }
    }

    /// Input file ids that name no unused upload of the task's owner are the caller's mistake.
    private func withInputFileCheck<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch StoreError.inputFilesUnavailable(let ids) {
            throw ServiceError.invalid(
                "input file ids \(ids.map(String.init).joined(separator: ", ")) do not name uploads of the task's owner "
                    + "that no task uses yet (upload with POST /files; each upload serves one task)")
        }
    }
}
