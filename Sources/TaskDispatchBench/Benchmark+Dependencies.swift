import Foundation
import JSON
import Postgres
import Synchronization
import TaskDispatchApp
import TaskQueue

extension Benchmark {
    /// The successor's type in row 11, so that only the probe claims it.
    static let successorType = "core:text2text:summary"
    static let successorProvider = "bench-successor-provider"

    /// 11. Fan-in: `fanInWidth` tasks and one successor that depends on all of them. 16 workers
    /// drain the tasks over HTTP while a probe waits for the successor in a long poll; the row's
    /// latencies are, per repeat, the time from the last result's 200 to the probe holding the
    /// successor. Alternates with the same drain without a successor (the reference), so the
    /// ratio is what recording every end on one shared successor costs.
    func fanInRows() throws -> [BenchResult] {
        var withSuccessor: [BenchResult] = []
        var reference: [BenchResult] = []
        var latencies: [Double] = []
        var negative = 0
        for repeatIndex in -1..<settings.fanInRepeats {
            for successor in repeatIndex % 2 == 0 ? [true, false] : [false, true] {
                let (result, latency) = try fanIn(withSuccessor: successor)
                guard repeatIndex >= 0 else { continue }
                if successor {
                    withSuccessor.append(result)
                    if let latency {
                        if latency < 0 { negative += 1 }
                        latencies.append(max(latency, 0))
                    }
                } else {
                    reference.append(result)
                }
            }
        }
        var row = Self.alternated(withSuccessor, against: reference, referenceName: "the same drain without a successor")
        row = row.with(latencies: latencies)
        row.note = "p50/p95/p99: milliseconds from the last of \(settings.fanInWidth) results' 200 to a long-polling worker "
            + "holding the successor, over \(latencies.count) repeats (\(negative) at 0: the worker had it before the last "
            + "result's answer arrived; the release commits with that result). " + (row.note ?? "")
        return [row]
    }

    /// One repeat of row 11: the drain, and the successor's latency in milliseconds (nil without one).
    private func fanIn(withSuccessor: Bool) throws -> (BenchResult, Double?) {
        let width = settings.fanInWidth
        let ids = try admin.query(
            """
            INSERT INTO tasks (type, user_id, app_id, input)
            SELECT $1, $2, $3, '{"input":"x"}' FROM generate_series(1, $4)
            RETURNING id
            """, [Self.type, Self.user, Self.app, width]
        ).rows.compactMap { $0.int64("id") }
        let lastResult = Instant()
        let claimedAt = Instant()
        let probe = withSuccessor ? try startSuccessorProbe(after: ids, claimedAt: claimedAt) : nil
        let label = withSuccessor ? "11 fan-in: \(width) tasks, 1 successor" : "11 reference: \(width) tasks"
        let result = try measure(label, expecting: width, beforeEnd: { probe?.wait() }) {
            try httpDrain(expected: width) { lastResult.markLatest() }
        }
        let latency = claimedAt.nanoseconds.flatMap { claimed in
            lastResult.nanoseconds.map { (Double(claimed) - Double($0)) / 1_000_000 }
        }
        return (result, latency)
    }

    /// Schedules the successor over HTTP and parks a worker for it in long polls; the group
    /// is left when the worker holds it (or gave up after 60 s).
    private func startSuccessorProbe(after ids: [Int64], claimedAt: Instant) throws -> DispatchGroup {
        let user = BenchClient(port: server.port, headers: BenchClient.userHeaders(user: Self.user, password: userPassword))
        var tally = WorkerTally()
        _ = try user.expectOK("POST", "schedule", [
            "type": .string(Self.successorType), "input": ["input": "x"], "appId": .string(Self.app),
            "dependsOn": .array(ids.map(JSONValue.int)),
        ], tally: &tally)
        let group = DispatchGroup()
        group.enter()
        let (port, headers) = (server.port, BenchClient.appHeaders(app: Self.app, secret: appSecret))
        let body: JSONValue = ["providerIds": [.string(Self.successorProvider)], "taskTypeIds": [.string(Self.successorType)], "wait": 10]
        Thread {
            defer { group.leave() }
            let client = BenchClient(port: port, headers: headers)
            var tally = WorkerTally()
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline {
                guard let (status, _) = try? client.call("GET", "tasks_provider/next", body, tally: &tally) else { return }
                if status == 200 {
                    claimedAt.markLatest()
                    return
                }
            }
        }.start()
        return group
    }

