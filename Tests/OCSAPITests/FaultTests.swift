import EmbeddedPostgres
import Foundation
import JSON
import Logging
import Postgres
import Synchronization
import TaskDispatchApp
import TaskDispatchTesting
import Testing

/// The fault suite: real faults injected under real load, then the outcome counted in the
/// database. Producers schedule tasks and keep the ids answered with 200 ("acknowledged");
/// workers claim tasks and report results naming the claim's `attempt`. After the fault and a
/// drain, every acknowledged task must exist, every existing task must be finished, and no task
/// may have two accepted results or be claimed twice under the same attempt.
///
/// A request whose answer was lost to the fault (a connection error, a 503) may or may not have
/// taken effect: such a schedule is not counted as acknowledged, and such a result may be the
/// one stored. Tasks whose claim was lost come back through lease expiry with attempt 2.
@Suite("Fault suite")
struct FaultTests {
    static let producerCount = 4
    static let workerCount = 8
    /// Tasks one producer schedules at most, so that the test stays bounded on fast machines.
    static let tasksPerProducer = 600
    /// Long enough for the drain of every task, including those that wait for a lease to expire.
    static let drainTimeLimit: Duration = .seconds(60)

    @Test("kill -9 the server under load and restart it: every acknowledged task exists and is finished once")
    func killServerUnderLoad() throws {
        guard let fixture = try ServeProcessFixture.make(prefix: "fault_kill") else { return }
        defer { fixture.removeFolder() }
        let (alice, worker) = (fixture.alice, fixture.worker)

        let port = try freeLoopbackPort()
        let options = ["--db-pool-size", "8", "--lease-seconds", "2", "--schedule-rate-limit", "0"]
        var servers: [ChildProcess] = []
        defer { servers.forEach { $0.kill() } }
        let first = try fixture.spawnServer(port: port, options: options, name: "server", logName: "serve-1")
        servers.append(first)
        try waitUntilAnswering(port: port, process: first)

        let database = try PostgresConnection(connectionString: fixture.connectionString, logger: TestServer.silentLogger)
        defer { database.close() }

        let load = FaultLoad()
        let threads = load.start(
            producers: Self.producerCount, workers: Self.workerCount, tasksPerProducer: Self.tasksPerProducer,
            producerClient: { APIClient(port: port, caller: alice) },
            workerClient: { APIClient(port: port, caller: worker) })
        // Whatever happens below, the load threads end before the test does.
        defer { load.stopAll(); threads.wait() }

        // ~1.5 s of load (or half the tasks), then SIGKILL: no shutdown, no answer to in-flight requests.
        try load.waitForLoad(seconds: 1.5, acknowledged: Self.producerCount * Self.tasksPerProducer / 2)
        let acknowledgedBeforeKill = load.acknowledgedCount
        load.injectFault()
        first.kill()
        let killedWith = first.exitStatus

        // A new process on the same database and port; clients reconnect by themselves.
        let second = try fixture.spawnServer(port: port, options: options, name: "restarted server", logName: "serve-2")
        servers.append(second)
        try waitUntilAnswering(port: port, process: second)
        load.markRecovered()

        // More tasks through the new server, then the drain.
        load.runFor(seconds: 1.0)
        load.stopProducers()
        let drained = try load.drain(database: database, timeLimit: Self.drainTimeLimit)
        load.stopAll()
        threads.wait()

        let report = try load.verify(database: database)
        let tally = load.tally
        print(
            "fault kill-9-server: injected=SIGKILL (\(killedWith.map(String.init(describing:)) ?? "?")) after "
                + "\(acknowledgedBeforeKill) acknowledged, restart on the same port; \(report.summary) "
                + "in-flight-failures=\(tally.inFlightFailures) refused-while-down=\(tally.duringFaultFailures) "
                + "acknowledged-after-restart=\(load.acknowledgedAfterRecovery)")

        #expect(killedWith == .signaled(SIGKILL), "the first server was not killed by SIGKILL: \(String(describing: killedWith))")
        #expect(drained, "not every task finished within \(Self.drainTimeLimit)")
        #expect(tally.failuresBeforeFault == 0, "requests failed before the kill: \(tally.samples.prefix(5))")
        #expect(tally.unexpectedCount == 0, "\(tally.unexpectedCount) unexpected answers: \(tally.unexpected.prefix(5))")
        #expect(tally.count503 == 0, "503 answers with the database up: \(tally.samples.prefix(5))")
        #expect(load.acknowledgedAfterRecovery > 0, "the restarted server acknowledged no schedule")
        #expect(!second.hasExited, "the restarted server ended (\(String(describing: second.exitStatus))):\n\(second.outputTail)")
    }

