import Foundation
import JSON
import Postgres
import Synchronization
import TaskDispatchTesting
import Testing

/// The concurrency promises of `tasks_provider/next` and `result`, proven by counting: many
/// worker threads drain thousands of tasks over real HTTP, and every task must be claimed once,
/// finished once, by the worker that claimed it, and none lost.
@Suite("Exactly-once claims")
struct ExactlyOnceTests {
    static let workerCount = 16
    static let producerCount = 4

    @Test(
        "16 workers drain 3,000 scheduled tasks: each claimed and finished exactly once, with worker call batching on and off",
        arguments: [true, false])
    func drainScheduledTasks(batchWorkerCalls: Bool) throws {
        let server = try TestServer { $0.batchWorkerCalls = batchWorkerCalls }
        defer { server.stop() }

        let scheduled = try Drain.schedule(3_000, producers: Self.producerCount) { _ in server.client(server.alice) }
        let workers = Drain.runWorkers(Self.workerCount) { _ in server.client(server.worker) }

        let database = try server.database()
        defer { database.close() }
        try Drain.verifyExactlyOnce(
            label: "exactly-once (worker call batching \(batchWorkerCalls ? "on" : "off"))", scheduled: scheduled, workers: workers,
            database: database)
    }

    @Test("16 workers drain while 4 producers keep scheduling 1,500 tasks: each claimed and finished exactly once")
    func drainWhileScheduling() throws {
        let server = try TestServer()
        defer { server.stop() }

        // Producers and workers run at the same time; workers count empty answers only once
        // every producer has finished, so an empty queue mid-run does not stop them.
        let producersRunning = SharedCounter(Self.producerCount)
        let scheduledIDs = ThreadSlots<Drain.ProducerLog>(count: Self.producerCount)
        let workerLogs = ThreadSlots<Drain.WorkerLog>(count: Self.workerCount)
        onThreads(Self.producerCount + Self.workerCount) { index in
            if index < Self.producerCount {
                let app = server.client(server.alice)
                scheduledIDs.store(Drain.produce(1_500, producer: index, of: Self.producerCount, client: app), at: index)
                producersRunning.decrement()
            } else {
                let worker = index - Self.producerCount
                let log = Drain.work(
                    index: worker, client: server.client(server.worker),
                    producersFinished: { producersRunning.value == 0 })
                workerLogs.store(log, at: worker)
            }
        }

        let scheduled = try Drain.collect(scheduledIDs)
        let database = try server.database()
        defer { database.close() }
        try Drain.verifyExactlyOnce(
            label: "exactly-once (concurrent scheduling)", scheduled: scheduled, workers: workerLogs.values, database: database)
    }

    // MARK: The Nextcloud race: reports and claims arriving for a finished task

    @Test("16 simultaneous results for a finished task are all refused with 409 and change nothing")
    func resultsForFinishedTaskAreRefused() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        let worker = server.client(server.worker)
        let id = try app.schedule("finish me")
        #expect(try worker.next().taskID == id)
        let finished = try worker.call("POST", "tasks_provider/\(id)/result", json: ["output": ["output": "first"]])
        try #require(finished.status == 200)

        let database = try server.database()
        defer { database.close() }
        let before = try Drain.snapshot(of: id, database)

