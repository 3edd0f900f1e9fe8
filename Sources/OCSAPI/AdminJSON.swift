import JSON
import TaskQueue

/// The JSON the operator's routes answer with, also printed by the command line's `--json`.
public enum AdminJSON {
    /// The task as users see it, plus what only operators see: the internal error message and
    /// the ExApp and provider of the current or last claim.
    public static func task(_ task: TaskRecord) -> JSONValue {
        var object = TaskJSON.task(task).objectValue ?? [:]
        object["errorMessage"] = TaskJSON.optional(task.errorMessage)
        object["exAppId"] = TaskJSON.optional(task.claimedBy)
        return .object(object)
    }

    /// The task with its attempt history.
    public static func task(_ task: TaskRecord, attempts: [TaskAttempt]) -> JSONValue {
        var object = self.task(task).objectValue ?? [:]
        object["attempts"] = .array(attempts.map(attempt))
        return .object(object)
    }

    public static func worker(_ worker: WorkerSummary) -> JSONValue {
        [
            "appId": .string(worker.appID), "lastRequestAt": TaskJSON.optional(worker.lastRequestAt),
            "lastClaimAt": TaskJSON.optional(worker.lastClaimAt), "lastResultAt": TaskJSON.optional(worker.lastResultAt),
            "runningTasks": .int(worker.runningTasks), "longPollsWaiting": .int(worker.longPollsWaiting),
            "triggerUrl": TaskJSON.optional(worker.triggerURL), "lastTriggeredAt": TaskJSON.optional(worker.lastTriggeredAt),
            "triggers": .array(worker.triggers.map(trigger)),
        ]
    }

    /// A provider's trigger request: `state` is `given_up`, `calling`, `retrying` (after a
    /// failed call), `answered` (kept until the recheck) or `due`.
    public static func trigger(_ trigger: ProviderTriggerState) -> JSONValue {
        let state =
            trigger.givenUpAt != nil ? "given_up"
            : trigger.inFlight ? "calling"
            : trigger.lastError != nil ? "retrying"
            : trigger.sentAt != nil ? "answered" : "due"
        return [
            "providerId": .string(trigger.providerID), "taskType": TaskJSON.optional(trigger.taskType),
            "state": .string(state), "attempts": .int(Int64(trigger.attempts)),
            "requestedAt": .int(trigger.requestedAt), "dueAt": .int(trigger.dueAt), "sentAt": TaskJSON.optional(trigger.sentAt),
            "lastError": TaskJSON.optional(trigger.lastError), "givenUpAt": TaskJSON.optional(trigger.givenUpAt),
        ]
    }

    public static func attempt(_ attempt: TaskAttempt) -> JSONValue {
        [
            "attempt": .int(Int64(attempt.attempt)), "exAppId": TaskJSON.optional(attempt.exAppID),
            "providerId": TaskJSON.optional(attempt.providerID), "claimedAt": TaskJSON.optional(attempt.claimedAt),
            "endedAt": TaskJSON.optional(attempt.endedAt), "outcome": .string(attempt.outcome.rawValue),
            "errorMessage": TaskJSON.optional(attempt.errorMessage),
        ]
    }

    public static func type(_ overview: TaskTypeOverview) -> JSONValue {
        [
            "type": .string(overview.type), "known": .bool(overview.known),
            "counts": .object(JSONObject(TaskStatus.allCases.map { ($0.adminName, .int(overview.counts[$0] ?? 0)) })),
            "oldestScheduledAgeSeconds": TaskJSON.optional(overview.oldestScheduledAgeSeconds),
            "paused": .bool(overview.setting.paused),
            "maxRunning": overview.setting.maxRunning.map { .int(Int64($0)) } ?? .null,
            "providers": .array(overview.providers.map { provider in
                [
                    "id": .string(provider.id), "appId": TaskJSON.optional(provider.appID), "preferred": .bool(provider.preferred),
                    "appLastSeenAt": TaskJSON.optional(provider.appLastSeenAt),
                ]
            }),
        ]
    }

    public static func setting(_ type: String, _ setting: TaskTypeSetting) -> JSONValue {
        ["type": .string(type), "paused": .bool(setting.paused), "maxRunning": setting.maxRunning.map { .int(Int64($0)) } ?? .null]
    }

    public static func statistics(_ stats: TypeWindowStatistics) -> JSONValue {
        func distribution(_ value: TypeWindowStatistics.Distribution?) -> JSONValue {
            guard let value else { return .null }
            return ["p50": .double(value.p50), "p95": .double(value.p95), "max": .double(value.max)]
        }
        return [
            "type": .string(stats.type), "finished": .int(stats.finished), "succeeded": .int(stats.succeeded),
            "failed": .int(stats.failed), "retried": .int(stats.retried), "leaseExpired": .int(stats.leaseExpired),
            "cancelled": .int(stats.cancelled), "successRate": stats.successRate.map(JSONValue.double) ?? .null,
            "queueWaitSeconds": distribution(stats.queueWait), "runSeconds": distribution(stats.runTime),
            "averageInputBytes": stats.averageInputBytes.map(JSONValue.double) ?? .null,
            "averageOutputBytes": stats.averageOutputBytes.map(JSONValue.double) ?? .null,
        ]
    }

    /// A stored file without its bytes.
    public static func file(_ file: TaskFile) -> JSONValue {
        ["id": .int(file.id), "name": .string(file.name), "contentType": .string(file.contentType), "size": .int(file.size)]
    }

    public static func history(_ history: TaskTypeHistory) -> JSONValue {
        [
            "type": .string(history.type),
            "points": .array(history.points.map { point in
                [
                    "time": .int(point.time), "scheduled": .int(point.scheduled), "running": .int(point.running),
                    "succeeded": .int(point.succeeded), "failed": .int(point.failed), "cancelled": .int(point.cancelled),
                ]
            }),
        ]
    }

    public static func webhookDelivery(_ delivery: WebhookDeliveryRecord) -> JSONValue {
        [
            "id": .int(delivery.id), "deliveryId": .string(delivery.deliveryID), "taskId": .int(delivery.taskID),
            "uri": .string(delivery.uri), "method": .string(delivery.method), "state": .string(delivery.state.rawValue),
            "attempts": .int(Int64(delivery.attempts)), "nextAttemptAt": .int(delivery.nextAttemptAt),
            "lastStatus": delivery.lastStatus.map { .int(Int64($0)) } ?? .null, "lastError": TaskJSON.optional(delivery.lastError),
            "createdAt": .int(delivery.createdAt), "deliveredAt": TaskJSON.optional(delivery.deliveredAt),
        ]
    }
}
