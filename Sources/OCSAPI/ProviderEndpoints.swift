import JSON
import TaskQueue

/// The worker routes (`tasks_provider/*`): claim the next task, report progress and results.
struct ProviderEndpoints: Sendable {
    /// What one claim attempt of `next` or `next_batch` found.
    struct ClaimAttempt {
        /// The answer with the claimed tasks; nil when nothing was claimed.
        var result: EndpointResult?
        /// The known task types asked for; empty when nothing could ever be claimed.
        var types: [String]
    }

    let store: TaskStore
    let catalog: ProviderCatalog
    let configuration: OCSServerConfiguration
    let taskFinished: TaskFinishedListener
    /// Where single claims and results go when ``OCSServerConfiguration/batchWorkerCalls`` is on.
    let batcher: WorkerCallBatcher?

    init(store: TaskStore, catalog: ProviderCatalog, configuration: OCSServerConfiguration, taskFinished: TaskFinishedListener) {
        self.store = store
        self.catalog = catalog
        self.configuration = configuration
        self.taskFinished = taskFinished
        batcher = configuration.batchWorkerCalls ? WorkerCallBatcher(store: store, retryPolicy: configuration.retryPolicy) : nil
    }

    /// Claims the oldest waiting task of the requested types; 204 with no body when there is none.
    /// `provider.name` is the id of the preferred provider of the task's type. A `wait` is
    /// checked (400 if bad) but not waited for: waiting is ``OCSServer``'s part.
    func next(_ context: EndpointContext) throws(OCSError) -> EndpointResult {
        _ = try waitSeconds(context.parameters)
        return try claimNext(context).result ?? .noContent
    }

    /// Claims up to `numberOfTasks` (default 1) of the oldest waiting tasks in one claim
    /// statement; never 204, an empty list when there is nothing.
    func nextBatch(_ context: EndpointContext) throws(OCSError) -> EndpointResult {
        _ = try waitSeconds(context.parameters)
        return try claimNextBatch(context).result ?? Self.emptyBatch
    }

    /// `next_batch`'s answer when nothing was claimed.
    static let emptyBatch = EndpointResult.ok(["tasks": [], "has_more": false])

    /// One claim for `next`: the answer when a task was claimed, else nil, with the known types
    /// asked for (what a long poll waits for).
    /// `skipClaim` is asked with the known types, after the parameters are checked: when it
    /// says yes, nothing is claimed (the types are known to have no task).
    func claimNext(_ context: EndpointContext, skipClaim: ([String]) -> Bool = { _ in false }) throws(OCSError) -> ClaimAttempt {
        let claim = try claim(context, count: 1, skipClaim: skipClaim)
        guard let (providers, claimed, _) = claim, let task = claimed.first else {
            return ClaimAttempt(result: nil, types: claim?.types ?? [])
        }
        return ClaimAttempt(
            result: .ok(["task": TaskJSON.task(task), "provider": ["name": .string(providers[task.type] ?? "")]]),
            types: claim?.types ?? [])
    }

    /// One claim for `next_batch`, as ``claimNext(_:)``. `has_more` comes from a probe after the
    /// claim (`TaskStore.hasReadyTask`): true when a ready task of those types remained.
    func claimNextBatch(_ context: EndpointContext, skipClaim: ([String]) -> Bool = { _ in false }) throws(OCSError) -> ClaimAttempt {
        let count = try context.parameters.int("numberOfTasks", in: ParameterRanges.numberOfTasks) ?? 1
        let claim = try claim(context, count: count, skipClaim: skipClaim)
        guard let (providers, claimed, types) = claim, !claimed.isEmpty else {
            return ClaimAttempt(result: nil, types: claim?.types ?? [])
        }
        let hasMore = try storeCall { () throws(TaskStoreError) in try store.hasReadyTask(types: types) }
        let tasks = claimed.map { task -> JSONValue in
            ["task": TaskJSON.task(task), "provider": .string(providers[task.type] ?? "")]
        }
        return ClaimAttempt(result: .ok(["tasks": .array(tasks), "has_more": .bool(hasMore)]), types: types)
    }

