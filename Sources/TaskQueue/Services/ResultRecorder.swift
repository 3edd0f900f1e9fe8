import JSON

/// Records what workers report and what ends a task: progress, results (outputs validated
/// against the type's shapes, output files checked, retryable failures retried by the policy)
/// and cancels. Tells the ``TaskFinishedListener`` of every task it finishes, and prepares the
/// inputs of successors an end released (``InputResolver``) before it answers, so that they are
/// claimable when the worker hears back.
public struct ResultRecorder: Sendable {
    let store: TaskStore
    let catalog: ProviderCatalog
    let rules: TaskRules
    let batcher: WorkerCallBatcher?
    let taskFinished: TaskFinishedListener
    let metrics: TaskMetrics
    let inputResolver: InputResolver
    let announcer: ReleaseAnnouncer

    /// Records progress (0...1) of a running task; a report naming an older claim is refused.
    public func reportProgress(taskID: Int64, progress: Double, attempt: Int?) throws -> TaskRecord {
        guard (0...1).contains(progress) else { throw ServiceError.invalid("parameter 'progress' must be between 0 and 1") }
        return try Self.reportedTask(try store.reportProgress(id: taskID, progress: progress, attempt: attempt), refused: "progress")
    }

    /// Records an intermediate output of a running task (it replaces the previous one; the final
    /// result replaces the last). Checked against the type's output shapes with no key required
    /// yet, and its file ids must name files uploaded for the task: a bad one is refused (400)
    /// rather than stored, as there is no result it could fail.
    public func reportIntermediateOutput(taskID: Int64, output: JSONObject, attempt: Int?) throws -> TaskRecord {
        var checked = output
        if let type = try store.taskTypes(ids: [taskID])[taskID], let taskType = try catalog.snapshot().types[type] {
            do {
                checked = try ShapeValidator.validatePartialOutput(output, for: taskType)
            } catch {
                throw ServiceError.invalid("intermediate output refused: \(error)")
            }
            if let problem = try missingOutputFiles(checked, of: taskType, taskID: taskID) {
                throw ServiceError.invalid("intermediate output refused: \(problem)")
            }
        }
        let outcome = try store.reportIntermediateOutput(id: taskID, output: checked, attempt: attempt)
        return try Self.reportedTask(outcome, refused: "intermediate output")
    }

    /// Records one result. Alone, one conditional UPDATE that commits on its own; with
    /// company, one transaction (``WorkerCallBatcher``).
    public func record(_ report: TaskReport) throws -> TaskRecord {
        let checked = try checkedOutputs([report])[0]
        let outcome = try batcher?.reportResult(checked)
            ?? store.reportResult(id: checked.taskID, result: checked.result, attempt: checked.attempt, retryPolicy: rules.retryPolicy)
        counted(outcome)
        if case .accepted(let task) = outcome { ended([task]) }
        return try Self.reportedTask(outcome, refused: "result")
    }

    /// Records several results in one transaction; each is answered on its own, in order.
    public func record(batch reports: [TaskReport]) throws -> [Result<TaskRecord, ServiceError>] {
        let outcomes = try store.reportResults(try checkedOutputs(reports), retryPolicy: rules.retryPolicy)
        ended(outcomes.compactMap { outcome in
            counted(outcome)
            if case .accepted(let task) = outcome { return task }
            return nil
        })
        return outcomes.map { outcome in
            Result { () throws(ServiceError) in try Self.reportedTask(outcome, refused: "result") }
        }
    }

    /// Tells the listener; for tasks others depend on, prepares the successors they released
    /// whose input names outputs, and announces the released ones to the long polls. Those
    /// steps may fail (the maintenance loop and the backstop check then do their part): the
    /// result is recorded either way.
    private func ended(_ tasks: [TaskRecord]) {
        tasks.forEach(taskFinished.taskChanged)
        let predecessors = tasks.filter { $0.hasSuccessors && $0.status.isFinal }
        guard !predecessors.isEmpty else { return }
        if predecessors.contains(where: \.successorsReadOutput) { _ = try? inputResolver.resolvePending(waitingForOthers: true) }
        announcer.announce(endOf: predecessors.map(\.id))
    }