        let answers = Drain.race(Self.workerCount, client: { _ in server.client(server.worker) }) { index, client in
            try client.call("POST", "tasks_provider/\(id)/result", json: ["output": ["output": .string("late-\(index)")]])
        }
        #expect(answers.errors.isEmpty, "\(answers.errors)")
        #expect(answers.statuses == Array(repeating: 409, count: Self.workerCount))
        // Each refusal is an OCS error envelope that says why.
        let unexplained = answers.responses.filter {
            $0.meta?["statuscode"] != 409 || $0.message?.contains("STATUS_SUCCESSFUL") != true
        }
        #expect(unexplained.isEmpty, "\(unexplained.count) answers without a 409 envelope naming the status: \(unexplained.first?.bodyText ?? "")")
        // Output, ended_at, last_updated, attempt: all exactly as the one accepted result left them.
        #expect(try Drain.snapshot(of: id, database) == before)
        #expect(try app.call("GET", "task/\(id)").task?["output"] == ["output": "first"])
    }

    @Test("16 simultaneous results for one running task: exactly one accepted, fifteen refused, the winner's output kept")
    func simultaneousResultsForRunningTask() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        let id = try app.schedule("race me")
        #expect(try server.client(server.worker).next().taskID == id)

        let answers = Drain.race(Self.workerCount, client: { _ in server.client(server.worker) }) { index, client in
            try client.call("POST", "tasks_provider/\(id)/result", json: ["output": ["output": .string("racer-\(index)")]])
        }
        #expect(answers.errors.isEmpty, "\(answers.errors)")
        let winners = answers.indexed.filter { $0.response.status == 200 }
        #expect(winners.count == 1, "accepted: \(winners.map(\.index))")
        #expect(answers.statuses.filter { $0 == 409 }.count == Self.workerCount - 1, "statuses: \(answers.statuses)")

        let winner = try #require(winners.first)
        let winnerOutput: JSONValue = ["output": .string("racer-\(winner.index)")]
        #expect(winner.response.task?["output"] == winnerOutput)
        let database = try server.database()
        defer { database.close() }
        let stored = try Drain.snapshot(of: id, database)
        #expect(stored.status == 3)
        #expect(stored.attempt == 1)
        #expect(try stored.output.map { try JSONValue.parse($0) } == winnerOutput)
    }

    @Test("a finished task is never claimed again: 20 calls to next answer 204 and change nothing")
    func finishedTaskIsNeverClaimedAgain() throws {
        let server = try TestServer()
        defer { server.stop() }
        let id = try server.client(server.alice).schedule("once")
        let worker = server.client(server.worker)
        #expect(try worker.next().taskID == id)
        try #require(try worker.call("POST", "tasks_provider/\(id)/result", json: ["output": ["output": "done"]]).status == 200)

        let database = try server.database()
        defer { database.close() }
        let before = try Drain.snapshot(of: id, database)

        // Half the calls one after another, half from threads at once, as a crowd of workers would.
        var statuses: [Int] = []
        for _ in 0..<10 { statuses.append(try worker.next().status) }
        let crowd = Drain.race(10, client: { _ in server.client(server.worker) }) { _, client in try client.next() }
        #expect(crowd.errors.isEmpty, "\(crowd.errors)")
        statuses += crowd.statuses
        #expect(statuses == Array(repeating: 204, count: 20))
        #expect(try Drain.snapshot(of: id, database) == before)
    }

    // MARK: Several task types in one claim

    @Test("next with three task types claims oldest first across the types and never a type not asked for")
    func severalTypesOldestFirst() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        let worker = server.client(server.worker)
        let asked = ["core:text2text", "core:text2text:summary", "core:text2text:headline"]
        let other = "core:text2text:topics"

        // Interleaved so that "oldest first" and "grouped by type" give different orders.
        let pattern = ["core:text2text:summary", other, "core:text2text", "core:text2text:headline",
                       "core:text2text", other, "core:text2text:summary", "core:text2text:headline",
                       "core:text2text:headline", "core:text2text", other, "core:text2text:summary"]
        var expected: [Int64] = []
        var notAsked: [Int64] = []
        for (number, type) in pattern.enumerated() {
            let id = try app.schedule("task \(number)", type: type)
            if type == other { notAsked.append(id) } else { expected.append(id) }
        }

        var claimed: [Int64] = []
        var claimedTypes: [String] = []
        for _ in 0..<(pattern.count + 2) {
            let response = try worker.next(types: asked)
            guard response.status == 200 else {
                #expect(response.status == 204, "next answered \(response.status): \(response.bodyText)")
                break
            }
            claimed.append(try #require(response.taskID))
            claimedTypes.append(response.task?["type"]?.stringValue ?? "?")
        }
        #expect(claimed == expected.sorted())
        #expect(claimedTypes.allSatisfy(asked.contains), "claimed types: \(claimedTypes)")

        // The unasked type is untouched, and still claimable by a worker that asks for it.
        let database = try server.database()
        defer { database.close() }
        for id in notAsked {
            let row = try Drain.snapshot(of: id, database)
            #expect(row.status == 1 && row.attempt == 0, "task \(id) of \(other): \(row)")
        }
        var otherClaims: [Int64] = []
        while let id = try worker.next(types: [other]).taskID, otherClaims.count <= notAsked.count {
            otherClaims.append(id)
        }
        #expect(otherClaims == notAsked)
    }
}