    /// The long poll `wait` in seconds, capped at the configured maximum; 0 when not asked.
    /// A negative or non-numeric value is a 400.
    func waitSeconds(_ parameters: RequestParameters) throws(OCSError) -> Int {
        guard let asked = try parameters.int("wait", in: ParameterRanges.wait) else { return 0 }
        return min(asked, configuration.maxWaitSeconds)
    }

    /// The claim behind `next` and `next_batch`: reads `providerIds[]` and `taskTypeIds[]`, keeps
    /// the types whose preferred provider is among `providerIds` (Nextcloud's selection), and
    /// claims up to `count` tasks of those types in one statement, leased for what the worker
    /// asks (capped), else for its type's lease, else the default. Answers the kept types with
    /// their provider ids; nil when no requested type is served by a named provider.
    private func claim(
        _ context: EndpointContext, count: Int, skipClaim: ([String]) -> Bool = { _ in false }
    ) throws(OCSError) -> (providers: [String: String], tasks: [TaskRecord], types: [String])? {
        let appID = try context.requireExApp()
        guard context.parameters["providerIds"] != nil else { throw .badRequest("missing required parameter 'providerIds'") }
        guard context.parameters["taskTypeIds"] != nil else { throw .badRequest("missing required parameter 'taskTypeIds'") }
        let providerIDs = Set(try context.parameters.stringList("providerIds"))
        let requested = try context.parameters.stringList("taskTypeIds")
        let askedLease = try askedLeaseSeconds(context.parameters)
        let providers = try selectedProviders(types: requested, providerIDs: providerIDs)
        guard !providers.isEmpty else { return nil }
        let types = requested.filter { providers[$0] != nil }
        if skipClaim(types) { return (providers, [], types) }
        let leaseSeconds = askedLease ?? configuration.leaseSeconds
        let leaseSecondsByType = askedLease == nil ? configuration.leaseSecondsByType : [:]
        let claimed = try storeCall { () throws(TaskStoreError) in
            if count == 1, let batcher {
                return try batcher.claimOne(
                    types: types, claimant: appID, leaseSeconds: leaseSeconds, leaseSecondsByType: leaseSecondsByType
                ).map { [$0] } ?? []
            }
            return try store.claim(
                types: types, limit: count, claimant: appID, leaseSeconds: leaseSeconds, leaseSecondsByType: leaseSecondsByType)
        }
        return (providers, claimed, types)
    }

    /// For each requested type whose preferred provider is among `providerIDs`, that provider's
    /// id. When some requested type is left out, the database is asked again before it stays
    /// out, so a registration or preference just made through another process counts.
    private func selectedProviders(types: [String], providerIDs: Set<String>) throws(OCSError) -> [String: String] {
        guard !types.isEmpty, !providerIDs.isEmpty else { return [:] }
        func select(_ snapshot: ProviderSnapshot) -> [String: String] {
            var selected: [String: String] = [:]
            for type in types {
                if let provider = snapshot.preferred[type], snapshot.types[type] != nil, providerIDs.contains(provider.id) {
                    selected[type] = provider.id
                }
            }
            return selected
        }
        let complete = try providerCall { () throws(ProviderStoreError) in
            try catalog.lookup { snapshot -> [String: String]? in
                let selected = select(snapshot)
                return selected.count == Set(types).count ? selected : nil
            }
        }
        if let complete { return complete }
        // lookup has just checked the snapshot against the database: its partial answer is final.
        return try providerCall { () throws(ProviderStoreError) in select(try catalog.snapshot()) }
    }

    /// Scheduled and running tasks of `taskTypeIds[]` (all types when none is named), from the
    /// maintained counters. For ExApps, as in Nextcloud, and for administrators.
    func queueStats(_ context: EndpointContext) throws(OCSError) -> EndpointResult {
        if case .user(_, false) = context.principal { throw .forbidden("queue_stats is for ExApps and administrators") }
        let types = try context.parameters.stringList("taskTypeIds")
        let counts = try storeCall { () throws(TaskStoreError) in try store.queueCounts(types: types) }
        return .ok(["scheduled": .int(counts.scheduled), "running": .int(counts.running)])
    }

