/// Every endpoint the server answers, with the ids taken from its path.
public enum Route: Sendable, Equatable {
    case schedule
    case scheduleBatch
    case getTask(id: Int64)
    case deleteTask(id: Int64)
    case listTasks
    case listAppTasks(appID: String)
    case cancelTask(id: Int64)
    /// `tasks/{id}/queue_position` (Nextcloud 34).
    case queuePosition(id: Int64)
    case taskTypes
    case nextTask
    case reportProgress(taskID: Int64)
    case reportResult(taskID: Int64)
    /// `tasks_provider/{id}/stream-result` (Nextcloud 34): an intermediate output.
    case reportIntermediateResult(taskID: Int64)
    case reportResults
    case adminStatus
    case nextBatch
    case queueStats
    case consumerSchedule
    case consumerGetTask(id: Int64)
    case consumerDeleteTask(id: Int64)
    case consumerCancelTask(id: Int64)
    case consumerTaskTypes
    /// `cloud/capabilities`: what nc_py_api reads before AppAPI calls.
    case capabilities
    /// AppAPI `ai_provider/task_processing`: an ExApp registers or removes a provider.
    case registerProvider
    case unregisterProvider
    case uploadFile
    case providerUploadFile(taskID: Int64)
    case getTaskFile(taskID: Int64, fileID: Int64)
    case providerGetTaskFile(taskID: Int64, fileID: Int64)
    // Operators (`admin/...`).
    case adminTasks
    case adminTask(id: Int64)
    case adminRetryTask(id: Int64)
    case adminCancelTask(id: Int64)
    case adminRetryTasks
    case adminCancelTasks
    case adminTypes
    case adminPauseType(type: String)
    case adminResumeType(type: String)
    case adminTypeLimits(type: String)
    case adminStats
    case adminWorkers
    case adminHistory
    case adminWebhooks
    case adminTaskFile(taskID: Int64, fileID: Int64)

    /// The task the route names in its path, if it names one (for logs).
    public var taskID: Int64? {
        switch self {
        case .getTask(let id), .deleteTask(let id), .cancelTask(let id), .queuePosition(let id), .consumerGetTask(let id), .consumerDeleteTask(let id),
            .consumerCancelTask(let id), .adminTask(let id), .adminRetryTask(let id), .adminCancelTask(let id),
            .adminTaskFile(let id, _):
            id
        case .reportProgress(let id), .reportResult(let id), .reportIntermediateResult(let id), .providerUploadFile(let id), .getTaskFile(let id, _),
            .providerGetTaskFile(let id, _):
            id
        default: nil
        }
    }

    /// Whether the route is an operator's (`admin/...`): the only routes a dashboard session may call.
    public var isAdmin: Bool {
        switch self {
        case .adminStatus, .adminTasks, .adminTask, .adminRetryTask, .adminCancelTask, .adminRetryTasks, .adminCancelTasks,
            .adminTypes, .adminPauseType, .adminResumeType, .adminTypeLimits, .adminStats, .adminWorkers, .adminHistory,
            .adminWebhooks, .adminTaskFile:
            true
        default: false
        }
    }

    /// Whether the route takes a file upload (a larger body limit, a multipart body).
    public var takesUpload: Bool {
        switch self {
        case .uploadFile, .providerUploadFile: true
        default: false
        }
    }
}

/// The outcome of matching a method and path.
public enum RouteMatch: Sendable, Equatable {
    case route(Route, OCSVersion)
    case notFound
    /// The path exists but not for this method; `allowed` goes in the `Allow` header.
    case methodNotAllowed(allowed: [String], version: OCSVersion)
    /// The path has the shape of a route but an id in it is not a positive integer.
    case invalidID(String, version: OCSVersion)
}

/// Maps `METHOD /ocs/v{1,2}.php/...` (TaskProcessing, capabilities, AppAPI providers) to a `Route`.
public enum Router {
    static let prefixes: [(String, OCSVersion)] = [("/ocs/v2.php/", .v2), ("/ocs/v1.php/", .v1)]

    public static func match(method: String, path: String) -> RouteMatch {
        matchWithPattern(method: method, path: path).match
    }

