import JSON

/// Prepares released tasks whose input names their predecessors' outputs
/// (`{"$fromTask": 12, "output": "output"}`): replaces each reference by the value, checks the
/// result against the task's input shape, and makes the task claimable, or fails it with a
/// message saying which reference produced what. Every server process runs it when the
/// database announces such a task (`taskdispatch_inputs`) and on each maintenance pass.
public struct InputResolver: Sendable {
    let store: TaskStore
    let catalog: ProviderCatalog

    /// The channel a release notifies when a task waits for this.
    public static let channel = "taskdispatch_inputs"
    /// Tasks prepared per transaction.
    static let batchSize = 50

    public init(store: TaskStore, catalog: ProviderCatalog) {
        self.store = store
        self.catalog = catalog
    }

    /// Prepares every task waiting for it; returns the tasks changed. With `waitingForOthers`
    /// (a request that released such tasks and answers after them), tasks another resolver
    /// holds are waited for rather than passed over.
    @discardableResult
    public func resolvePending(waitingForOthers: Bool = false) throws -> [TaskRecord] {
        // One index probe first: most ends release nothing that needs this.
        guard try store.hasPendingInputs() else { return [] }
        let types = try catalog.current().types
        var changed: [TaskRecord] = []
        while true {
            let batch = try store.resolvePendingInputs(limit: Self.batchSize, waitingForOthers: waitingForOthers) { pending in
                Self.resolve(pending, type: types[pending.task.type])
            }
            changed += batch
            if batch.count < Self.batchSize { return changed }
        }
    }

    /// The rule, without I/O.
    static func resolve(_ pending: PendingInput, type: TaskType?) -> ResolvedInput {
        let task = pending.task
        let references: [OutputReference]
        do {
            references = try OutputReference.references(in: task.input, batchItems: false)
        } catch {
            return .failed("its input holds a malformed reference: \(error.message)")
        }
        let input: JSONObject
        switch OutputReference.substitute(references, into: task.input, sources: pending.sources) {
        case .failure(let failure): return .failed(failure.description)
        case .success(let substituted): input = substituted
        }
        guard let type else { return .failed("task type '\(task.type)' is no longer known") }
        do {
            let checked = try ShapeValidator.validateInput(input, for: type)
            let fileSlots = Set((type.inputShape + type.optionalInputShape).filter(\.type.holdsFiles).map(\.key))
            return .claimable(checked, fileKeys: references.map(\.inputKey).filter(fileSlots.contains))
        } catch {
            let produced = references.map { reference in
                "input '\(reference.inputKey)' was \(reference.task) output '\(reference.outputKey)': "
                    + Self.excerpt(input[reference.inputKey] ?? .null)
            }
            return .failed(
                "the input made from its dependencies' outputs does not fit \(task.type): \(error); "
                    + produced.joined(separator: "; "))
        }
    }

    /// A value as JSON, cut to a length a message can hold.
    private static func excerpt(_ value: JSONValue) -> String {
        let text = value.serializedString()
        return text.count <= 200 ? text : String(text.prefix(200)) + "…"
    }
}