    /// The lease a worker asked for, capped at the maximum; nil when it asked for none.
    private func askedLeaseSeconds(_ parameters: RequestParameters) throws(OCSError) -> Int? {
        guard let asked = try parameters.int("leaseSeconds", in: ParameterRanges.leaseSeconds) else { return nil }
        return min(asked, configuration.maxLeaseSeconds)
    }

    /// The claim a report names (`attempt` from the claimed task), if any: reports naming an
    /// older claim than the current one are refused with 409.
    private func attempt(_ parameters: RequestParameters) throws(OCSError) -> Int? {
        guard let attempt = try parameters.int("attempt", in: ParameterRanges.attempt) else { return nil }
        return attempt
    }

    func progress(_ context: EndpointContext, taskID: Int64) throws(OCSError) -> EndpointResult {
        _ = try context.requireExApp()
        guard let progress = try context.parameters.double("progress") else {
            throw .badRequest("missing required parameter 'progress'")
        }
        guard (0...1).contains(progress) else { throw .badRequest("parameter 'progress' must be between 0 and 1") }
        let attempt = try attempt(context.parameters)
        let outcome = try storeCall { () throws(TaskStoreError) in
            try store.reportProgress(id: taskID, progress: progress, attempt: attempt)
        }
        return try Self.answer(outcome, refused: "progress")
    }

    func result(_ context: EndpointContext, taskID: Int64) throws(OCSError) -> EndpointResult {
        _ = try context.requireExApp()
        let report = try checkedOutputs([report(from: context.parameters, taskID: taskID)])[0]
        // Alone, one conditional UPDATE that commits on its own; with company, one transaction.
        let outcome = try storeCall { () throws(TaskStoreError) in
            if let batcher { return try batcher.reportResult(report) }
            return try store.reportResult(
                id: report.taskID, result: report.result, attempt: report.attempt, retryPolicy: configuration.retryPolicy)
        }
        if case .accepted(let task) = outcome { taskFinished.taskChanged(task) }
        return try Self.answer(outcome, refused: "result")
    }

    /// Several results in one request and one transaction (beyond Nextcloud). Each item is
    /// answered on its own: a bad or refused item gets its status and reason, the others apply.
    func results(_ context: EndpointContext) throws(OCSError) -> EndpointResult {
        _ = try context.requireExApp()
        let items = try context.parameters.objectList("results", limit: configuration.maxBatchItems)
        var answers = [JSONValue?](repeating: nil, count: items.count)
        var reports: [(index: Int, report: TaskReport)] = []
        for (index, item) in items.enumerated() {
            let parameters = RequestParameters(item)
            do throws(OCSError) {
                guard let taskID = try parameters.int("taskId", in: ParameterRanges.taskID) else {
                    throw OCSError.badRequest("missing or invalid 'taskId'")
                }
                reports.append((index, try report(from: parameters, taskID: Int64(taskID))))
            } catch {
                answers[index] = Self.itemAnswer(taskID: item["taskId"] ?? .null, error)
            }
        }
        let checked = try checkedOutputs(reports.map(\.report))
        let outcomes = try storeCall { () throws(TaskStoreError) in
            try store.reportResults(checked, retryPolicy: configuration.retryPolicy)
        }
        for ((index, report), outcome) in zip(reports, outcomes) {
            if case .accepted(let task) = outcome { taskFinished.taskChanged(task) }
            do throws(OCSError) {
                // The task's status, not the whole task: a worker acknowledging many results
                // needs to know whether each took (and whether its output passed validation),
                // not to read every task back.
                let task = try Self.reportedTask(outcome, refused: "result")
                answers[index] = ["taskId": .int(report.taskID), "status": 200, "taskStatus": .string(task.status.wireName)]
            } catch {
                answers[index] = Self.itemAnswer(taskID: .int(report.taskID), error)
            }
        }
        return .ok(["results": .array(answers.map { $0 ?? .null })])
    }