    @Test("restart PostgreSQL under load: the server answers 503 meanwhile and recovers by itself")
    func restartPostgresUnderLoad() throws {
        let privateCluster = try PrivateCluster(prefix: "td-fault-postgres")
        defer { privateCluster.remove() }
        let cluster = privateCluster.cluster
        let connectionString = privateCluster.connectionString
        let server = try privateCluster.startServer {
            $0.leaseSeconds = 2
            $0.databasePoolSize = 8
        }
        defer { server.stop() }
        let port = server.port
        let alice = Caller.user("alice", try server.accounts.addUser(name: "alice", isAdmin: false).appPassword)
        let worker = Caller.exApp("worker", try server.accounts.addApp(appID: "worker"), user: "")
        try TestServer.registerCoreProviders(server.catalog.store, appID: "worker")

        let load = FaultLoad()
        let threads = load.start(
            producers: Self.producerCount, workers: Self.workerCount, tasksPerProducer: Self.tasksPerProducer,
            producerClient: { APIClient(port: port, caller: alice) },
            workerClient: { APIClient(port: port, caller: worker) })
        defer { load.stopAll(); threads.wait() }

        try load.waitForLoad(seconds: 1.0, acknowledged: Self.producerCount * Self.tasksPerProducer / 3)
        let acknowledgedBeforeStop = load.acknowledgedCount
        load.injectFault()
        cluster.stop()
        // The load keeps running against the server while the database is down.
        load.runFor(seconds: 2.0)
        _ = try cluster.start()
        load.markRecovered()  // the server is not touched: it must reconnect by itself

        load.runFor(seconds: 2.0)
        load.stopProducers()
        // A fresh connection: the one from before the restart would be broken.
        let database = try PostgresConnection(connectionString: connectionString, logger: TestServer.silentLogger)
        defer { database.close() }
        let drained = try load.drain(database: database, timeLimit: Self.drainTimeLimit)
        load.stopAll()
        threads.wait()

        let report = try load.verify(database: database)
        let tally = load.tally
        print(
            "fault postgres-restart: injected=PostgreSQL stopped for 2 s under load after \(acknowledgedBeforeStop) acknowledged, "
                + "then started again; \(report.summary) 503s=\(tally.count503) 500s=\(tally.count500) "
                + "acknowledged-after-restart=\(load.acknowledgedAfterRecovery) claims-after-restart=\(load.claimsAfterRecovery)")

        #expect(drained, "not every task finished within \(Self.drainTimeLimit)")
        #expect(tally.count500 == 0, "500 answers: \(tally.unexpected.prefix(5))")
        #expect(tally.unexpectedCount == 0, "\(tally.unexpectedCount) unexpected answers: \(tally.unexpected.prefix(5))")
        #expect(tally.connectionErrors == 0, "the server dropped connections: \(tally.samples.prefix(5))")
        #expect(tally.failuresBeforeFault == 0, "requests failed before the outage: \(tally.samples.prefix(5))")
        #expect(tally.count503 > 0, "no 503 while PostgreSQL was down")
        #expect(load.acknowledgedAfterRecovery > 0, "no schedule succeeded after PostgreSQL came back")
        #expect(load.claimsAfterRecovery > 0, "no claim succeeded after PostgreSQL came back")
    }
}

// MARK: - The load and its bookkeeping

/// One reported result, as the worker saw its answer.
struct ReportedResult: Hashable, Sendable {
    enum Outcome: Sendable { case accepted, refused, unanswered }
    var worker: Int
    var task: Int64
    var attempt: Int
    var outcome: Outcome
}

