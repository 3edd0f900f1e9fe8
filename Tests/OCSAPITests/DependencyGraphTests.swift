import Foundation
import JSON
import Postgres
import Synchronization
import TaskDispatchTesting
import Testing

/// Random task graphs (chains, fan-out, fan-in, diamonds; some tasks fail, some fail once and
/// are retried) drained by 16 workers through two `taskdispatch serve` processes over one
/// database, one of which is killed with SIGKILL mid-run and started again. A model computes
/// every task's end from the graph and the policies; the database must agree, and the workers'
/// claims must show no task handed out twice per attempt, none before its dependencies ended,
/// and none left behind.
@Suite("Dependency graphs across processes")
struct DependencyGraphTests {
    /// What a worker does with a task, written in its input.
    enum Script: String {
        case succeed, fail, failOnce
    }

    struct Node {
        var script: Script
        var dependsOn: [Int]
        var policy: String
    }

    /// A random graph: each node depends on up to three earlier ones (mostly recent ones, so
    /// chains form), now and then on many (fan-in), and roots fan out.
    static func graph(nodes: Int, seed: UInt64) -> [Node] {
        var random = SplitMix64(state: seed)
        var graph: [Node] = []
        for index in 0..<nodes {
            let roll = random.next() % 100
            let script: Script = roll < 8 ? .fail : roll < 16 ? .failOnce : .succeed
            let policy = ["cancel", "cancel", "fail", "run"][Int(random.next() % 4)]
            var dependsOn = Set<Int>()
            if index >= 4, random.next() % 5 != 0 {
                let fanIn = random.next() % 15 == 0
                let count = fanIn ? min(index, 10 + Int(random.next() % 10)) : 1 + Int(random.next() % 3)
                while dependsOn.count < count {
                    let window = fanIn ? index : min(index, 12)
                    dependsOn.insert(index - 1 - Int(random.next() % UInt64(window)))
                }
            }
            graph.append(Node(script: script, dependsOn: dependsOn.sorted(), policy: policy))
        }
        return graph
    }

    /// Every node's end as the rules say: its own unless a dependency did not succeed; then by
    /// its policy (`run`: its own after all ended).
    static func expectedStatuses(_ graph: [Node]) -> [Int] {
        var statuses: [Int] = []
        for node in graph {
            let own = node.script == .fail ? 4 : 3
            let allSucceeded = node.dependsOn.allSatisfy { statuses[$0] == 3 }
            statuses.append(allSucceeded ? own : node.policy == "cancel" ? 5 : node.policy == "fail" ? 4 : own)
        }
        return statuses
    }

    struct Claim: Hashable, Sendable {
        var task: Int64
        var attempt: Int64
    }

    struct WorkerLog: Sendable {
        var claims: [Claim] = []
        var errors: [String] = []
    }