    private static func itemAnswer(taskID: JSONValue, _ error: OCSError) -> JSONValue {
        ["taskId": taskID, "status": .int(Int64(error.status)), "message": .string(error.message)]
    }

    /// Reads one result: `output`, or `errorMessage` (retryable or not), and the claim's `attempt`.
    private func report(from parameters: RequestParameters, taskID: Int64) throws(OCSError) -> TaskReport {
        let output = try parameters.object("output")
        let errorMessage = try parameters.string("errorMessage")
        let userFacingErrorMessage = try parameters.string("userFacingErrorMessage")
        let retryable = try parameters.bool("retryable") ?? false
        let result: TaskResult
        if let errorMessage, retryable {
            result = .retryableFailure(errorMessage: errorMessage, userFacingErrorMessage: userFacingErrorMessage)
        } else if let errorMessage {
            result = .failure(errorMessage: errorMessage, userFacingErrorMessage: userFacingErrorMessage)
        } else if let output {
            result = .success(output: output)
        } else {
            throw .badRequest("a result needs 'output' (an object) or 'errorMessage' (a string)")
        }
        return TaskReport(taskID: taskID, result: result, attempt: try attempt(parameters))
    }

    /// The reports with every successful output validated against its task type's output
    /// shapes (unknown keys dropped); an output that does not fit becomes a failure, as in
    /// Nextcloud, and the worker is answered 200 with the failed task. The types come from one
    /// query for all reports; a task's type never changes, so reading it before the conditional
    /// report is safe. An unknown task is left to the report (404).
    private func checkedOutputs(_ reports: [TaskReport]) throws(OCSError) -> [TaskReport] {
        let successes = reports.filter { if case .success = $0.result { true } else { false } }
        guard !successes.isEmpty else { return reports }
        let types = try storeCall { () throws(TaskStoreError) in try store.taskTypes(ids: successes.map(\.taskID)) }
        let knownTypes = try providerCall { () throws(ProviderStoreError) in try catalog.snapshot().types }
        var checkedReports: [TaskReport] = []
        for report in reports {
            guard case .success(let output) = report.result, let type = types[report.taskID], let taskType = knownTypes[type]
            else {
                checkedReports.append(report)
                continue
            }
            var checked = report
            let validated: JSONObject
            do {
                validated = try ShapeValidator.validateOutput(output, for: taskType)
            } catch {
                checked.result = .failure(errorMessage: "Output validation failed: \(error)", userFacingErrorMessage: nil)
                checkedReports.append(checked)
                continue
            }
            let missing = try missingOutputFiles(validated, of: taskType, taskID: report.taskID)
            checked.result =
                missing.isEmpty
                ? .success(output: validated)
                : .failure(
                    errorMessage: "Output validation failed: output file ids "
                        + "\(missing.map(String.init).joined(separator: ", ")) were not uploaded for this task "
                        + "(POST tasks_provider/{taskId}/file)",
                    userFacingErrorMessage: nil)
            checkedReports.append(checked)
        }
        return checkedReports
    }

    /// The file ids in the output's file slots that do not name a file uploaded for this task.
    private func missingOutputFiles(_ output: JSONObject, of type: TaskType, taskID: Int64) throws(OCSError) -> [Int64] {
        let named = ShapeValidator.fileIDs(in: output, side: .output, for: type)
        guard !named.isEmpty else { return [] }
        let stored = try storeCall { () throws(TaskStoreError) in try store.fileIDs(ofTask: taskID, among: named) }
        return named.filter { !stored.contains($0) }
    }

    private static func answer(_ outcome: ReportOutcome, refused what: String) throws(OCSError) -> EndpointResult {
        .ok(["task": TaskJSON.task(try reportedTask(outcome, refused: what))])
    }

    /// The task a report was applied to (or left unchanged, for progress on a cancelled task);
    /// else the refusal: 409 naming why, or 404.
    private static func reportedTask(_ outcome: ReportOutcome, refused what: String) throws(OCSError) -> TaskRecord {
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
}