/// How requests failed or were answered, summed over every thread.
struct FaultTally: Sendable {
    /// Connection errors and 503s, by when the request started and ended relative to the fault.
    var failuresBeforeFault = 0
    var inFlightFailures = 0
    var duringFaultFailures = 0
    var connectionErrors = 0
    var count503 = 0
    var count500 = 0
    var refusedResults = 0
    /// Answers no phase explains (any status but 200/204/409/503): how many, and the first few described.
    var unexpectedCount = 0
    var unexpected: [String] = []
    /// A few failures, described, for failure messages.
    var samples: [String] = []

    mutating func add(_ other: FaultTally) {
        failuresBeforeFault += other.failuresBeforeFault
        inFlightFailures += other.inFlightFailures
        duringFaultFailures += other.duringFaultFailures
        connectionErrors += other.connectionErrors
        count503 += other.count503
        count500 += other.count500
        refusedResults += other.refusedResults
        unexpectedCount += other.unexpectedCount
        unexpected += other.unexpected.prefix(5)
        samples += other.samples.prefix(3)
    }
}

/// Producer and worker threads under a fault, and what they recorded.
final class FaultLoad: Sendable {
    private let producing = Atomic<Bool>(true)
    private let working = Atomic<Bool>(true)
    private let faultInjected = Atomic<Bool>(false)
    private let recovered = Atomic<Bool>(false)
    private let producersRunning = Atomic<Int>(0)
    private let acknowledged = Atomic<Int>(0)
    private let acknowledgedAfter = Atomic<Int>(0)
    private let claimsAfter = Atomic<Int>(0)

    private let acknowledgedIDs = Mutex<[Int64]>([])
    private let unansweredSchedules = Atomic<Int>(0)
    private let claims = Mutex<[TaskClaim]>([])
    private let results = Mutex<[ReportedResult]>([])
    private let tallies = Mutex<FaultTally>(FaultTally())

    struct TaskClaim: Hashable, Sendable {
        var task: Int64
        var attempt: Int
    }

    var acknowledgedCount: Int { acknowledged.load(ordering: .sequentiallyConsistent) }
    var acknowledgedAfterRecovery: Int { acknowledgedAfter.load(ordering: .sequentiallyConsistent) }
    var claimsAfterRecovery: Int { claimsAfter.load(ordering: .sequentiallyConsistent) }
    var tally: FaultTally { tallies.withLock { $0 } }