    @Test("3 graphs of 120 tasks, 16 workers, 2 processes, one killed -9 and restarted: every end as the policies say, each claim once per attempt, none early, none stranded")
    func graphsAcrossProcesses() throws {
        guard let fixture = try ServeProcessFixture.make(prefix: "dependency_graphs") else { return }
        defer { fixture.removeFolder() }
        let options = [
            "--db-pool-size", "8", "--schedule-rate-limit", "0", "--lease-seconds", "2", "--max-attempts", "6",
            "--retry-base-seconds", "1", "--retry-max-seconds", "1",
        ]
        var (servers, ports) = try fixture.startServers(2, options: options)
        defer { servers.forEach { $0.kill() } }
        let database = try PostgresConnection(connectionString: fixture.connectionString, logger: TestServer.silentLogger)
        defer { database.close() }

        let graphs = (0..<3).map { Self.graph(nodes: 120, seed: 7_919 &* UInt64($0 + 1)) }
        let stop = StopFlag()
        let logs = ThreadSlots<WorkerLog>(count: 16)
        let serverPorts = ports
        let worker = fixture.worker
        let workersDone = DispatchSemaphore(value: 0)
        Thread {
            onThreads(16) { index in
                logs.store(Self.work(ports: serverPorts, first: index % 2, caller: worker, stop: stop), at: index)
            }
            workersDone.signal()
        }.start()

        // Graph 0 in one batch (`#N`); graphs 1 and 2 task by task with real ids while the
        // workers already run.
        var ids: [[Int64]] = []
        let alice = APIClient(port: ports[0], caller: fixture.alice)
        ids.append(try Self.scheduleBatch(graphs[0], graph: 0, client: alice))
        for number in 1..<3 {
            // Graphs 1 and 2 go through server 1, so that server 0 can die while they are scheduled.
            let client = APIClient(port: ports[1], caller: fixture.alice)
            ids.append(try Self.scheduleOneByOne(graphs[number], graph: number, client: client) {
                guard number == 1 else { return }
                // Mid-run, half of graph 1 scheduled and the workers busy: server 0 dies without
                // warning (claims it made may never reach their workers) and comes back on its port.
                servers[0].kill()
                usleep(300_000)
                servers[0] = try fixture.spawnServer(port: ports[0], options: options, name: "server 0 again", logName: "serve-0b")
                try waitUntilAnswering(port: ports[0], process: servers[0], timeoutSeconds: 30)
            })
        }

        // Drained: nothing scheduled, waiting or running any more.
        let deadline = ContinuousClock.now + .seconds(120)
        var open: Int64 = -1
        while ContinuousClock.now < deadline {
            open = try database.query("SELECT count(*) AS n FROM tasks WHERE status IN (1, 2, 6)").rows.first?.int64("n") ?? -1
            if open == 0 { break }
            usleep(200_000)
        }
        stop.raise()
        workersDone.wait()
        #expect(open == 0, "tasks stranded (scheduled, waiting or running) after 120 s: \(open)")

        let workerLogs = logs.values.compactMap { $0 }
        let errors = workerLogs.flatMap(\.errors)
        #expect(errors.isEmpty, "\(errors.prefix(5))")
        let claims = workerLogs.flatMap(\.claims)
        let duplicates = claims.count - Set(claims).count

        // Every task's end, as the model says.
        var wrong: [String] = []
        var byStatus: [Int: Int] = [:]
        var cascaded = 0
        for (number, graph) in graphs.enumerated() {
            let expected = Self.expectedStatuses(graph)
            let rows = try database.query(
                "SELECT id, status, error_message FROM tasks WHERE id = ANY($1::bigint[])",
                [ids[number].map(String.init).joined(separator: ",").wrappedInBraces]).rows
            var actual: [Int64: (Int, String?)] = [:]
            for row in rows { actual[row.int64("id") ?? 0] = (row.int("status") ?? -1, row.string("error_message")) }
            for (index, id) in ids[number].enumerated() {
                let (status, message) = actual[id] ?? (-1, nil)
                byStatus[status, default: 0] += 1
                if status != expected[index] {
                    wrong.append("graph \(number) node \(index) (task \(id)): status \(status), expected \(expected[index])")
                }
                // An end caused by a dependency names one that did not succeed.
                if let message, message.hasPrefix("dependency ") {
                    cascaded += 1
                    let named = Int64(message.split(separator: " ")[1]) ?? 0
                    let dependencies = graph[index].dependsOn.map { ids[number][$0] }
                    if !dependencies.contains(named) || actual[named]?.0 == 3 {
                        wrong.append("task \(id): '\(message)' does not name a dependency that did not succeed")
                    }
                }
            }
        }
        // No task was claimed before all its dependencies ended (successfully, unless 'run').
        let early = try database.query(
            """
            WITH first_claim AS (
                SELECT tasks.id, least(tasks.started_at, (SELECT min(claimed_at) FROM task_attempts WHERE task_id = tasks.id)) AS at
                FROM tasks WHERE depends_on IS NOT NULL AND attempt > 0
            )
            SELECT successor.id AS successor, successor.on_dependency_failure AS policy, first_claim.at::text AS claimed,
                   dependency.id AS dependency, dependency.status, dependency.ended_at::text AS ended
            FROM first_claim
            JOIN tasks AS successor ON successor.id = first_claim.id
            JOIN tasks AS dependency ON dependency.id = ANY(successor.depends_on)
            WHERE dependency.ended_at IS NULL OR dependency.ended_at > first_claim.at
               OR (successor.on_dependency_failure <> 'run' AND dependency.status <> 3)
            """).rows.map { row in
                "task \(row.int64("successor") ?? 0) (\(row.string("policy") ?? "")) claimed at \(row.string("claimed") ?? "") "
                    + "while dependency \(row.int64("dependency") ?? 0) is \(row.int("status") ?? -1), ended \(row.string("ended") ?? "never")"
            }
        let requeued = try database.query(
            """
            SELECT count(*) FILTER (WHERE outcome = 'retried') AS retried,
                   count(*) FILTER (WHERE outcome = 'lease_expired') AS expired
            FROM task_attempts
            """).rows.first
        let total = ids.map(\.count).reduce(0, +)
        print(
            "dependency graphs: tasks=\(total) claims=\(claims.count) duplicates=\(duplicates) early=\(early.count) "
                + "stranded=\(open) successful=\(byStatus[3] ?? 0) failed=\(byStatus[4] ?? 0) cancelled=\(byStatus[5] ?? 0) "
                + "ended by a dependency=\(cascaded) retried=\(requeued?.int64("retried") ?? -1) "
                + "lease expired (claims lost with the killed process)=\(requeued?.int64("expired") ?? -1) wrong=\(wrong.count)")
        #expect(duplicates == 0)
        #expect(early.isEmpty, "\(early.prefix(5))")
        #expect(wrong.isEmpty, "\(wrong.prefix(8))")
        #expect(cascaded > 0 && (byStatus[5] ?? 0) > 0, "the graphs should exercise cascades")
        #expect((requeued?.int64("retried") ?? 0) > 0, "the graphs should exercise retries")
        #expect(try database.query("SELECT count(*) AS n FROM task_dependencies").rows.first?.int64("n") == 0)
        for server in servers {
            #expect(!server.hasExited, "\(server.name) ended during the test:\n\(server.outputTail)")
        }
    }