/// Values that threads hand back, one slot per thread.
final class ThreadSlots<Value: Sendable>: Sendable {
    private let slots: Mutex<[Value?]>

    init(count: Int) { slots = Mutex(Array(repeating: nil, count: count)) }

    func store(_ value: Value, at index: Int) { slots.withLock { $0[index] = value } }

    var values: [Value?] { slots.withLock { $0 } }
}

/// A counter threads share, e.g. of producers still running.
final class SharedCounter: Sendable {
    private let count: Atomic<Int>

    init(_ initial: Int) { count = Atomic(initial) }

    func decrement() { count.subtract(1, ordering: .sequentiallyConsistent) }

    var value: Int { count.load(ordering: .sequentiallyConsistent) }
}

/// Lets threads start something at the same moment: each waits until all have arrived.
final class StartingGate: Sendable {
    private let expected: Int
    private let arrived = Atomic<Int>(0)

    init(expected: Int) { self.expected = expected }

    func arriveAndWait() {
        arrived.add(1, ordering: .sequentiallyConsistent)
        while arrived.load(ordering: .sequentiallyConsistent) < expected { sched_yield() }
    }
}

/// The producer and worker loops of the drain tests, and the checks that count their outcome.
enum Drain {
    /// What one producer thread scheduled, and what went wrong.
    struct ProducerLog: Sendable {
        var ids: [Int64] = []
        var errors: [String] = []
    }

    /// What one worker thread claimed, which of its results were refused, and what went wrong.
    struct WorkerLog: Sendable {
        var index: Int
        var claimed: [Int64] = []
        var refusedResults: [String] = []
        var errors: [String] = []
    }

    /// A worker that has not stopped by then reports an error instead of hanging the suite.
    static let workerTimeLimit: Duration = .seconds(120)

    /// Schedules `count` tasks from `producers` threads (each with its own client) and returns their ids.
    static func schedule(_ count: Int, producers: Int, client: @escaping @Sendable (Int) -> APIClient) throws -> [Int64] {
        let logs = ThreadSlots<ProducerLog>(count: producers)
        onThreads(producers) { index in
            logs.store(produce(count, producer: index, of: producers, client: client(index)), at: index)
        }
        return try collect(logs)
    }

    /// This producer's share of `count` tasks: every `of`-th one, starting at `producer`.
    static func produce(_ count: Int, producer: Int, of producers: Int, client: APIClient) -> ProducerLog {
        var log = ProducerLog()
        for number in stride(from: producer, to: count, by: producers) {
            do {
                log.ids.append(try client.schedule("task \(number)"))
            } catch {
                log.errors.append("schedule \(number): \(error)")
                if log.errors.count >= 5 { break }
            }
        }
        return log
    }

    /// All producers' ids; throws if any producer failed, since the counts would mean nothing.
    static func collect(_ logs: ThreadSlots<ProducerLog>) throws -> [Int64] {
        let values = logs.values.compactMap { $0 }
        let errors = values.flatMap(\.errors)
        guard errors.isEmpty, values.count == logs.values.count else {
            throw TestFailure("scheduling failed: \(errors.prefix(5))")
        }
        return values.flatMap(\.ids)
    }

