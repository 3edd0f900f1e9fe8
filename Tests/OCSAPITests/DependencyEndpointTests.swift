import Foundation
import JSON
import OCSAPI
import Postgres
import TaskQueue
import Testing

/// `dependsOn`, `onDependencyFailure` and output references over HTTP: what is accepted, what is
/// refused (and then nothing is stored), and how a waiting task looks to each kind of client.
@Suite("Task dependencies over HTTP")
struct DependencyEndpointTests {
    func schedule(_ client: APIClient, _ body: JSONObject) throws -> APIResponse {
        var body = body
        if body["type"] == nil { body["type"] = "core:text2text" }
        if body["appId"] == nil { body["appId"] = "app" }
        if body["input"] == nil { body["input"] = ["input": "x"] }
        return try client.call("POST", "schedule", json: .object(body))
    }

    @Test("a waiting task is STATUS_SCHEDULED with dependsOn and waitingFor, is not claimable, not counted as scheduled")
    func waitingTaskOnTheWire() throws {
        let server = try TestServer()
        defer { server.stop() }
        let (alice, worker) = (server.client(server.alice), server.client(server.worker))
        let first = try alice.schedule("first")
        let plain = try #require(try alice.call("GET", "task/\(first)").task?.objectValue)
        #expect(plain["dependsOn"] == nil && plain["waitingFor"] == nil, "tasks without dependencies look as in Nextcloud")

        let waiting = try schedule(alice, ["dependsOn": [.int(first)]])
        #expect(waiting.status == 200, "\(waiting.bodyText)")
        let task = try #require(waiting.task)
        #expect(task["status"] == "STATUS_SCHEDULED")
        #expect(task["dependsOn"] == [.int(first)])
        #expect(task["waitingFor"] == [.int(first)])
        #expect(task["onDependencyFailure"] == "cancel")

        let stats = try worker.call("GET", "queue_stats", json: ["taskTypeIds": ["core:text2text"]])
        #expect(stats.data?["scheduled"] == 1, "only the first task can be claimed: \(stats.bodyText)")
        let status = try server.client(server.admin).call("GET", "admin/status")
        #expect(status.data?["tasks"]?["byStatus"]?["STATUS_WAITING"] == 1, "\(status.bodyText)")
        #expect(status.data?["tasks"]?["byStatus"]?["STATUS_SCHEDULED"] == 1)

        #expect(try worker.next().taskID == first)
        #expect(try worker.next().status == 204, "the waiting task must not be handed out")
        let result = try worker.call("POST", "tasks_provider/\(first)/result", json: ["output": ["output": "done"]])
        #expect(result.status == 200)
        let released = try #require(try alice.call("GET", "task/\(waiting.taskID ?? 0)").task)
        #expect(released["waitingFor"] == [])
        #expect(try worker.next().taskID == waiting.taskID)
        let body = String(decoding: WebhookPayload.body(for: try #require(try server.server.tasks.task(id: waiting.taskID ?? 0, userID: nil))), as: UTF8.self)
        #expect(body.contains("\"dependsOn\":[\(first)]"), "webhook payloads show dependsOn: \(body)")
    }

    @Test("a long poll parked for the successor's type gets it as soon as the last dependency's result is in")
    func releaseWakesLongPolls() throws {
        // A backstop far away: only the release's notice can wake the poll in time.
        let server = try TestServer { $0.longPollBackstopSeconds = 60 }
        defer { server.stop() }
        let (alice, worker) = (server.client(server.alice), server.client(server.worker))
        let first = try alice.schedule("first")
        let summary = try #require(try schedule(alice, ["type": "core:text2text:summary", "dependsOn": [.int(first)]]).taskID)
        #expect(try worker.next().taskID == first)

        let woken = ThreadSlots<(id: Int64?, seconds: Double)>(count: 1)
        let (port, caller) = (server.port, server.worker)
        let poll = Thread {
            let client = APIClient(port: port, caller: caller)
            let start = ContinuousClock.now
            let response = try? client.call("GET", "tasks_provider/next", json: [
                "providerIds": ["core:text2text:summary"], "taskTypeIds": ["core:text2text:summary"], "wait": 20,
            ])
            let elapsed = ContinuousClock.now - start
            woken.store((response?.taskID, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18), at: 0)
        }
        poll.start()
        #expect(EndpointSupport.waitUntil(seconds: 5) { server.server.waitingLongPolls == 1 }, "the poll never parked")
        let resultAt = ContinuousClock.now
        #expect(try worker.call("POST", "tasks_provider/\(first)/result", json: ["output": ["output": "done"]]).status == 200)
        #expect(EndpointSupport.waitUntil(seconds: 10) { woken.values[0] != nil })
        let outcome = try #require(woken.values[0])
        #expect(outcome.id == summary)
        #expect(ContinuousClock.now - resultAt < .seconds(3), "woken by the backstop, not by the release's notice")
    }

    @Test("a reference whose value does not fit the successor's input fails the successor, saying which reference produced what")
    func misfittingReference() throws {
        let server = try TestServer()
        defer { server.stop() }
        let (alice, worker) = (server.client(server.alice), server.client(server.worker))
        let text = try alice.schedule("how many images?")
        let image = try #require(try schedule(alice, [
            "type": "core:text2image", "dependsOn": [.int(text)],
            "input": ["input": "a queue", "numberOfImages": ["$fromTask": .int(text), "output": "output"]],
        ]).taskID)
        #expect(try worker.next().taskID == text)
        #expect(try worker.call("POST", "tasks_provider/\(text)/result", json: ["output": ["output": "three"]]).status == 200)
        let failed = try #require(try alice.call("GET", "task/\(image)").task)
        #expect(failed["status"] == "STATUS_FAILED", "resolved before the result's answer: \(failed)")
        let message = try server.client(server.admin).call("GET", "admin/tasks/\(image)").data?["task"]?["errorMessage"]?.stringValue
        #expect(message?.contains("input key 'numberOfImages' must be Number") == true, "\(message ?? "none")")
        #expect(message?.contains("input 'numberOfImages' was task \(text) output 'output': \"three\"") == true, "\(message ?? "none")")
        #expect(try worker.next(types: ["core:text2image"]).status == 204, "a failed successor is never handed out")