    /// Starts the threads; they run until ``stopProducers()`` / ``stopAll()``. Clients are made
    /// per thread, and again after every failed request (a broken connection is not reused).
    func start(
        producers: Int, workers: Int, tasksPerProducer: Int,
        producerClient: @escaping @Sendable () -> APIClient, workerClient: @escaping @Sendable () -> APIClient
    ) -> DispatchGroup {
        let group = DispatchGroup()
        producersRunning.store(producers, ordering: .sequentiallyConsistent)
        for index in 0..<(producers + workers) {
            group.enter()
            let thread = Thread { [self] in
                if index < producers {
                    produce(index: index, limit: tasksPerProducer, client: producerClient)
                    producersRunning.subtract(1, ordering: .sequentiallyConsistent)
                } else {
                    work(index: index - producers, client: workerClient)
                }
                group.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        return group
    }

    /// Waits until the load has run `seconds` or `acknowledged` tasks were acknowledged; throws
    /// if nothing was acknowledged at all (the fault would then prove nothing).
    func waitForLoad(seconds: Double, acknowledged target: Int) throws {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline && acknowledgedCount < target { usleep(10_000) }
        let limit = ContinuousClock.now + .seconds(20)
        while acknowledgedCount == 0 && ContinuousClock.now < limit { usleep(10_000) }
        guard acknowledgedCount > 0 else { throw TestFailure("no schedule was acknowledged before the fault: \(tally.samples)") }
    }

    func runFor(seconds: Double) { usleep(UInt32(seconds * 1_000_000)) }

    func injectFault() { faultInjected.store(true, ordering: .sequentiallyConsistent) }
    func markRecovered() { recovered.store(true, ordering: .sequentiallyConsistent) }

    /// Stops scheduling and waits (bounded) until every producer has ended.
    func stopProducers() {
        producing.store(false, ordering: .sequentiallyConsistent)
        let deadline = ContinuousClock.now + .seconds(40)
        while producersRunning.load(ordering: .sequentiallyConsistent) > 0 && ContinuousClock.now < deadline { usleep(10_000) }
    }

    func stopAll() {
        producing.store(false, ordering: .sequentiallyConsistent)
        working.store(false, ordering: .sequentiallyConsistent)
    }

    /// Waits until no task in the database is scheduled or running (the workers keep claiming,
    /// and the server's reaper returns lost claims); false if that did not happen within
    /// `timeLimit`. Whether each ended SUCCESSFUL is for ``verify(database:)`` to check.
    func drain(database: PostgresConnection, timeLimit: Duration) throws -> Bool {
        let deadline = ContinuousClock.now + timeLimit
        while ContinuousClock.now < deadline {
            let open = try database.query(
                "SELECT count(*) AS open FROM tasks WHERE status IN (1, 2)").rows.first?.int64("open")
            if open == 0 { return true }
            usleep(100_000)
        }
        return false
    }

    static let successful = 3

    // MARK: Threads

    private func produce(index: Int, limit: Int, client makeClient: @Sendable () -> APIClient) {
        var tally = FaultTally()
        var client = makeClient()
        var ids: [Int64] = []
        var number = 0
        while producing.load(ordering: .sequentiallyConsistent) && ids.count < limit {
            number += 1
            let faultAtStart = faultInjected.load(ordering: .sequentiallyConsistent)
            let recoveredAtStart = recovered.load(ordering: .sequentiallyConsistent)
            do {
                let response = try client.call(
                    "POST", "schedule",
                    json: ["type": "core:text2text", "input": ["input": .string("p\(index)-\(number)")], "appId": "faults"])
                switch response.status {
                case 200:
                    guard let id = response.taskID else {
                        tally.unexpectedCount += 1
                        tally.unexpected.append("schedule: 200 without a task id: \(response.bodyText)")
                        continue
                    }
                    ids.append(id)
                    acknowledged.add(1, ordering: .sequentiallyConsistent)
                    if recoveredAtStart { acknowledgedAfter.add(1, ordering: .sequentiallyConsistent) }
                case 503:
                    unansweredSchedules.add(1, ordering: .relaxed)
                    failed(&tally, faultAtStart: faultAtStart, "schedule: 503 \(response.bodyText)", is503: true)
                    client = makeClient()
                    usleep(20_000)
                default:
                    unexpected(&tally, "schedule", response)
                    usleep(20_000)
                }
            } catch {
                unansweredSchedules.add(1, ordering: .relaxed)
                failed(&tally, faultAtStart: faultAtStart, "schedule: \(error)", is503: false)
                client = makeClient()
                usleep(20_000)
            }
        }
        acknowledgedIDs.withLock { $0 += ids }
        tallies.withLock { $0.add(tally) }
    }

    private func work(index: Int, client makeClient: @Sendable () -> APIClient) {
        var tally = FaultTally()
        var client = makeClient()
        var myClaims: [TaskClaim] = []
        var myResults: [ReportedResult] = []
        while working.load(ordering: .sequentiallyConsistent) {
            var faultAtStart = faultInjected.load(ordering: .sequentiallyConsistent)
            let recoveredAtStart = recovered.load(ordering: .sequentiallyConsistent)
            let response: APIResponse
            do {
                response = try client.next()
            } catch {
                failed(&tally, faultAtStart: faultAtStart, "next: \(error)", is503: false)
                client = makeClient()
                usleep(20_000)
                continue
            }
            switch response.status {
            case 204:
                usleep(2_000)
                continue
            case 503:
                failed(&tally, faultAtStart: faultAtStart, "next: 503 \(response.bodyText)", is503: true)
                client = makeClient()
                usleep(20_000)
                continue
            case 200:
                break
            default:
                unexpected(&tally, "next", response)
                usleep(20_000)
                continue
            }
            guard let id = response.taskID, let attempt = response.task?["attempt"]?.int64Value else {
                tally.unexpectedCount += 1
                tally.unexpected.append("next: 200 without a task id or attempt: \(response.bodyText)")
                continue
            }
            myClaims.append(TaskClaim(task: id, attempt: Int(attempt)))
            if recoveredAtStart { claimsAfter.add(1, ordering: .sequentiallyConsistent) }

            var reported = ReportedResult(worker: index, task: id, attempt: Int(attempt), outcome: .unanswered)
            faultAtStart = faultInjected.load(ordering: .sequentiallyConsistent)
            do {
                let answer = try client.call(
                    "POST", "tasks_provider/\(id)/result",
                    json: ["output": ["output": .string(Self.output(worker: index, task: id, attempt: Int(attempt)))],
                           "attempt": .int(attempt)])
                switch answer.status {
                case 200:
                    reported.outcome = .accepted
                case 409:
                    // A lease that ran out before the report (a slow machine): fenced, as it must be.
                    reported.outcome = .refused
                    tally.refusedResults += 1
                case 503:
                    failed(&tally, faultAtStart: faultAtStart, "result \(id): 503 \(answer.bodyText)", is503: true)
                    client = makeClient()
                default:
                    unexpected(&tally, "result \(id)", answer)
                }
            } catch {
                failed(&tally, faultAtStart: faultAtStart, "result \(id): \(error)", is503: false)
                client = makeClient()
            }
            myResults.append(reported)
        }
        claims.withLock { $0 += myClaims }
        results.withLock { $0 += myResults }
        tallies.withLock { $0.add(tally) }
    }

    /// A lost answer: before the fault it is a failure; started before it and ended after, it
    /// was in flight; started after it, it met the fault (or the recovery).
    private func failed(_ tally: inout FaultTally, faultAtStart: Bool, _ what: String, is503: Bool) {
        if is503 { tally.count503 += 1 } else { tally.connectionErrors += 1 }
        if faultAtStart {
            tally.duringFaultFailures += 1
        } else if faultInjected.load(ordering: .sequentiallyConsistent) {
            tally.inFlightFailures += 1
        } else {
            tally.failuresBeforeFault += 1
        }
        if tally.samples.count < 3 { tally.samples.append(what) }
    }

    private func unexpected(_ tally: inout FaultTally, _ what: String, _ response: APIResponse) {
        if response.status == 500 { tally.count500 += 1 }
        tally.unexpectedCount += 1
        if tally.unexpected.count < 5 { tally.unexpected.append("\(what): \(response.status) \(response.bodyText)") }
    }

    /// What a worker reports: who, for which task, under which claim, so the stored output says.
    static func output(worker: Int, task: Int64, attempt: Int) -> String { "w\(worker)-t\(task)-a\(attempt)" }

    // MARK: Checks

    struct Report {
        var acknowledged: Int
        var unacknowledgedCreated: Int
        var finished: Int
        /// Finished by a result whose "accepted" answer was lost to the fault.
        var finishedByUnansweredResult: Int
        var lost: Int
        var duplicates: Int
        var reclaimed: Int
        var maxAttempt: Int
        var claims: Int
        var refused: Int
        var unanswered: Int

        var summary: String {
            "acknowledged=\(acknowledged) created-unacknowledged=\(unacknowledgedCreated) finished=\(finished) "
                + "(of which by a result whose answer was lost: \(finishedByUnansweredResult)) "
                + "lost=\(lost) duplicates=\(duplicates) reclaimed=\(reclaimed) (max attempt \(maxAttempt)) "
                + "claims=\(claims) results-refused=\(refused) results-unanswered=\(unanswered)"
        }
    }

    /// Counts against the database, recording an issue for every broken promise:
    /// every acknowledged task exists (none lost); every task is SUCCESSFUL; no claim (task,
    /// attempt) was handed out twice; at most one result per task was accepted, and the stored
    /// output is that result's, or, when no answer said accepted, a result whose answer was lost;
    /// the stored output names the task's final attempt.
    func verify(database: PostgresConnection) throws -> Report {
        let acknowledgedIDs = self.acknowledgedIDs.withLock { $0 }
        let claims = self.claims.withLock { $0 }
        let results = self.results.withLock { $0 }
        let unansweredSchedules = self.unansweredSchedules.load(ordering: .sequentiallyConsistent)

        let rows = try database.query("SELECT id, status, attempt, output FROM tasks ORDER BY id").rows
        var stored: [Int64: (status: Int, attempt: Int, output: JSONValue?)] = [:]
        for row in rows {
            guard let id = row.int64("id") else { continue }
            stored[id] = (row.int("status") ?? -1, row.int("attempt") ?? -1, try row.string("output").map { try JSONValue.parse($0) })
        }

        let acknowledgedSet = Set(acknowledgedIDs)
        #expect(acknowledgedSet.count == acknowledgedIDs.count, "schedule answered the same id twice")
        let lost = acknowledgedSet.subtracting(stored.keys)
        #expect(lost.isEmpty, "acknowledged but not in the database: \(lost.sorted().prefix(10))")
        // Only a schedule whose answer was lost may have created a task nobody was told about.
        let unacknowledgedCreated = Set(stored.keys).subtracting(acknowledgedSet)
        #expect(
            unacknowledgedCreated.count <= unansweredSchedules,
            "\(unacknowledgedCreated.count) unacknowledged tasks, but only \(unansweredSchedules) schedules lost their answer")

        let duplicateClaims = claims.count - Set(claims).count
        #expect(duplicateClaims == 0, "\(duplicateClaims) claims handed out twice under the same attempt")

        let accepted = Dictionary(grouping: results.filter { $0.outcome == .accepted }, by: \.task)
        let unanswered = Dictionary(grouping: results.filter { $0.outcome == .unanswered }, by: \.task)
        let duplicated = accepted.filter { $0.value.count > 1 }
        #expect(duplicated.isEmpty, "tasks with more than one accepted result: \(duplicated.keys.sorted().prefix(10))")
        let unknown = Set(accepted.keys).subtracting(stored.keys)
        #expect(unknown.isEmpty, "results accepted for tasks not in the database: \(unknown.sorted().prefix(10))")

        var wrong: [String] = []
        var finished = 0
        var finishedByUnansweredResult = 0
        var maxAttempt = 0
        for (id, task) in stored.sorted(by: { $0.key < $1.key }) {
            maxAttempt = max(maxAttempt, task.attempt)
            guard task.status == Self.successful else {
                wrong.append("task \(id): status \(task.status), attempt \(task.attempt)")
                continue
            }
            finished += 1
            let candidates: [ReportedResult]
            if let winners = accepted[id] {
                candidates = winners
            } else {
                candidates = unanswered[id] ?? []  // accepted, but the answer was lost to the fault
            }
            let matching = candidates.filter {
                $0.attempt == task.attempt
                    && task.output == ["output": .string(Self.output(worker: $0.worker, task: id, attempt: $0.attempt))]
            }
            if accepted[id] == nil && !matching.isEmpty { finishedByUnansweredResult += 1 }
            if matching.isEmpty {
                wrong.append(
                    "task \(id): attempt \(task.attempt), output \(String(describing: task.output)) is no result of its final claim "
                        + "(accepted \(accepted[id]?.count ?? 0), unanswered \(unanswered[id]?.count ?? 0))")
            }
        }
        #expect(wrong.isEmpty, "\(wrong.count) tasks not finished exactly once: \(wrong.prefix(5))")

        return Report(
            acknowledged: acknowledgedSet.count, unacknowledgedCreated: unacknowledgedCreated.count, finished: finished,
            finishedByUnansweredResult: finishedByUnansweredResult, lost: lost.count, duplicates: duplicated.count + duplicateClaims,
            reclaimed: stored.values.filter { $0.attempt > 1 }.count, maxAttempt: maxAttempt, claims: claims.count,
            refused: results.filter { $0.outcome == .refused }.count,
            unanswered: results.filter { $0.outcome == .unanswered }.count)
    }
}