    /// Runs `count` worker threads, each with its own client, until each sees the queue empty.
    static func runWorkers(_ count: Int, client: @escaping @Sendable (Int) -> APIClient) -> [WorkerLog?] {
        let logs = ThreadSlots<WorkerLog>(count: count)
        onThreads(count) { index in
            logs.store(work(index: index, client: client(index)), at: index)
        }
        return logs.values
    }

    /// One worker: `next`, then a result naming this worker and the task, until three `next` in a
    /// row answer 204 at a time when `producersFinished` already said true. Three, not one: a 204
    /// only means every waiting task was locked by another claimer at that moment.
    static func work(
        index: Int, client: APIClient, producersFinished: @Sendable () -> Bool = { true }
    ) -> WorkerLog {
        var log = WorkerLog(index: index)
        let deadline = ContinuousClock.now + workerTimeLimit
        var emptyInARow = 0
        while emptyInARow < 3 {
            guard ContinuousClock.now < deadline else {
                log.errors.append("worker \(index) still running after \(workerTimeLimit)")
                break
            }
            // Read before asking: a 204 counts only if no task could still be added after it.
            let finishedBefore = producersFinished()
            let response: APIResponse
            do {
                response = try client.next()
            } catch {
                log.errors.append("worker \(index) next: \(error)")
                break
            }
            switch response.status {
            case 204 where finishedBefore:
                emptyInARow += 1
            case 204:
                emptyInARow = 0
                usleep(1_000)  // leave the CPU to the producers
            case 200:
                emptyInARow = 0
                guard let id = response.taskID else {
                    log.errors.append("worker \(index): 200 without a task id: \(response.bodyText)")
                    return log
                }
                log.claimed.append(id)
                do {
                    let result = try client.call(
                        "POST", "tasks_provider/\(id)/result", json: ["output": ["output": .string(output(worker: index, task: id))]])
                    if result.status != 200 { log.refusedResults.append("task \(id): \(result.status) \(result.bodyText)") }
                } catch {
                    log.errors.append("worker \(index) result for \(id): \(error)")
                    return log
                }
            default:
                log.errors.append("worker \(index): next answered \(response.status): \(response.bodyText)")
                return log
            }
        }
        return log
    }

    /// The output a worker reports, so the stored result names who claimed the task.
    static func output(worker: Int, task: Int64) -> String { "w\(worker)-t\(task)" }

    /// Counts the claims against the scheduled ids and checks every stored task: SUCCESSFUL,
    /// attempt 1, and the output of the worker that claimed it.
    static func verifyExactlyOnce(
        label: String, scheduled: [Int64], workers: [WorkerLog?], database: PostgresConnection
    ) throws {
        let logs = workers.compactMap { $0 }
        #expect(logs.count == workers.count, "a worker thread returned no log")
        let errors = logs.flatMap(\.errors)
        let refused = logs.flatMap(\.refusedResults)
        #expect(errors.isEmpty, "\(errors.prefix(5))")
        #expect(refused.isEmpty, "refused results: \(refused.prefix(5))")

        var claimer: [Int64: Int] = [:]
        var claims = 0
        for log in logs {
            for id in log.claimed {
                claims += 1
                claimer[id] = log.index
            }
        }
        let scheduledSet = Set(scheduled)
        let claimedSet = Set(claimer.keys)
        let duplicates = claims - claimedSet.count
        let lost = scheduledSet.subtracting(claimedSet)
        let unknown = claimedSet.subtracting(scheduledSet)
        print("\(label): tasks=\(scheduled.count) claims=\(claims) duplicates=\(duplicates) lost=\(lost.count) refused=\(refused.count)")

        #expect(scheduledSet.count == scheduled.count, "schedule returned an id twice")
        #expect(claims == scheduled.count)
        #expect(duplicates == 0)
        #expect(lost.isEmpty, "never claimed: \(lost.sorted().prefix(10))")
        #expect(unknown.isEmpty, "claimed but never scheduled: \(unknown.sorted().prefix(10))")

        let rows = try database.query("SELECT id, status, attempt, output FROM tasks ORDER BY id").rows
        #expect(rows.count == scheduled.count)
        var wrong: [String] = []
        for row in rows {
            guard let id = row.int64("id") else { continue }
            let status = row.int("status"), attempt = row.int("attempt")
            let stored = try row.string("output").map { try JSONValue.parse($0) }
            let expected: JSONValue? = claimer[id].map { ["output": .string(output(worker: $0, task: id))] }
            if status != 3 || attempt != 1 || stored == nil || stored != expected {
                wrong.append("task \(id): status \(status ?? -1), attempt \(attempt ?? -1), output \(String(describing: stored))")
            }
        }
        #expect(wrong.isEmpty, "\(wrong.count) tasks not finished exactly once by their claimer: \(wrong.prefix(5))")
    }