        // Scheduled after its dependency succeeded: the input is filled in before the answer.
        let summary = try #require(try schedule(alice, [
            "type": "core:text2text:summary", "dependsOn": [.int(text)],
            "input": ["input": ["$fromTask": .int(text), "output": "output"]],
        ]).task)
        #expect(summary["status"] == "STATUS_SCHEDULED" && summary["waitingFor"] == [])
        #expect(summary["input"] == ["input": "three"], "\(summary)")
        #expect(try worker.next(types: ["core:text2text:summary"]).taskID == summary["id"]?.int64Value)
    }

    @Test("an output that fails validation fails the task, and its dependent is cancelled in the same answer")
    func outputValidationCascades() throws {
        let server = try TestServer()
        defer { server.stop() }
        let (alice, worker) = (server.client(server.alice), server.client(server.worker))
        let first = try alice.schedule("first")
        let waiting = try #require(try schedule(alice, ["dependsOn": [.int(first)]]).taskID)
        #expect(try worker.next().taskID == first)
        let result = try worker.call("POST", "tasks_provider/\(first)/result", json: ["output": ["wrong": "key"]])
        #expect(result.task?["status"] == "STATUS_FAILED", "\(result.bodyText)")
        let cancelled = try #require(try alice.call("GET", "task/\(waiting)").task)
        #expect(cancelled["status"] == "STATUS_CANCELLED")
        #expect(cancelled["waitingFor"] == [])
        let detail = try server.client(server.admin).call("GET", "admin/tasks/\(waiting)")
        #expect(detail.data?["task"]?["errorMessage"] == .string("dependency \(first) ended STATUS_FAILED"), "\(detail.bodyText)")
    }

    @Test("refused: another user's task (404), bad lists, bad policies, bad references, too many; nothing is stored")
    func refusals() throws {
        let server = try TestServer { $0.maxDependencies = 3 }
        defer { server.stop() }
        let (alice, bob) = (server.client(server.alice), server.client(server.bob))
        let own = try alice.schedule("mine")
        let others = try bob.schedule("bob's")
        let before = try EndpointSupport.taskCount(server)
        let reference: JSONValue = ["$fromTask": .int(own), "output": "output"]
        let cases: [(JSONObject, Int, String)] = [
            (["dependsOn": [.int(others)]], 404, "task \(others) not found"),
            (["dependsOn": [.int(999_999)]], 404, "not found"),
            (["dependsOn": .int(own)], 400, "dependsOn"),
            (["dependsOn": ["#0"]], 400, "dependsOn"),
            (["dependsOn": [-1]], 400, "dependsOn"),
            (["dependsOn": [.int(own)], "onDependencyFailure": "explode"], 400, "onDependencyFailure"),
            (["onDependencyFailure": "run"], 400, "needs 'dependsOn'"),
            (["dependsOn": [1, 2, 3, 4]], 400, "at most 3"),
            (["input": ["input": reference]], 400, "needs 'dependsOn'"),
            (["dependsOn": [.int(own)], "input": ["input": ["$fromTask": .int(own), "output": "nope"]]], 400, "does not have"),
            (["dependsOn": [.int(own)], "input": ["input": ["$fromTask": .int(own)]]], 400, "a reference is"),
            (["dependsOn": [.int(own)], "input": ["input": ["$fromTask": "x", "output": "output"]]], 400, "must be a task id"),
            (["dependsOn": [.int(own)], "input": ["input": "x", "extra": reference]], 400, "is not an input"),
        ]
        for (body, status, fragment) in cases {
            let response = try schedule(alice, body)
            EndpointSupport.expectOCSError(response, status: status, mentioning: [fragment])
        }
        let batch = try alice.call("POST", "schedule/batch", json: ["tasks": [
            ["type": "core:text2text", "appId": "app", "input": ["input": "a"]],
            ["type": "core:text2text", "appId": "app", "input": ["input": "b"], "dependsOn": ["#1"]],
        ]])
        EndpointSupport.expectOCSError(batch, status: 400, mentioning: ["tasks[1]", "#1 is not an earlier item"])
        #expect(try EndpointSupport.taskCount(server) == before, "a refused request stored something")
    }

    @Test("a batch schedules a whole graph at once; an ExApp acting for nobody may depend only on its own tasks")
    func batchGraphAndConsumer() throws {
        let server = try TestServer()
        defer { server.stop() }
        let (alice, worker) = (server.client(server.alice), server.client(server.worker))
        let batch = try alice.call("POST", "schedule/batch", json: ["tasks": [
            ["type": "core:text2text", "appId": "app", "input": ["input": "chapter 1"]],
            ["type": "core:text2text", "appId": "app", "input": ["input": "chapter 2"]],
            ["type": "core:text2text:summary", "appId": "app", "dependsOn": ["#0", "#1"], "onDependencyFailure": "run",
             "input": ["input": ["$fromTask": "#1", "output": "output"]]],
        ]])
        #expect(batch.status == 200, "\(batch.bodyText)")
        let tasks = try #require(batch.data?["tasks"]?.arrayValue)
        let ids = tasks.compactMap { $0["id"]?.int64Value }
        #expect(tasks[2]["dependsOn"] == [.int(ids[0]), .int(ids[1])])
        #expect(tasks[2]["input"]?["input"] == ["$fromTask": .int(ids[1]), "output": "output"])

        let aliceTask = ids[0]
        let consumer = try worker.call("POST", "tasks_consumer/schedule", json: [
            "type": "core:text2text", "input": ["input": "x"], "dependsOn": [.int(aliceTask)],
        ])
        EndpointSupport.expectOCSError(consumer, status: 404, mentioning: ["task \(aliceTask) not found"])
    }
}
