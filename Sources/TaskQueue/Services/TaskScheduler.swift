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

    public init(
        type: String, input: JSONObject, userID: String?, appID: String, customID: String = "", webhookURI: String? = nil,
        webhookMethod: String? = nil, includeWatermark: Bool = true, priority: Int = 0, runAfter: Int? = nil
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
    }
}

/// Schedules tasks: checks a request against the rules (type and provider available, sizes,
/// webhook target, input shape), applies the rate limit, and stores the task, once per
/// idempotency key. Whatever front end schedules goes through here.
public struct TaskScheduler: Sendable {
    let store: TaskStore
    let catalog: ProviderCatalog
    let rules: TaskRules

    /// Longest app id and custom id, in bytes.
    public static let maxIdentifierLength = 255

    private var quota: ScheduleQuota { ScheduleQuota(store: store, limit: rules.scheduleRateLimit) }

    /// The task `request` describes, checked, with its input validated against the type's
    /// shapes (defaults filled, unknown keys dropped).
    public func validate(_ request: ScheduleRequest) throws -> NewTask {
        let (taskType, provider) = try available(request.type)
        guard !request.appID.isEmpty, request.appID.utf8.count <= Self.maxIdentifierLength else {
            throw ServiceError.invalid("parameter 'appId' must be 1 to \(Self.maxIdentifierLength) bytes")
        }
        guard request.customID.utf8.count <= Self.maxIdentifierLength else {
            throw ServiceError.invalid("parameter 'customId' must be at most \(Self.maxIdentifierLength) bytes")
        }
        try checkWebhook(uri: request.webhookURI, method: request.webhookMethod)
        let input: JSONObject
        do {
            input = try ShapeValidator.validateInput(request.input, for: taskType)
        } catch {
            throw ServiceError.invalid("invalid input for \(request.type): \(error)")
        }
        return NewTask(
            type: request.type, input: input, userID: request.userID, appID: request.appID, customID: request.customID,
            webhookURI: request.webhookURI, webhookMethod: request.webhookMethod, includeWatermark: request.includeWatermark,
            expectedRuntimeSeconds: provider.expectedRuntimeSeconds, priority: request.priority,
            runAfter: request.runAfter.map(Int64.init),
            inputFileIDs: ShapeValidator.fileIDs(in: input, side: .input, for: taskType))
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
            return scheduled
        case .keyReused:
            throw ServiceError(
                .idempotencyKeyReused, "the Idempotency-Key was already used with a different request; nothing was scheduled")
        }
    }

    /// Stores checked tasks in one statement, all or none, within the user's rate limit.
    public func schedule(batch tasks: [NewTask], userID: String?) throws -> [TaskRecord] {
        try quota.spending(userID: userID, appID: nil, count: tasks.count) {
            try withInputFileCheck { try store.schedule(batch: tasks) }
        } stored: { _ in true }
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
