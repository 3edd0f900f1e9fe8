import Foundation
import JSON
import Testing

@Suite("Retries, priorities and delays over HTTP")
struct RetryAndDelayTests {
    @Test("a retryable failure puts the task back after its backoff; the next claim is attempt 2")
    func retryable() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        let worker = server.client(server.worker)
        let id = try app.schedule()
        _ = try worker.next()
        let failed = try worker.call(
            "POST", "tasks_provider/\(id)/result", json: ["errorMessage": "model busy", "retryable": true, "attempt": 1])
        #expect(failed.status == 200)
        #expect(failed.task?["status"] == "STATUS_SCHEDULED")
        #expect(failed.task?["runAfter"]?.int64Value != nil)
        #expect(try worker.next().status == 204)

        let database = try server.database()
        defer { database.close() }
        _ = try database.query("UPDATE tasks SET run_after = now() WHERE id = $1", [id])
        var again: APIResponse?
        #expect(try eventually {
            again = try worker.next()
            return again?.status == 200
        })
        #expect(again?.taskID == id)
        #expect(again?.task?["attempt"] == 2)
    }

    @Test("priority and runAfter on schedule; bad values are 400")
    func scheduling() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        let worker = server.client(server.worker)
        func schedule(_ extra: JSONObject) throws -> APIResponse {
            var body: JSONObject = ["type": "core:text2text", "input": ["input": "x"], "appId": "app"]
            for (key, value) in extra { body[key] = value }
            return try app.call("POST", "schedule", json: .object(body))
        }
        let plain = try schedule([:])
        let later = try schedule(["runAfter": .int(Int64(Date().timeIntervalSince1970) + 3600)])
        let urgent = try schedule(["priority": 7])
        #expect(later.task?["runAfter"]?.int64Value != nil)
        #expect(urgent.task?["priority"] == 7)
        #expect(try worker.next().taskID == urgent.taskID)
        #expect(try worker.next().taskID == plain.taskID)
        #expect(try worker.next().status == 204)
        for bad: JSONObject in [["priority": 5000], ["priority": "high"], ["runAfter": -1], ["runAfter": "tomorrow"]] {
            #expect(try schedule(bad).status == 400, "\(bad)")
        }
    }
}