    /// Cancels a task of `owner` that has not finished; a finished one is answered as it is.
    public func cancel(taskID: Int64, owner: TaskOwner) throws -> TaskRecord {
        switch try store.cancel(id: taskID, owner: owner) {
        case .cancelled(let task):
            ended([task])
            return task
        case .unchanged(let task): return task
        case .notFound: throw ServiceError.notFound("Task not found")
        }
    }

    /// Counts a result report in the metrics: applied (by how it left the task), or refused.
    private func counted(_ outcome: ReportOutcome) {
        switch outcome {
        case .accepted(let task): metrics.result(task)
        case .unchanged(let task), .conflict(let task): metrics.result(type: task.type, .refused)
        // A fixed label: ids that name nothing must not make series.
        case .notFound: metrics.result(type: "unknown", .refused)
        }
    }

    /// The task a report was applied to (or left unchanged, for progress on a cancelled task);
    /// else the refusal: a conflict naming why, or not found.
    static func reportedTask(_ outcome: ReportOutcome, refused what: String) throws(ServiceError) -> TaskRecord {
        switch outcome {
        case .accepted(let task), .unchanged(let task):
            return task
        case .conflict(let task) where task.status == .running:
            throw .conflict("task \(task.id) was claimed again (attempt \(task.attempt)): \(what) from an older claim refused, nothing changed")
        case .conflict(let task):
            throw .conflict("task \(task.id) is \(task.status.wireName), not STATUS_RUNNING: \(what) refused, nothing changed")
        case .notFound:
            throw .notFound("Task not found")
        }
    }

    /// The reports with every successful output validated against its task type's output
    /// shapes (unknown keys dropped); an output that does not fit becomes a failure, as in
    /// Nextcloud, and the worker is answered with the failed task. The types come from one
    /// query for all reports; a task's type never changes, so reading it before the conditional
    /// report is safe. An unknown task is left to the report (not found).
    func checkedOutputs(_ reports: [TaskReport]) throws -> [TaskReport] {
        let successes = reports.filter { if case .success = $0.result { true } else { false } }
        guard !successes.isEmpty else { return reports }
        let types = try store.taskTypes(ids: successes.map(\.taskID))
        let knownTypes = try catalog.snapshot().types
        return try reports.map { report in
            guard case .success(let output) = report.result, let type = types[report.taskID], let taskType = knownTypes[type]
            else { return report }
            var checked = report
            checked.result = try checkedOutput(output, of: taskType, taskID: report.taskID)
            return checked
        }
    }

    private func checkedOutput(_ output: JSONObject, of taskType: TaskType, taskID: Int64) throws -> TaskResult {
        let validated: JSONObject
        do {
            validated = try ShapeValidator.validateOutput(output, for: taskType)
        } catch {
            return .failure(errorMessage: "Output validation failed: \(error)", userFacingErrorMessage: nil)
        }
        if let problem = try missingOutputFiles(validated, of: taskType, taskID: taskID) {
            return .failure(errorMessage: "Output validation failed: \(problem)", userFacingErrorMessage: nil)
        }
        return .success(output: validated)
    }

    /// What is wrong when file ids in the output's file slots do not name files uploaded for
    /// this task; nil when none is missing.
    private func missingOutputFiles(_ output: JSONObject, of type: TaskType, taskID: Int64) throws -> String? {
        let named = ShapeValidator.fileIDs(in: output, side: .output, for: type)
        guard !named.isEmpty else { return nil }
        let stored = try store.fileIDs(ofTask: taskID, among: named)
        let missing = named.filter { !stored.contains($0) }
        guard !missing.isEmpty else { return nil }
        return "output file ids \(missing.map(String.init).joined(separator: ", ")) were not uploaded for this task "
            + "(POST tasks_provider/{taskId}/file)"
    }
}
