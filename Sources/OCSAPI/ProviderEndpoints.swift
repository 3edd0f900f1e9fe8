import JSON
import TaskQueue

/// The worker routes (`tasks_provider/*`): claim the next task, report progress and results.
/// Each reads its parameters, calls ``TaskClaimer`` or ``ResultRecorder``, and maps the answer.
struct ProviderEndpoints: Sendable {
    let services: TaskServices
    let configuration: OCSServerConfiguration

    /// Claims the oldest waiting task of the requested types; 204 with no body when there is none.
    /// `provider.name` is the id of the preferred provider of the task's type. A `wait` is
    /// checked (400 if bad) but not waited for: waiting is ``LongPollWaiters``' part.
    func next(_ context: EndpointContext) throws -> EndpointResult {
        try claimWithoutWaiting(context, route: .nextTask)
    }

    /// Claims up to `numberOfTasks` (default 1) of the oldest waiting tasks in one claim
    /// statement; never 204, an empty list when there is nothing.
    func nextBatch(_ context: EndpointContext) throws -> EndpointResult {
        try claimWithoutWaiting(context, route: .nextBatch)
    }

    private func claimWithoutWaiting(_ context: EndpointContext, route: Route) throws -> EndpointResult {
        _ = try waitSeconds(context.parameters)
        let poll = try claimPoll(context, route: route)
        return try poll.claim()?.result ?? poll.emptyResult
    }

    /// `next_batch`'s answer when nothing was claimed.
    static let emptyBatch = EndpointResult.ok(["tasks": [], "has_more": false])

    /// One `next` or `next_batch` request, read and checked: what it may claim, how to claim
    /// once and map the answer, and its answer when nothing is claimed.
    struct ClaimPoll: Sendable {
        let claimable: ClaimableTypes
        let emptyResult: EndpointResult
        /// Claims once: the answer and the claimed tasks' types, or nil when nothing was ready.
        let claim: @Sendable () throws -> (result: EndpointResult, claimed: [String: Int])?
    }

    /// Reads `providerIds[]`, `taskTypeIds[]`, `leaseSeconds` (and `numberOfTasks` for
    /// `next_batch`) and asks the claimer which types the caller may claim.
    func claimPoll(_ context: EndpointContext, route: Route) throws -> ClaimPoll {
        let batch = route == .nextBatch
        let count = batch ? try context.parameters.int("numberOfTasks", in: ParameterRanges.numberOfTasks) ?? 1 : 1
        let appID = try context.requireExApp()
        guard context.parameters["providerIds"] != nil else { throw OCSError.badRequest("missing required parameter 'providerIds'") }
        guard context.parameters["taskTypeIds"] != nil else { throw OCSError.badRequest("missing required parameter 'taskTypeIds'") }
        let request = ClaimRequest(
            claimant: appID, providerIDs: Set(try context.parameters.stringList("providerIds")),
            taskTypes: try context.parameters.stringList("taskTypeIds"), count: count,
            askedLeaseSeconds: try context.parameters.int("leaseSeconds", in: ParameterRanges.leaseSeconds))
        let claimer = services.claimer
        let claimable = try claimer.claimableTypes(request)
        return ClaimPoll(claimable: claimable, emptyResult: batch ? Self.emptyBatch : .noContent) {
            let outcome = try claimer.claim(request, claimable, probeMore: batch)
            guard !outcome.tasks.isEmpty else { return nil }
            return (batch ? Self.batchAnswer(outcome) : Self.singleAnswer(outcome), outcome.countsByType)
        }
    }

    private static func singleAnswer(_ outcome: ClaimOutcome) -> EndpointResult {
        let task = outcome.tasks[0]
        return .ok(["task": TaskJSON.task(task), "provider": ["name": .string(outcome.claimable.providers[task.type] ?? "")]])
    }

    /// `has_more` comes from a probe after the claim: true when a ready task of those types remained.
    private static func batchAnswer(_ outcome: ClaimOutcome) -> EndpointResult {
        let tasks = outcome.tasks.map { task -> JSONValue in
            ["task": TaskJSON.task(task), "provider": .string(outcome.claimable.providers[task.type] ?? "")]
        }
        return .ok(["tasks": .array(tasks), "has_more": .bool(outcome.hasMore)])
    }

    /// The long poll `wait` in seconds, capped at the configured maximum; 0 when not asked.
    /// A negative or non-numeric value is a 400.
    func waitSeconds(_ parameters: RequestParameters) throws -> Int {
        services.claimer.waitSeconds(asked: try parameters.int("wait", in: ParameterRanges.wait))
    }

