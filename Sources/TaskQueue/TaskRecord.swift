import JSON

/// A task as stored. Times are unix seconds, as on the wire.
public struct TaskRecord: Sendable, Equatable {
    public var id: Int64
    public var type: String
    public var status: TaskStatus
    /// The user the task belongs to; nil for tasks scheduled by an ExApp acting for nobody.
    public var userID: String?
    public var appID: String
    public var customID: String
    public var input: JSONObject
    public var output: JSONObject?
    /// Stored for operators; never shown to the task's user (as in Nextcloud).
    public var errorMessage: String?
    public var userFacingErrorMessage: String?
    public var progress: Double?
    /// Higher runs first; equal priorities run oldest first.
    public var priority: Int
    public var includeWatermark: Bool
    public var allowCleanup: Bool
    public var webhookURI: String?
    public var webhookMethod: String?
    /// How many times the task was handed to a worker.
    public var attempt: Int
    /// The app id of the worker holding the current claim, if any.
    public var claimedBy: String?
    public var lastUpdated: Int64
    public var scheduledAt: Int64?
    public var startedAt: Int64?
    public var endedAt: Int64?
    public var completionExpectedAt: Int64?
    public var leaseExpiresAt: Int64?
    /// While set, the waiting task is not handed out before this time (a delay, or a retry's backoff).
    public var runAfter: Int64?
    /// Seconds from scheduling to the current claim, to the microsecond (nil before a claim).
    public var queueWaitSeconds: Double?
    /// Seconds from the last claim to the end, to the microsecond (nil until the task ended).
    public var runSeconds: Double?
    /// The tasks this one depends on, as scheduled; nil for a task without dependencies.
    public var dependsOn: [Int64]?
    /// Those it still waits for while ``TaskStatus/waiting`` (empty otherwise).
    public var waitingFor: [Int64] = []
    /// What a dependency's failure does to it (nil without dependencies).
    public var dependencyPolicy: DependencyFailurePolicy?
    /// Whether some task depends on this one.
    public var hasSuccessors = false
    /// Whether one of those names its output in its input (which its end may leave to prepare).
    public var successorsReadOutput = false

    public init(
        id: Int64, type: String, status: TaskStatus, userID: String?, appID: String, customID: String,
        input: JSONObject, output: JSONObject? = nil, errorMessage: String? = nil,
        userFacingErrorMessage: String? = nil, progress: Double? = nil, priority: Int = 0, includeWatermark: Bool = true,
        allowCleanup: Bool = true, webhookURI: String? = nil, webhookMethod: String? = nil, attempt: Int = 0,
        claimedBy: String? = nil, lastUpdated: Int64, scheduledAt: Int64? = nil, startedAt: Int64? = nil,
        endedAt: Int64? = nil, completionExpectedAt: Int64? = nil, leaseExpiresAt: Int64? = nil, runAfter: Int64? = nil,
        queueWaitSeconds: Double? = nil, runSeconds: Double? = nil, dependsOn: [Int64]? = nil, waitingFor: [Int64] = [],
        dependencyPolicy: DependencyFailurePolicy? = nil, hasSuccessors: Bool = false, successorsReadOutput: Bool = false
    ) {
        self.id = id
        self.type = type
        self.status = status
        self.userID = userID
        self.appID = appID
        self.customID = customID
        self.input = input
        self.output = output
        self.errorMessage = errorMessage
        self.userFacingErrorMessage = userFacingErrorMessage
        self.progress = progress
        self.priority = priority
        self.includeWatermark = includeWatermark
        self.allowCleanup = allowCleanup
        self.webhookURI = webhookURI
        self.webhookMethod = webhookMethod
        self.attempt = attempt
        self.claimedBy = claimedBy
        self.lastUpdated = lastUpdated
        self.scheduledAt = scheduledAt
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.completionExpectedAt = completionExpectedAt
        self.leaseExpiresAt = leaseExpiresAt
        self.runAfter = runAfter
        self.queueWaitSeconds = queueWaitSeconds
        self.runSeconds = runSeconds
        self.dependsOn = dependsOn
        self.waitingFor = waitingFor
        self.dependencyPolicy = dependencyPolicy
        self.hasSuccessors = hasSuccessors
        self.successorsReadOutput = successorsReadOutput
    }
}