    /// 12. Chains of `chainLength` tasks, each depending on the one before, drained by the
    /// workers over HTTP, in alternating rounds with the same number of independent tasks (row 2's
    /// work): what the dependency bookkeeping costs per task.
    func chainRows() throws -> [BenchResult] {
        let rounds = max(1, min(settings.rounds, settings.tasks))
        var chained: [BenchResult] = []
        var independent: [BenchResult] = []
        let length = settings.chainLength
        for round in -1..<rounds {
            let chains = max(1, (round < 0 ? min(settings.tasks, 1_000) : settings.tasks / rounds) / length)
            for withChains in round % 2 == 0 ? [true, false] : [false, true] {
                if withChains { try insertChains(chains, length: length) } else { try insertTasks(chains * length) }
                let result = try measure(
                    withChains ? "12 chains of \(length), HTTP next + result" : "12 reference: independent tasks",
                    expecting: chains * length
                ) { try httpDrain(expected: chains * length) }
                guard round >= 0 else { continue }
                if withChains { chained.append(result) } else { independent.append(result) }
            }
        }
        return [Self.alternated(chained, against: independent, referenceName: "independent tasks (row 2's work)")]
    }

    /// `count` chains: the first task of each waits for nothing, each next one for the one
    /// before (the attach trigger records it, as for a task scheduled over HTTP).
    func insertChains(_ count: Int, length: Int) throws {
        _ = try admin.query(
            """
            WITH numbered AS (
                SELECT nextval('tasks_id_seq') AS id, position FROM generate_series(0, $4 - 1) AS position ORDER BY position
            )
            INSERT INTO tasks (id, type, user_id, app_id, input, status, depends_on, on_dependency_failure)
            SELECT id, $1, $2, $3, '{"input":"x"}',
                   CASE WHEN position % $5 = 0 THEN \(TaskStatus.scheduled.rawValue) ELSE \(TaskStatus.waiting.rawValue) END,
                   CASE WHEN position % $5 = 0 THEN NULL ELSE ARRAY[id - 1] END,
                   CASE WHEN position % $5 = 0 THEN NULL ELSE 'cancel' END
            FROM numbered ORDER BY position
            """,
            [Self.type, Self.user, Self.app, count * length, length])
        try admin.execute("ANALYZE tasks, task_dependencies")
    }

    /// Workers over HTTP, `next` then the result, until `expected` results are in; a 204 while
    /// some remain (a chain's next task not released yet) is asked again. `resultAnswered` runs
    /// after each result's 200.
    func httpDrain(expected: Int, resultAnswered: @escaping @Sendable () -> Void = {}) throws -> WorkerOutcome {
        let port = server.port
        let headers = BenchClient.appHeaders(app: Self.app, secret: appSecret)
        let nextBody = Self.workerBody.serialized()
        let finished = Counter()
        return runWorkers(settings.workers) { _, tally in
            let client = BenchClient(port: port, headers: headers)
            let deadline = ContinuousClock.now + .seconds(300)
            while finished.value < expected {
                guard ContinuousClock.now < deadline else { throw BenchFailure("drain still running after 300 s") }
                let (status, data) = try client.call("GET", "tasks_provider/next", encoded: nextBody, tally: &tally)
                if status == 204 {
                    usleep(200)
                    continue
                }
                guard status == 200, let task = data?["task"], let id = task["id"]?.int64Value,
                      let attempt = task["attempt"]?.int64Value
                else { throw BenchFailure("next answered \(status)") }
                _ = try client.expectOK(
                    "POST", "tasks_provider/\(id)/result", ["output": ["output": "x"], "attempt": .int(attempt)], tally: &tally)
                resultAnswered()
                finished.increment()
                tally.processed += 1
            }
        }
    }
}

extension BenchResult {
    /// This result with other latencies (a row whose percentiles measure something else).
    func with(latencies: [Double]) -> BenchResult {
        var result = BenchResult(
            scenario: scenario, expectedTasks: expectedTasks, tasks: tasks, seconds: seconds, latencies: latencies,
            writeTransactions: writeTransactions, processCPUSeconds: processCPUSeconds,
            loadGeneratorCPUSeconds: loadGeneratorCPUSeconds, databaseCPUSeconds: databaseCPUSeconds, errors: errors,
            unavailable: unavailable)
        result.ratio = ratio
        result.note = note
        return result
    }
}

/// The latest moment something happened, from several threads (uptime nanoseconds).
final class Instant: Sendable {
    private let latest = Mutex<UInt64?>(nil)

    func markLatest() {
        let now = DispatchTime.now().uptimeNanoseconds
        latest.withLock { $0 = max($0 ?? 0, now) }
    }

    var nanoseconds: UInt64? { latest.withLock { $0 } }
}

/// A count several threads add to.
final class Counter: Sendable {
    private let count = Atomic<Int>(0)

    func increment() { count.add(1, ordering: .relaxed) }

    var value: Int { count.load(ordering: .relaxed) }
}