    /// A task's row as the database has it, to show that a refused request changed nothing.
    struct TaskRow: Equatable, CustomStringConvertible {
        var status: Int?
        var attempt: Int?
        var output: String?
        var startedAt: String?
        var endedAt: String?
        var lastUpdated: String?
        var claimedBy: String?

        var description: String {
            "status \(status ?? -1), attempt \(attempt ?? -1), output \(output ?? "nil"), started \(startedAt ?? "nil"), "
                + "ended \(endedAt ?? "nil"), updated \(lastUpdated ?? "nil")"
        }
    }

    /// Timestamps are read as text, so microseconds count in the comparison.
    static func snapshot(of id: Int64, _ database: PostgresConnection) throws -> TaskRow {
        let rows = try database.query(
            """
            SELECT status, attempt, output, started_at::text, ended_at::text, last_updated::text, claimed_by
            FROM tasks WHERE id = $1
            """, [id]).rows
        guard let row = rows.first else { throw TestFailure("task \(id) is not in the database") }
        return TaskRow(
            status: row.int("status"), attempt: row.int("attempt"), output: row.string("output"),
            startedAt: row.string("started_at"), endedAt: row.string("ended_at"),
            lastUpdated: row.string("last_updated"), claimedBy: row.string("claimed_by"))
    }

    /// The answers of a race: per thread, in thread order.
    struct RaceAnswers {
        var indexed: [(index: Int, response: APIResponse)]
        var errors: [String]
        var responses: [APIResponse] { indexed.map(\.response) }
        var statuses: [Int] { indexed.map(\.response.status) }
    }

    /// Runs `request` on `count` threads at the same moment. Each thread first connects and
    /// authenticates with a harmless `next` for a type no task has (so the race is between the
    /// requests themselves, not between connection setups), then waits at a gate.
    static func race(
        _ count: Int, client: @escaping @Sendable (Int) -> APIClient,
        _ request: @escaping @Sendable (Int, APIClient) throws -> APIResponse
    ) -> RaceAnswers {
        let gate = StartingGate(expected: count)
        let answers = ThreadSlots<Result<RaceResponse, RaceError>>(count: count)
        onThreads(count) { index in
            let client = client(index)
            let warmUp = Result { try client.next(types: ["core:contextwrite"]) }
            gate.arriveAndWait()
            guard case .success(let warm) = warmUp, warm.status == 204 else {
                answers.store(.failure(RaceError(message: "thread \(index) warm-up: \(warmUp)")), at: index)
                return
            }
            answers.store(
                Result { RaceResponse(response: try request(index, client)) }.mapError { RaceError(message: "thread \(index): \($0)") },
                at: index)
        }
        var result = RaceAnswers(indexed: [], errors: [])
        for (index, answer) in answers.values.enumerated() {
            switch answer {
            case .success(let wrapped): result.indexed.append((index, wrapped.response))
            case .failure(let error): result.errors.append(error.message)
            case nil: result.errors.append("thread \(index) returned nothing")
            }
        }
        return result
    }

    private struct RaceError: Error, Sendable { let message: String }
    /// `APIResponse` holds only values but is not declared `Sendable`; it crosses threads once, after the race.
    private struct RaceResponse: @unchecked Sendable { let response: APIResponse }
}