    /// The match, and the pattern of the path it matched (`/ocs/v2.php/taskprocessing/task/{id}`),
    /// nil when no path shape fits: what metrics label requests by, so that no id in a path
    /// makes a series of its own.
    public static func matchWithPattern(method: String, path: String) -> (match: RouteMatch, pattern: String?) {
        guard let prefixIndex = prefixes.firstIndex(where: { path.hasPrefix($0.0) }) else { return (.notFound, nil) }
        let (prefix, version) = prefixes[prefixIndex]
        var rest = Substring(path.utf8.dropFirst(prefix.utf8.count))
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        let segments = rest.split(separator: "/", omittingEmptySubsequences: false)

        for entry in table {
            guard let captures = capture(entry.pattern, segments) else { continue }
            let pattern = entry.names[prefixIndex]
            // HEAD is not GET here: a HEAD on `tasks_provider/next` would claim a task and drop it.
            guard let (_, build) = entry.methods.first(where: { $0.0 == method }) else {
                return (.methodNotAllowed(allowed: entry.methods.map(\.0), version: version), pattern)
            }
            guard let route = build(captures) else {
                let message = "the id in the path must be a positive integer, got '\(captures.first { positiveID($0) == nil } ?? "")'"
                return (.invalidID(message, version: version), pattern)
            }
            return (.route(route, version), pattern)
        }
        return (.notFound, nil)
    }

    /// Builds a route from the captured segments; nil when an id is not a positive integer.
    private typealias Builder = @Sendable ([Substring]) -> Route?

    /// One path shape: its segments (":id" a numeric id, ":app" or ":type" any text), then method → route.
    private struct Entry: Sendable {
        let pattern: [String]
        let methods: [(String, Builder)]
        /// The pattern as a path under each prefix, captures as `{name}`: `/ocs/v2.php/taskprocessing/task/{id}`.
        let names: [String]