/// What an app asks for when it schedules a task.
public struct NewTask: Sendable, Equatable {
    public var type: String
    public var input: JSONObject
    public var userID: String?
    public var appID: String
    public var customID: String
    public var webhookURI: String?
    public var webhookMethod: String?
    public var includeWatermark: Bool
    /// Seconds from now when the result is expected (`completionExpectedAt`).
    public var expectedRuntimeSeconds: Int
    /// Higher is claimed first. Default 0.
    public var priority: Int
    /// Unix seconds before which the task is not handed out; nil or past: at once.
    public var runAfter: Int64?
    /// The file ids named by the input's file slots: uploads of the task's owner, attached to
    /// the task when it is scheduled.
    public var inputFileIDs: [Int64]
    /// The tasks it waits for, and the outputs of theirs its input names; nil: none.
    public var dependencies: NewTaskDependencies?

    public init(
        type: String, input: JSONObject, userID: String?, appID: String, customID: String = "",
        webhookURI: String? = nil, webhookMethod: String? = nil, includeWatermark: Bool = true,
        expectedRuntimeSeconds: Int = 60, priority: Int = 0, runAfter: Int64? = nil, inputFileIDs: [Int64] = [],
        dependencies: NewTaskDependencies? = nil
    ) {
        self.type = type
        self.input = input
        self.userID = userID
        self.appID = appID
        self.customID = customID
        self.webhookURI = webhookURI
        self.webhookMethod = webhookMethod
        self.includeWatermark = includeWatermark
        self.expectedRuntimeSeconds = expectedRuntimeSeconds
        self.priority = priority
        self.runAfter = runAfter
        self.inputFileIDs = inputFileIDs
        self.dependencies = dependencies
    }
}

/// What a worker reports at the end of a task.
public enum TaskResult: Sendable, Equatable {
    case success(output: JSONObject)
    case failure(errorMessage: String, userFacingErrorMessage: String?)
    /// A failure the worker expects to pass (a busy model, a lost connection): the task is
    /// queued again after a backoff, until the maximum attempts, then it fails.
    case retryableFailure(errorMessage: String, userFacingErrorMessage: String?)
}

/// One worker report: the result of a task, and the claim (`attempt`) it belongs to, if the worker said.
public struct TaskReport: Sendable, Equatable {
    public var taskID: Int64
    public var result: TaskResult
    public var attempt: Int?

    public init(taskID: Int64, result: TaskResult, attempt: Int? = nil) {
        self.taskID = taskID
        self.result = result
        self.attempt = attempt
    }
}

/// How retryable failures are retried: exponential backoff with jitter, capped.
public struct RetryPolicy: Sendable, Equatable {
    /// Claims a task may have in all; the failure of the last one is final.
    public var maxAttempts: Int
    /// Backoff after the first attempt, in seconds; it doubles with each further attempt.
    public var baseDelaySeconds: Double
    /// The longest backoff, in seconds.
    public var maxDelaySeconds: Double

    public init(maxAttempts: Int = 3, baseDelaySeconds: Double = 10, maxDelaySeconds: Double = 600) {
        self.maxAttempts = maxAttempts
        self.baseDelaySeconds = baseDelaySeconds
        self.maxDelaySeconds = maxDelaySeconds
    }
}

/// The answer to a worker's progress or result report.
public enum ReportOutcome: Sendable, Equatable {
    /// The report was recorded; the task as it is now.
    case accepted(TaskRecord)
    /// Nothing changed, and the caller is shown the task (progress on a cancelled task).
    case unchanged(TaskRecord)
    /// The task is not in a state that accepts the report; the task as it is.
    case conflict(TaskRecord)
    case notFound
}

/// The answer to a cancel request.
public enum CancelOutcome: Sendable, Equatable {
    case cancelled(TaskRecord)
    /// The task had already finished; it is returned unchanged (Nextcloud compatibility).
    case unchanged(TaskRecord)
    case notFound
}
