/// Told when a request in this process finished a task that has a webhook (result, batched
/// result, cancel), so the application can wake its webhook sender at once instead of at its
/// next poll. Delivery does not depend on it: the outbox row is already committed.
public struct TaskFinishedListener: Sendable {
    private let action: @Sendable (TaskRecord) -> Void

    public init(_ action: @escaping @Sendable (TaskRecord) -> Void) {
        self.action = action
    }

    public static let none = TaskFinishedListener { _ in }

    /// Passes `task` on if this update finished it and it has a webhook.
    public func taskChanged(_ task: TaskRecord) {
        if task.status.isFinal, task.webhookURI != nil { action(task) }
    }
}