        init(pattern: [String], methods: [(String, Builder)]) {
            self.pattern = pattern
            self.methods = methods
            let path = pattern.map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : $0 }.joined(separator: "/")
            names = Router.prefixes.map { $0.0 + path }
        }
    }

    /// Built once: every request is matched against it (twice: for its body limit, then to answer).
    private static let table: [Entry] = {
        let taskProcessing: [([String], [(String, Builder)])] = [
            (["schedule"], [("POST", { _ in .schedule })]),
            (["schedule", "batch"], [("POST", { _ in .scheduleBatch })]),
            (["tasktypes"], [("GET", { _ in .taskTypes })]),
            (["tasks"], [("GET", { _ in .listTasks })]),
            (["tasks", "app", ":app"], [("GET", { .listAppTasks(appID: String($0[0])) })]),
            (["task", ":id"], [
                ("GET", { id($0).map { .getTask(id: $0) } }),
                ("DELETE", { id($0).map { .deleteTask(id: $0) } }),
            ]),
            (["tasks", ":id", "cancel"], [("POST", { id($0).map { .cancelTask(id: $0) } })]),
            (["tasks", ":id", "queue_position"], [("GET", { id($0).map { .queuePosition(id: $0) } })]),
            (["tasks_provider", "next"], [("GET", { _ in .nextTask })]),
            (["tasks_provider", ":id", "progress"], [("POST", { id($0).map { .reportProgress(taskID: $0) } })]),
            (["tasks_provider", ":id", "result"], [("POST", { id($0).map { .reportResult(taskID: $0) } })]),
            (["tasks_provider", ":id", "stream-result"], [("POST", { id($0).map { .reportIntermediateResult(taskID: $0) } })]),
            (["tasks_provider", "results"], [("POST", { _ in .reportResults })]),
            (["admin", "status"], [("GET", { _ in .adminStatus })]),
            (["admin", "tasks"], [("GET", { _ in .adminTasks })]),
            // Before `admin/tasks/:id`, which would take "retry" for an id.
            (["admin", "tasks", "retry"], [("POST", { _ in .adminRetryTasks })]),
            (["admin", "tasks", "cancel"], [("POST", { _ in .adminCancelTasks })]),
            (["admin", "tasks", ":id"], [("GET", { id($0).map { .adminTask(id: $0) } })]),
            (["admin", "tasks", ":id", "retry"], [("POST", { id($0).map { .adminRetryTask(id: $0) } })]),
            (["admin", "tasks", ":id", "cancel"], [("POST", { id($0).map { .adminCancelTask(id: $0) } })]),
            (["admin", "tasks", ":id", "file", ":id"], [
                ("GET", { ids($0).map { .adminTaskFile(taskID: $0.0, fileID: $0.1) } }),
            ]),
            (["admin", "types"], [("GET", { _ in .adminTypes })]),
            (["admin", "types", ":type", "pause"], [("POST", { .adminPauseType(type: String($0[0])) })]),
            (["admin", "types", ":type", "resume"], [("POST", { .adminResumeType(type: String($0[0])) })]),
            (["admin", "types", ":type", "limits"], [("PUT", { .adminTypeLimits(type: String($0[0])) })]),
            (["admin", "stats"], [("GET", { _ in .adminStats })]),
            (["admin", "workers"], [("GET", { _ in .adminWorkers })]),
            (["admin", "history"], [("GET", { _ in .adminHistory })]),
            (["admin", "webhooks"], [("GET", { _ in .adminWebhooks })]),
            (["tasks_provider", "next_batch"], [("GET", { _ in .nextBatch })]),
            (["queue_stats"], [("GET", { _ in .queueStats })]),
            (["tasks_consumer", "schedule"], [("POST", { _ in .consumerSchedule })]),
            (["tasks_consumer", "task", ":id"], [
                ("GET", { id($0).map { .consumerGetTask(id: $0) } }),
                ("DELETE", { id($0).map { .consumerDeleteTask(id: $0) } }),
            ]),
            (["tasks_consumer", "tasks", ":id", "cancel"], [("POST", { id($0).map { .consumerCancelTask(id: $0) } })]),
            (["tasks_consumer", "tasktypes"], [("GET", { _ in .consumerTaskTypes })]),
            (["files"], [("POST", { _ in .uploadFile })]),
            (["tasks_provider", ":id", "file"], [("POST", { id($0).map { .providerUploadFile(taskID: $0) } })]),
            (["tasks", ":id", "file", ":id"], [
                ("GET", { ids($0).map { .getTaskFile(taskID: $0.0, fileID: $0.1) } }),
            ]),
            (["tasks_provider", ":id", "file", ":id"], [
                ("GET", { ids($0).map { .providerGetTaskFile(taskID: $0.0, fileID: $0.1) } }),
            ]),
        ]
        let others: [([String], [(String, Builder)])] = [
            (["cloud", "capabilities"], [("GET", { _ in .capabilities })]),
            (["apps", "app_api", "api", "v1", "ai_provider", "task_processing"], [
                ("POST", { _ in .registerProvider }), ("DELETE", { _ in .unregisterProvider }),
            ]),
        ]
        return taskProcessing.map { Entry(pattern: ["taskprocessing"] + $0.0, methods: $0.1) }
            + others.map { Entry(pattern: $0.0, methods: $0.1) }
    }()

    /// The captured segments if `segments` fits `pattern`.
    private static func capture(_ pattern: [String], _ segments: [Substring]) -> [Substring]? {
        guard pattern.count == segments.count else { return nil }
        var captures: [Substring] = []
        for (expected, actual) in zip(pattern, segments) {
            if expected.hasPrefix(":") {
                guard !actual.isEmpty else { return nil }
                captures.append(actual)
            } else if !expected.utf8.elementsEqual(actual.utf8) {
                // Byte comparison: path segments are matched exactly, no Unicode equivalence.
                return nil
            }
        }
        return captures
    }

    /// A positive 64-bit id, or nil.
    private static func id(_ captures: [Substring]) -> Int64? {
        guard let text = captures.first else { return nil }
        return positiveID(text)
    }

    /// Two positive ids (a task's and a file's), or nil.
    private static func ids(_ captures: [Substring]) -> (Int64, Int64)? {
        guard captures.count == 2, let first = positiveID(captures[0]), let second = positiveID(captures[1]) else { return nil }
        return (first, second)
    }

    private static func positiveID(_ text: Substring) -> Int64? {
        guard text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let value = Int64(text), value > 0 else { return nil }
        return value
    }
}