    /// Scheduled and running tasks of `taskTypeIds[]` (all types when none is named), from the
    /// maintained counters. For ExApps, as in Nextcloud, and for administrators.
    func queueStats(_ context: EndpointContext) throws -> EndpointResult {
        if case .user(_, false) = context.principal { throw OCSError.forbidden("queue_stats is for ExApps and administrators") }
        let types = try context.parameters.stringList("taskTypeIds")
        let counts = try services.claimer.queueCounts(types: types)
        // nextcloud/server's controller names them `…_count`; the route's first shape did not: both.
        return .ok([
            "scheduled": .int(counts.scheduled), "running": .int(counts.running),
            "scheduled_count": .int(counts.scheduled), "running_count": .int(counts.running),
        ])
    }

    /// The claim a report names (`attempt` from the claimed task), if any: reports naming an
    /// older claim than the current one are refused with 409.
    private func attempt(_ parameters: RequestParameters) throws -> Int? {
        try parameters.int("attempt", in: ParameterRanges.attempt)
    }

    func progress(_ context: EndpointContext, taskID: Int64) throws -> EndpointResult {
        _ = try context.requireExApp()
        guard let progress = try context.parameters.double("progress") else {
            throw OCSError.badRequest("missing required parameter 'progress'")
        }
        let task = try services.recorder.reportProgress(taskID: taskID, progress: progress, attempt: try attempt(context.parameters))
        return .ok(["task": TaskJSON.task(task)])
    }

    /// Nextcloud's `stream-result`: an intermediate output the user sees while the task runs.
    func intermediateResult(_ context: EndpointContext, taskID: Int64) throws -> EndpointResult {
        _ = try context.requireExApp()
        guard let output = try context.parameters.object("output") else {
            throw OCSError.badRequest("missing required parameter 'output' (an object)")
        }
        let task = try services.recorder.reportIntermediateOutput(
            taskID: taskID, output: output, attempt: try attempt(context.parameters))
        return .ok(["task": TaskJSON.task(task)])
    }

    func result(_ context: EndpointContext, taskID: Int64) throws -> EndpointResult {
        _ = try context.requireExApp()
        let task = try services.recorder.record(try report(from: context.parameters, taskID: taskID))
        return .ok(["task": TaskJSON.task(task)])
    }

    /// Several results in one request and one transaction (beyond Nextcloud). Each item is
    /// answered on its own: a bad or refused item gets its status and reason, the others apply.
    func results(_ context: EndpointContext) throws -> EndpointResult {
        _ = try context.requireExApp()
        let items = try context.parameters.objectList("results", limit: configuration.maxBatchItems)
        var answers = [JSONValue?](repeating: nil, count: items.count)
        var reports: [(index: Int, report: TaskReport)] = []
        for (index, item) in items.enumerated() {
            let parameters = RequestParameters(item)
            do {
                guard let taskID = try parameters.int("taskId", in: ParameterRanges.taskID) else {
                    throw OCSError.badRequest("missing or invalid 'taskId'")
                }
                reports.append((index, try report(from: parameters, taskID: Int64(taskID))))
            } catch {
                answers[index] = Self.itemAnswer(taskID: item["taskId"] ?? .null, OCSError(answering: error))
            }
        }
        let outcomes = try services.recorder.record(batch: reports.map(\.report))
        for ((index, report), outcome) in zip(reports, outcomes) {
            switch outcome {
            case .success(let task):
                // The task's status, not the whole task: a worker acknowledging many results
                // needs to know whether each took (and whether its output passed validation),
                // not to read every task back.
                answers[index] = ["taskId": .int(report.taskID), "status": 200, "taskStatus": .string(task.status.wireName)]
            case .failure(let error):
                answers[index] = Self.itemAnswer(taskID: .int(report.taskID), error.ocsError)
            }
        }
        return .ok(["results": .array(answers.map { $0 ?? .null })])
    }

    private static func itemAnswer(taskID: JSONValue, _ error: OCSError) -> JSONValue {
        ["taskId": taskID, "status": .int(Int64(error.status)), "message": .string(error.message)]
    }

    /// Reads one result: `output`, or `errorMessage` (retryable or not), and the claim's `attempt`.
    private func report(from parameters: RequestParameters, taskID: Int64) throws -> TaskReport {
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
            throw OCSError.badRequest("a result needs 'output' (an object) or 'errorMessage' (a string)")
        }
        return TaskReport(taskID: taskID, result: result, attempt: try attempt(parameters))
    }
}
