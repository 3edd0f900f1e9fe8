/// The operator's view and controls: find tasks, read their attempt history, retry and cancel
/// them one by one or by filter, pause and limit task types, and read statistics, workers and
/// warnings. Callers check that the caller is an administrator.
public struct TaskAdministration: Sendable {
    let store: TaskStore
    let catalog: ProviderCatalog
    let taskFinished: TaskFinishedListener
    let announcer: ReleaseAnnouncer

    public init(
        store: TaskStore, catalog: ProviderCatalog, taskFinished: TaskFinishedListener = .none, announcer: ReleaseAnnouncer? = nil
    ) {
        self.store = store
        self.catalog = catalog
        self.taskFinished = taskFinished
        self.announcer = announcer ?? ReleaseAnnouncer(store: store)
    }

    /// The most tasks one page holds.
    public static let maxPageSize = 500

    /// One page of tasks, newest first, and the cursor of the next page (nil on the last). A
    /// page may hold fewer than `limit` tasks, even none, while more remain
    /// (``TaskStore/listScanBudget``).
    public func tasks(matching filter: TaskFilter, limit: Int, cursor: String?) throws -> (tasks: [TaskRecord], nextCursor: String?) {
        guard (1...Self.maxPageSize).contains(limit) else {
            throw ServiceError.invalid("parameter 'limit' must be between 1 and \(Self.maxPageSize)")
        }
        let page = try store.page(matching: filter, limit: limit, beforeID: try cursor.map(Self.decodeCursor))
        return (page.tasks, page.nextBeforeID.map(String.init))
    }

    /// A cursor is the last id of the previous page; anything else is refused.
    static func decodeCursor(_ text: String) throws(ServiceError) -> Int64 {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let id = Int64(text), id > 0 else {
            throw .invalid("parameter 'cursor' is not a cursor this server handed out")
        }
        return id
    }

    /// A task, whoever owns it, with its attempt history.
    public func task(id: Int64) throws -> (task: TaskRecord, attempts: [TaskAttempt]) {
        guard let task = try store.task(id: id, userID: nil) else { throw ServiceError.notFound("Task not found") }
        return (task, try store.attempts(taskID: id))
    }

    /// The files of a task (names and sizes), whoever owns it.
    public func files(ofTask id: Int64) throws -> [TaskFile] {
        try store.files(ofTask: id)
    }

    /// Per type and step, the tasks scheduled, running and finished over the last `seconds`
    /// (the per-minute rollups).
    public func history(seconds: Int, stepSeconds: Int) throws -> [TaskTypeHistory] {
        try store.history(seconds: seconds, stepSeconds: stepSeconds)
    }

    /// Webhook deliveries, newest first: those in `state` (any when nil), of `taskID` (any
    /// when nil), older than the row `beforeID`.
    public func webhookDeliveries(state: WebhookDeliveryState?, taskID: Int64?, limit: Int, beforeID: Int64?) throws
        -> [WebhookDeliveryRecord]
    {
        try store.webhookDeliveries.list(state: state, taskID: taskID, limit: limit, beforeID: beforeID)
    }

    /// Puts a FAILED or CANCELLED task back in the queue; 409 for other states.
    public func retry(id: Int64) throws -> TaskRecord {
        try Self.changed(store.retry(id: id), action: "retried", allowed: "STATUS_FAILED or STATUS_CANCELLED")
    }

    /// Cancels a SCHEDULED (or waiting) or RUNNING task; 409 for a finished one.
    public func cancel(id: Int64) throws -> TaskRecord {
        let task = try Self.changed(store.cancel(id: id), action: "cancelled", allowed: "STATUS_SCHEDULED or STATUS_RUNNING")
        taskFinished.taskChanged(task)
        if task.hasSuccessors { announcer.announce(endOf: [task.id]) }
        return task
    }

    /// What a bulk action did, or with `dryRun` would do.
    public enum BulkAction: Sendable {
        case retry
        case cancel

        var statuses: [TaskStatus] {
            switch self {
            case .retry: [.failed, .cancelled]
            case .cancel: [.scheduled, .waiting, .running]
            }
        }
    }

    /// Retries or cancels every task matching `filter` (among the states the action applies
    /// to), in batches; answers how many changed, or with `dryRun` how many match.
    public func apply(_ action: BulkAction, matching filter: TaskFilter, dryRun: Bool) throws -> Int64 {
        if dryRun { return try store.countTasks(matching: filter, statusesWithin: action.statuses) }
        switch action {
        case .retry: return try store.retryAll(matching: filter)
        case .cancel: return try store.cancelAll(matching: filter)
        }
    }

    private static func changed(_ outcome: TaskActionOutcome, action: String, allowed: String) throws(ServiceError) -> TaskRecord {
        switch outcome {
        case .changed(let task): return task
        case .conflict(let task):
            throw .conflict("task \(task.id) is \(task.status.wireName); only a task in \(allowed) can be \(action)")
        case .notFound: throw .notFound("Task not found")
        }
    }
}
