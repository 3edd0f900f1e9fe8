import JSON
import Synchronization
import TaskDispatchTesting
import Testing

@Suite("Idempotency-Key over HTTP")
struct IdempotencyKeyTests {
    static let body: JSONValue = ["type": "core:text2text", "input": ["input": "once"], "appId": "app"]

    @Test("50 concurrent schedules with one key answer 200 with one and the same task")
    func concurrent() throws {
        let server = try TestServer()
        defer { server.stop() }
        let answers = Mutex<[(status: Int, id: Int64?)]>([])
        onThreads(50) { _ in
            let client = server.client(server.alice)
            let response = try? client.call("POST", "schedule", json: Self.body, headers: [("Idempotency-Key", "order-7")])
            answers.withLock { $0.append((response?.status ?? 0, response?.taskID)) }
        }
        let all = answers.withLock { $0 }
        let ids = all.filter { $0.status == 200 }.compactMap(\.id)
        let database = try server.database()
        defer { database.close() }
        let rows = try database.query("SELECT count(*) AS n FROM tasks")[0].int64("n")
        print("idempotency (http): requests=50 ok=\(ids.count) distinct=\(Set(ids).count) tasks=\(rows ?? -1)")
        #expect(ids.count == 50)
        #expect(Set(ids).count == 1)
        #expect(rows == 1)
    }

    @Test("a different body under a used key is 422 and schedules nothing; keys are per caller; bad keys are 400")
    func refusals() throws {
        let server = try TestServer()
        defer { server.stop() }
        let alice = server.client(server.alice)
        let bob = server.client(server.bob)
        let first = try alice.call("POST", "schedule", json: Self.body, headers: [("Idempotency-Key", "k")])
        #expect(first.status == 200)
        var changed = Self.body.objectValue ?? [:]
        changed["customId"] = "different"
        let reused = try alice.call("POST", "schedule", json: .object(changed), headers: [("Idempotency-Key", "k")])
        #expect(reused.status == 422)
        #expect(reused.message?.contains("Idempotency-Key") == true)
        let bobs = try bob.call("POST", "schedule", json: Self.body, headers: [("Idempotency-Key", "k")])
        #expect(bobs.status == 200)
        #expect(bobs.taskID != first.taskID)
        let tooLong = try alice.call("POST", "schedule", json: Self.body, headers: [("Idempotency-Key", String(repeating: "x", count: 256))])
        #expect(tooLong.status == 400)
        let database = try server.database()
        defer { database.close() }
        #expect(try database.query("SELECT count(*) AS n FROM tasks")[0].int64("n") == 2)
    }
}