    static func scheduleBatch(_ graph: [Node], graph number: Int, client: APIClient) throws -> [Int64] {
        let items: [JSONValue] = graph.enumerated().map { index, node in
            var item: JSONObject = [
                "type": "core:text2text", "appId": "graphs", "input": ["input": .string("\(number)-\(index) \(node.script.rawValue)")],
            ]
            if !node.dependsOn.isEmpty {
                item["dependsOn"] = .array(node.dependsOn.map { .string("#\($0)") })
                item["onDependencyFailure"] = .string(node.policy)
            }
            return .object(item)
        }
        let response = try client.call("POST", "schedule/batch", json: ["tasks": .array(items)])
        guard response.status == 200, let tasks = response.data?["tasks"]?.arrayValue else {
            throw TestFailure("batch: \(response.status) \(response.bodyText)")
        }
        return tasks.compactMap { $0["id"]?.int64Value }
    }

    /// Schedules the graph task by task; `halfway` runs when half of it is scheduled.
    static func scheduleOneByOne(
        _ graph: [Node], graph number: Int, client: APIClient, halfway: () throws -> Void = {}
    ) throws -> [Int64] {
        var ids: [Int64] = []
        for (index, node) in graph.enumerated() {
            if index == graph.count / 2 { try halfway() }
            var body: JSONObject = [
                "type": "core:text2text", "appId": "graphs", "input": ["input": .string("\(number)-\(index) \(node.script.rawValue)")],
            ]
            if !node.dependsOn.isEmpty {
                body["dependsOn"] = .array(node.dependsOn.map { .int(ids[$0]) })
                body["onDependencyFailure"] = .string(node.policy)
            }
            let response = try client.call("POST", "schedule", json: .object(body))
            guard response.status == 200, let id = response.taskID else {
                throw TestFailure("schedule \(number)-\(index): \(response.status) \(response.bodyText)")
            }
            ids.append(id)
        }
        return ids
    }

    /// One worker: claims through one server, falls over to the other when its server does not
    /// answer, and acts by the task's script; a result whose answer was lost is sent again
    /// (fenced by `attempt`: 200 or 409, never a second effect).
    static func work(ports: [UInt16], first: Int, caller: Caller, stop: StopFlag) -> WorkerLog {
        var log = WorkerLog()
        var current = first
        var clients = ports.map { APIClient(port: $0, caller: caller) }
        func call(_ method: String, _ path: String, json: JSONValue) -> APIResponse? {
            for _ in 0..<20 {
                do {
                    return try clients[current].call(method, path, json: json)
                } catch {
                    clients[current] = APIClient(port: ports[current], caller: caller)
                    current = (current + 1) % ports.count
                    usleep(50_000)
                }
            }
            log.errors.append("\(method) \(path): no server answered")
            return nil
        }
        let deadline = ContinuousClock.now + .seconds(150)
        while !stop.isRaised, ContinuousClock.now < deadline {
            guard let claimed = call("GET", "tasks_provider/next", json: [
                "providerIds": ["core:text2text"], "taskTypeIds": ["core:text2text"],
            ]) else { return log }
            guard claimed.status == 200, let task = claimed.task, let id = task["id"]?.int64Value,
                let attempt = task["attempt"]?.int64Value, let text = task["input"]?["input"]?.stringValue
            else {
                if claimed.status != 204 { log.errors.append("next: \(claimed.status) \(claimed.bodyText)") }
                usleep(20_000)
                continue
            }
            log.claims.append(Claim(task: id, attempt: attempt))
            let script = Script(rawValue: String(text.split(separator: " ").last ?? "")) ?? .succeed
            var body: JSONObject = ["attempt": .int(attempt)]
            switch script {
            case .succeed: body["output"] = ["output": .string(text)]
            case .fail: body["errorMessage"] = "scripted failure"
            case .failOnce where attempt == 1:
                body["errorMessage"] = "scripted retryable failure"
                body["retryable"] = true
            case .failOnce: body["output"] = ["output": .string(text)]
            }
            guard let reported = call("POST", "tasks_provider/\(id)/result", json: .object(body)) else { return log }
            if reported.status != 200 && reported.status != 409 {
                log.errors.append("result \(id): \(reported.status) \(reported.bodyText)")
            }
        }
        return log
    }
}

/// Tells threads to end their loops.
final class StopFlag: Sendable {
    private let raised = Atomic<Bool>(false)

    func raise() { raised.store(true, ordering: .sequentiallyConsistent) }

    var isRaised: Bool { raised.load(ordering: .sequentiallyConsistent) }
}
