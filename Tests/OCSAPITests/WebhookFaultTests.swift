import Dispatch
import Foundation
import JSON
import Postgres
import Synchronization
import TaskDispatchTesting
import Testing

/// The webhook fault test: the receiver fails calls and the server is killed with SIGKILL in the
/// middle of a call, then a new server process takes over the same database. Every task's
/// webhook must still be acknowledged exactly once, every call for one task must carry the same
/// delivery id, and none may be lost.
@Suite("Webhook fault")
struct WebhookFaultTests {
    static let taskCount = 12
    static let secret = "fault-secret"

    /// What the receiver does, by phase: before the kill it holds the first call open (the
    /// server dies during it) and answers 500 to all others; after the restart it answers 500
    /// to each task's first call, then 200.
    final class Script: Sendable {
        struct State {
            var restarted = false
            var holding = false
            var heldTask: Int64?
            var callsAfterRestart: [Int64: Int] = [:]
            var failedBeforeKill = 0
            var failedAfterRestart = 0
        }
        let state = Mutex(State())
        let holdStarted = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)

        func answer(_ call: WebhookReceiver.Call) -> Int {
            enum Action { case hold, fail, succeed }
            let action: Action = state.withLock { state in
                if !state.restarted {
                    if !state.holding {
                        state.holding = true
                        state.heldTask = call.taskID
                        return .hold
                    }
                    state.failedBeforeKill += 1
                    return .fail
                }
                let earlier = state.callsAfterRestart[call.taskID ?? 0, default: 0]
                state.callsAfterRestart[call.taskID ?? 0] = earlier + 1
                if earlier == 0 {
                    state.failedAfterRestart += 1
                    return .fail
                }
                return .succeed
            }
            switch action {
            case .hold:
                holdStarted.signal()
                release.wait()  // the caller is killed meanwhile; this answer goes nowhere
                return 500
            case .fail: return 500
            case .succeed: return 200
            }
        }
    }

    @Test("SIGKILL mid-call and failing receiver: each webhook acknowledged once, same delivery id on every attempt, none lost")
    func killMidCallAndRestart() throws {
        guard let fixture = try ServeProcessFixture.make(prefix: "webhook_fault") else { return }
        defer { fixture.removeFolder() }
        let (alice, worker) = (fixture.alice, fixture.worker)

        let script = Script()
        let receiver = try WebhookReceiver { call, _ in script.answer(call) }
        defer {
            script.release.signal()
            receiver.stop()
        }
        func serve(_ name: String) throws -> (ChildProcess, UInt16) {
            let port = try freeLoopbackPort()
            let server = try fixture.spawnServer(
                port: port,
                options: [
                    "--db-pool-size", "4", "--schedule-rate-limit", "0", "--webhook-allow-private-targets", "--webhook-secret", Self.secret,
                    "--webhook-timeout", "5", "--webhook-retry-base-seconds", "0.2", "--webhook-retry-max-seconds", "1",
                    "--webhook-max-attempts", "50", "--webhook-poll-seconds", "0.5",
                ],
                name: name, logName: name)
            try waitUntilAnswering(port: port, process: server)
            return (server, port)
        }

        // Phase 1: server A finishes every task; its first call hangs, and it dies during it.
        let (first, firstPort) = try serve("server-a")
        defer { first.kill() }
        let producer = APIClient(port: firstPort, caller: alice)
        var tasks = Set<Int64>()
        for index in 0..<Self.taskCount {
            let response = try producer.call(
                "POST", "schedule",
                json: [
                    "type": "core:text2text", "input": ["input": .string("t\(index)")], "appId": "testapp",
                    "webhookUri": .string(receiver.url("/hook")), "webhookMethod": "HTTP:POST",
                ])
            tasks.insert(try #require(response.taskID, "schedule: \(response.bodyText)"))
        }
        let workerClient = APIClient(port: firstPort, caller: worker)
        for _ in 0..<Self.taskCount {
            let claimed = try workerClient.next()
            let id = try #require(claimed.taskID, "next: \(claimed.status)")
            let result = try workerClient.call(
                "POST", "tasks_provider/\(id)/result", json: ["taskId": .int(id), "output": ["output": "done"]])
            #expect(result.status == 200)
        }
        try #require(script.holdStarted.wait(timeout: .now() + 60) == .success, "no webhook call reached the receiver")
        // Best effort, bounded well within the 5 s call timeout: let the other tasks' first calls
        // fail, so that their retries are scheduled by server A and must survive its death.
        let failuresDeadline = ContinuousClock.now + .seconds(2)
        while ContinuousClock.now < failuresDeadline, script.state.withLock({ $0.failedBeforeKill }) < Self.taskCount - 1 {
            usleep(10_000)
        }
        first.kill()  // SIGKILL while a call is in flight
        let heldTask = script.state.withLock { $0.heldTask }
        script.state.withLock { $0.restarted = true }
        script.release.signal()

        // Phase 2: server B on the same database delivers what is owed, through more failures.
        let (second, _) = try serve("server-b")
        defer { second.kill() }
        let acknowledgedAll = receiver.waitUntil(timeoutSeconds: 120) { calls in
            Set(calls.filter { $0.answered == 200 }.compactMap(\.taskID)).isSuperset(of: tasks)
        }
        #expect(acknowledgedAll, "not every task's webhook was acknowledged:\n\(second.outputTail)")
        // Let the last outcomes be recorded before counting.
        let database = try PostgresConnection(connectionString: fixture.connectionString, logger: TestServer.silentLogger)
        defer { database.close() }
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline,
            try database.query("SELECT count(*) AS n FROM webhook_deliveries WHERE status <> 'delivered'").rows[0].int64("n") != 0
        {
            usleep(50_000)
        }

        let calls = receiver.calls
        var acknowledged: [Int64: Int] = [:]
        var idsByTask: [Int64: Set<String>] = [:]
        for call in calls {
            guard let id = call.taskID else { continue }
            if call.answered == 200 { acknowledged[id, default: 0] += 1 }
            idsByTask[id, default: []].insert(call.deliveryID ?? "none")
            #expect(call.signature == WebhookReceiver.expectedSignature(secret: Self.secret, timestamp: call.timestamp ?? "", body: call.body))
        }
        let duplicates = acknowledged.values.reduce(0) { $0 + max(0, $1 - 1) }
        let lost = tasks.subtracting(acknowledged.keys).count
        let idMismatches = idsByTask.values.filter { $0.count != 1 }.count
        let rows = try database.query("SELECT task_id, delivery_id::text AS id, status, attempts FROM webhook_deliveries").rows
        let delivered = rows.filter { $0.string("status") == "delivered" }.count
        let injected = script.state.withLock { ($0.failedBeforeKill, $0.failedAfterRestart) }
        let heldCalls = calls.filter { $0.taskID == heldTask }
        print("""
            webhook fault: injected SIGKILL of server A during a call (task \(heldTask.map(String.init) ?? "?")), \
            \(injected.0) calls failed (500) before the kill, \(injected.1) failed (500) after the restart; \
            checked tasks=\(tasks.count) delivery rows=\(rows.count) delivered=\(delivered) calls=\(calls.count) \
            acknowledged=\(acknowledged.values.reduce(0, +)) duplicates acknowledged=\(duplicates) lost=\(lost) \
            tasks with more than one delivery id=\(idMismatches); calls for the interrupted task=\(heldCalls.count) \
            attempts \(heldCalls.compactMap(\.attempt))
            """)
        #expect(rows.count == tasks.count, "one delivery row per task")
        #expect(delivered == tasks.count)
        #expect(duplicates == 0)
        #expect(lost == 0)
        #expect(idMismatches == 0, "every call for a task carries the same delivery id")
        for row in rows {
            let id = row.int64("task_id") ?? 0
            #expect(idsByTask[id] == [row.string("id") ?? ""], "task \(id): the receiver saw the stored delivery id")
            #expect((row.int("attempts") ?? 0) >= calls.filter { $0.taskID == id }.count)
        }
        // The interrupted call came again after the crash, with the same id and a later attempt.
        #expect(heldCalls.count >= 2)
        #expect(Set(heldCalls.compactMap(\.attempt)).count == heldCalls.count)
        #expect(second.terminate(timeoutSeconds: 20) == .exited(0), "\(second.outputTail)")
    }
}
