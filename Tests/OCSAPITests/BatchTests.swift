import JSON
import Synchronization
import TaskDispatchTesting
import Testing

@Suite("Batched schedule and results over HTTP")
struct BatchTests {
    static func item(_ text: String, type: String = "core:text2text") -> JSONValue {
        ["type": .string(type), "input": ["input": .string(text)], "appId": "app", "customId": .string(text)]
    }

    @Test("a batch is scheduled in order in one go, or not at all")
    func scheduleBatch() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        let database = try server.database()
        defer { database.close() }
        func count() throws -> Int64? { try database.query("SELECT count(*) AS n FROM tasks")[0].int64("n") }

        let batch = try app.call("POST", "schedule/batch", json: ["tasks": [Self.item("a"), Self.item("b"), Self.item("c")]])
        #expect(batch.status == 200)
        let tasks = batch.data?["tasks"]?.arrayValue ?? []
        #expect(tasks.map { $0["customId"] } == ["a", "b", "c"])
        #expect(tasks.allSatisfy { $0["status"] == "STATUS_SCHEDULED" && $0["userId"] == "alice" })
        #expect(Set(tasks.compactMap { $0["id"]?.int64Value }).count == 3)
        #expect(try count() == 3)

        let bad = try app.call("POST", "schedule/batch", json: ["tasks": [Self.item("d"), Self.item("e", type: "core:nope")]])
        #expect(bad.status == 400)
        #expect(bad.message?.hasPrefix("tasks[1]: unknown task type") == true, "\(bad.bodyText)")
        let tooMany = try app.call("POST", "schedule/batch", json: ["tasks": .array(Array(repeating: Self.item("x"), count: 501))])
        #expect(tooMany.status == 400)
        #expect(tooMany.message?.contains("1 to 500") == true)
        for body: JSONValue in [["tasks": []], ["tasks": "a"], ["tasks": [1]], [:]] {
            #expect(try app.call("POST", "schedule/batch", json: body).status == 400, "\(body)")
        }
        #expect(try count() == 3, "refused batches schedule nothing")
        #expect(try server.client(server.worker).call("POST", "schedule/batch", json: ["tasks": [Self.item("w")]]).status == 403)
    }

    @Test("batched results: each item answered on its own; bad items refused, the others applied")
    func results() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        let worker = server.client(server.worker)
        let ids = try (0..<3).map { try app.schedule("t\($0)") }
        let waiting = try app.schedule("waiting")
        for _ in 0..<3 { _ = try worker.next() }
        let response = try worker.call("POST", "tasks_provider/results", json: ["results": [
            ["taskId": .int(ids[0]), "output": ["output": "zero"], "attempt": 1],
            ["taskId": .int(ids[1]), "errorMessage": "broken"],
            ["taskId": .int(waiting), "output": ["output": "too early"]],
            ["output": ["output": "no id"]],
            ["taskId": 999_999, "output": [:]],
            ["taskId": .int(ids[0]), "output": ["output": "again"]],
            ["taskId": .int(ids[2]), "output": "not an object"],
        ]])
        #expect(response.status == 200)
        let answers = response.data?["results"]?.arrayValue ?? []
        #expect(answers.map { $0["status"]?.int64Value } == [200, 200, 409, 400, 404, 409, 400])
        #expect(answers[0]["taskStatus"] == "STATUS_SUCCESSFUL")
        #expect(answers[1]["taskStatus"] == "STATUS_FAILED")
        #expect(answers.allSatisfy { $0["task"] == nil }, "no task is read back")
        #expect(answers[2]["message"]?.stringValue?.contains("STATUS_SCHEDULED") == true)
        #expect(try app.call("GET", "task/\(ids[0])").task?["output"] == ["output": "zero"])
        #expect(try app.call("GET", "task/\(ids[2])").task?["status"] == "STATUS_RUNNING")
        #expect(try app.call("GET", "task/\(waiting)").task?["status"] == "STATUS_SCHEDULED")
    }

    @Test("8 workers claiming and reporting in batches of 25 finish 1,000 tasks, each once")
    func concurrentBatches() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        for chunk in 0..<4 {
            let items = (0..<250).map { Self.item("c\(chunk)-\($0)") }
            #expect(try app.call("POST", "schedule/batch", json: ["tasks": .array(items)]).status == 200)
        }
        let finished = Mutex<[Int64]>([])
        let refused = Atomic<Int>(0)
        onThreads(8) { _ in
            let worker = server.client(server.worker)
            while true {
                var claimed: [JSONValue] = []
                while claimed.count < 25, let next = try? worker.next(), next.status == 200, let task = next.task {
                    claimed.append(task)
                }
                if claimed.isEmpty { return }
                let results: [JSONValue] = claimed.map { task in
                    ["taskId": task["id"] ?? .null, "attempt": task["attempt"] ?? .null, "output": ["output": "done"]]
                }
                guard let answer = try? worker.call("POST", "tasks_provider/results", json: ["results": .array(results)]) else { return }
                for item in answer.data?["results"]?.arrayValue ?? [] {
                    if item["status"] == 200, let id = item["taskId"]?.int64Value {
                        finished.withLock { $0.append(id) }
                    } else {
                        refused.add(1, ordering: .relaxed)
                    }
                }
            }
        }
        let all = finished.withLock { $0 }
        print("batched results: tasks=1000 finished=\(all.count) distinct=\(Set(all).count) refused=\(refused.load(ordering: .relaxed))")
        #expect(all.count == 1000)
        #expect(Set(all).count == 1000)
        #expect(refused.load(ordering: .relaxed) == 0)
    }
}
