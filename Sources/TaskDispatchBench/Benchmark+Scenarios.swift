import Foundation
import JSON
import LoopbackHTTPClient
import Postgres
import TaskDispatchApp
import TaskQueue

extension Benchmark {
    static let workerBody: JSONValue = ["providerIds": [.string(provider)], "taskTypeIds": [.string(type)]]

    /// 1. The ceiling: the claim statement and the finish statement straight over one
    /// connection per worker, no HTTP, until no task is left.
    func ceiling(tasks: Int) throws -> BenchResult {
        try insertTasks(tasks)
        let connections = try (0..<settings.workers).map { _ in
            try PostgresConnection(connectionString: connectionString, logger: logger)
        }
        defer { connections.forEach { $0.close() } }
        let shared = UnsafeSendable(connections)
        let output = JSONValue.object(["output": "x"]).serializedString()
        return try measure("1 ceiling (SQL claim + finish)", expecting: tasks) {
            runWorkers(settings.workers) { index, tally in
                let connection = shared.value[index]
                while true {
                    let claimed = try tally.timed {
                        try connection.query(
                            TaskStore.claimQuery(
                                .init(types: [Self.type], providers: [nil], limit: 1, claimant: Self.app, leaseSeconds: 300),
                                holdsLimitLocks: false))
                    }
                    guard let row = claimed.rows.first, let id = row.int64("id") else { return }
                    let attempt = row.int64("attempt").map(Int.init)
                    let finished = try tally.timed {
                        try connection.query(
                            TaskStore.finishQuery(
                                id: id, status: .successful, output: output, errorMessage: nil, userFacingErrorMessage: nil,
                                attempt: attempt))
                    }
                    guard finished.rows.count == 1 else { throw BenchFailure("task \(id) was not finished") }
                    tally.processed += 1
                }
            }
        }
    }

    /// 2 and 7. Workers over HTTP: `next`, then the result, per task, until `next` answers 204
    /// (after `tasks` inserted here) or `claims` (when given) have been made; against the
    /// server on `port` (default: the benchmark's server).
    func httpSingle(
        label: String, tasks: Int = 0, claims: Int? = nil, port: UInt16? = nil, tls: TLSClientConfiguration? = nil
    ) throws -> BenchResult {
        if claims == nil { try insertTasks(tasks) }
        let port = port ?? server.port
        let headers = BenchClient.appHeaders(app: Self.app, secret: appSecret)
        let budget = claims.map(WorkPool.init)
        let nextBody = Self.workerBody.serialized()
        return try measure(label, expecting: claims ?? tasks) {
            runWorkers(settings.workers) { _, tally in
                let client = BenchClient(port: port, headers: headers, tls: tls)
                while budget.map({ $0.take() > 0 }) ?? true {
                    let (status, data) = try client.call("GET", "tasks_provider/next", encoded: nextBody, tally: &tally)
                    if status == 204 { return }
                    guard status == 200, let task = data?["task"], let id = task["id"]?.int64Value,
                          let attempt = task["attempt"]?.int64Value
                    else { throw BenchFailure("next answered \(status)") }
                    _ = try client.expectOK(
                        "POST", "tasks_provider/\(id)/result", ["output": ["output": "x"], "attempt": .int(attempt)],
                        tally: &tally)
                    tally.processed += 1
                }
            }
        }
    }

    /// 3. Workers over HTTP in batches: `next_batch`, then one batched results call.
    func httpBatched(tasks: Int) throws -> BenchResult {
        try insertTasks(tasks)
        let port = server.port
        let headers = BenchClient.appHeaders(app: Self.app, secret: appSecret)
        let claimBody: JSONValue = [
            "providerIds": [.string(Self.provider)], "taskTypeIds": [.string(Self.type)],
            "numberOfTasks": .int(Int64(settings.claimBatch)),
        ]
        return try measure("3 HTTP next_batch \(settings.claimBatch) + results", expecting: tasks) {
            runWorkers(settings.workers) { _, tally in
                let client = BenchClient(port: port, headers: headers)
                while true {
                    let data = try client.expectOK("GET", "tasks_provider/next_batch", claimBody, tally: &tally)
                    let tasks = data?["tasks"]?.arrayValue ?? []
                    if tasks.isEmpty { return }
                    let results: [JSONValue] = try tasks.map { item in
                        guard let id = item["task"]?["id"]?.int64Value, let attempt = item["task"]?["attempt"]?.int64Value
                        else { throw BenchFailure("next_batch answered a task without id or attempt") }
                        return ["taskId": .int(id), "attempt": .int(attempt), "output": ["output": "x"]]
                    }
                    let answers = try client.expectOK("POST", "tasks_provider/results", ["results": .array(results)], tally: &tally)
                    let accepted = answers?["results"]?.arrayValue?.filter { $0["status"]?.int64Value == 200 }.count ?? 0
                    guard accepted == results.count else { throw BenchFailure("results accepted \(accepted) of \(results.count)") }
                    tally.processed += accepted
                }
            }
        }
    }

    static func newTask() -> JSONValue {
        ["type": .string(type), "input": ["input": "x"], "appId": .string(app), "customId": ""]
    }

    /// 4. Apps scheduling, one task per request.
    func scheduleSingle() throws -> BenchResult {
        let port = server.port
        let headers = BenchClient.userHeaders(user: Self.user, password: userPassword)
        let pool = WorkPool(settings.tasks)
        return try measure("4 schedule, single", expecting: settings.tasks) {
            runWorkers(settings.workers) { _, tally in
                let client = BenchClient(port: port, headers: headers)
                while pool.take() > 0 {
                    _ = try client.expectOK("POST", "schedule", Self.newTask(), tally: &tally)
                    tally.processed += 1
                }
            }
        }
    }

    /// 4. Apps scheduling in batches.
    func scheduleBatched() throws -> BenchResult {
        let port = server.port
        let headers = BenchClient.userHeaders(user: Self.user, password: userPassword)
        let pool = WorkPool(settings.tasks)
        let size = settings.scheduleBatch
        return try measure("4 schedule, batch \(size)", expecting: settings.tasks) {
            runWorkers(settings.workers) { _, tally in
                let client = BenchClient(port: port, headers: headers)
                while case let count = pool.take(size), count > 0 {
                    let batch = JSONValue.array(Array(repeating: Self.newTask(), count: count))
                    let data = try client.expectOK("POST", "schedule/batch", ["tasks": batch], tally: &tally)
                    let scheduled = data?["tasks"]?.arrayValue?.count ?? 0
                    guard scheduled == count else { throw BenchFailure("schedule/batch scheduled \(scheduled) of \(count)") }
                    tally.processed += scheduled
                }
            }
        }
    }

    /// 7. Claim throughput (as 2, over a fixed number of claims) with `waiting` tasks queued and
    /// `finished` finished tasks in the table, as a long-running deployment has them.
    func backlog(waiting: Int, finished: Int = 0) throws -> BenchResult {
        if finished > 0 { try insertFinishedTasks(finished) }
        try insertTasks(max(waiting, settings.tasks))
        let label = finished > 0 ? "7 backlog, \(waiting) waiting + \(finished) finished" : "7 backlog, \(waiting) waiting"
        return try httpSingle(label: label, claims: settings.tasks)
    }
}

/// Hands values that are used by one thread at a time (each worker its own element) to threads.
struct UnsafeSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
