/// Something a caller asks of a task.
public enum TaskEvent: Sendable, Equatable {
    /// A worker takes the task (`tasks_provider/next`).
    case claim
    /// A worker reports progress or an intermediate output.
    case progress
    /// A worker reports the result (output or error).
    case result
    /// The owner cancels the task.
    case cancel
}

/// What the lifecycle allows for an event in a given status.
public enum TaskTransition: Sendable, Equatable {
    /// The event applies and moves the task to `status` (progress keeps `.running`).
    case apply(to: TaskStatus)
    /// The event is answered with the task as it is, changing nothing (Nextcloud compatibility:
    /// progress on a cancelled task tells the worker to stop; cancel on a finished task is a no-op).
    case answerUnchanged
    /// The event is refused: the task is not in a state that accepts it (HTTP 409).
    case conflict
}

/// The task state machine, free of I/O. The store enforces the same rules in SQL with
/// conditional updates (`WHERE status = ...`); this type decides what to answer when such an
/// update matched no row, and documents the rules in one place.
public enum TaskLifecycle {
    /// The transition `event` causes from `status`.
    public static func transition(for event: TaskEvent, from status: TaskStatus) -> TaskTransition {
        switch (event, status) {
        case (.claim, .scheduled):
            return .apply(to: .running)
        case (.claim, _):
            return .conflict
        case (.progress, .running):
            return .apply(to: .running)
        case (.progress, .cancelled):
            return .answerUnchanged
        case (.progress, _):
            return .conflict
        case (.result, .running):
            // The store chooses .successful or .failed from the result's content.
            return .apply(to: .successful)
        case (.result, _):
            return .conflict
        case (.cancel, .scheduled), (.cancel, .waiting), (.cancel, .running):
            return .apply(to: .cancelled)
        case (.cancel, _):
            return .answerUnchanged
        }
    }
}
