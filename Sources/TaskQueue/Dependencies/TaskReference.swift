import JSON

/// A task named by a schedule request: a stored task by id, or an earlier item of the same
/// batch as `"#N"` (its id is known only when the batch is stored).
public enum TaskReference: Sendable, Hashable, CustomStringConvertible {
    case task(Int64)
    case batchItem(Int)

    /// Reads an id (a positive integer) or, when `batchItems` is true, `"#N"`; nil for anything else.
    public init?(_ value: JSONValue, batchItems: Bool) {
        if let id = value.int64Value, id > 0 {
            self = .task(id)
        } else if batchItems, let text = value.stringValue, text.utf8.first == UInt8(ascii: "#"),
            text.utf8.count > 1, text.utf8.count <= 10, text.utf8.dropFirst().allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let index = Int(text.dropFirst())
        {
            self = .batchItem(index)
        } else {
            return nil
        }
    }

    /// The stored task's id; nil for a batch item not yet resolved.
    public var taskID: Int64? {
        if case .task(let id) = self { return id }
        return nil
    }

    /// The id, with batch items looked up in the ids the batch was given.
    func resolved(batchIDs: [Int64]) -> TaskReference {
        if case .batchItem(let index) = self, batchIDs.indices.contains(index) { return .task(batchIDs[index]) }
        return self
    }

    /// As the client wrote it.
    public var json: JSONValue {
        switch self {
        case .task(let id): .int(id)
        case .batchItem(let index): .string("#\(index)")
        }
    }

    public var description: String {
        switch self {
        case .task(let id): "task \(id)"
        case .batchItem(let index): "batch item #\(index)"
        }
    }
}

/// What happens to a waiting task when a task it depends on fails, is cancelled or deleted.
public enum DependencyFailurePolicy: String, Sendable, CaseIterable {
    /// The task is cancelled with a message naming that dependency (the default).
    case cancel
    /// The task fails likewise.
    case fail
    /// The task runs anyway once every dependency has ended.
    case run
}

/// What a new task depends on: the tasks it waits for, its policy when one of them does not
/// succeed, and the references to their outputs its input holds.
public struct NewTaskDependencies: Sendable, Equatable {
    /// Distinct, in the order given.
    public var dependsOn: [TaskReference]
    public var policy: DependencyFailurePolicy
    public var references: [OutputReference]

    public init(dependsOn: [TaskReference], policy: DependencyFailurePolicy = .cancel, references: [OutputReference] = []) {
        self.dependsOn = dependsOn
        self.policy = policy
        self.references = references
    }

    /// The stored ids; a batch item never resolved is left out (the scheduler resolves all).
    var taskIDs: [Int64] { dependsOn.compactMap(\.taskID) }

    /// With `#N` replaced by the ids the batch's items were given.
    func resolved(batchIDs: [Int64]) -> NewTaskDependencies {
        var resolved = self
        resolved.dependsOn = dependsOn.map { $0.resolved(batchIDs: batchIDs) }
        for index in resolved.references.indices {
            resolved.references[index].task = references[index].task.resolved(batchIDs: batchIDs)
        }
        return resolved
    }
}

extension NewTask {
    /// This task with batch items (`#N`) in its dependencies and input replaced by their ids.
    func resolvingBatchItems(_ batchIDs: [Int64]) -> NewTask {
        guard let dependencies else { return self }
        var task = self
        let resolved = dependencies.resolved(batchIDs: batchIDs)
        task.dependencies = resolved
        for reference in resolved.references {
            task.input[reference.inputKey] = reference.json
        }
        return task
    }
}
