import Foundation
import JSON
import Postgres
import TaskQueue
import Testing

/// `GET tasks/{id}/queue_position` over HTTP: the claim's order (priority, then age) within the
/// task's type, 0 once it is not waiting to be claimed, the owner check, and the estimate past
/// the count limit on a queue of 25,000.
@Suite("Queue position")
struct QueuePositionTests {
    typealias Support = EndpointSupport

    static func position(_ client: APIClient, _ id: Int64) throws -> (Int64?, Bool?) {
        let response = try client.call("GET", "tasks/\(id)/queue_position")
        return (response.data?["position"]?.int64Value, response.data?["exact"]?.boolValue)
    }

    @Test("positions follow the claim order of the task's type: priority first, then age; claims move them up; other types do not count")
    func claimOrder() throws {
        let server = try TestServer()
        defer { server.stop() }
        let alice = server.client(server.alice)
        let worker = server.client(server.worker)
        let first = try alice.schedule("a")
        let second = try alice.schedule("b")
        _ = try alice.schedule("other type", type: "core:text2text:summary")
        let third = try alice.schedule("c")
        #expect(try Self.position(alice, first) == (1, true))
        #expect(try Self.position(alice, second) == (2, true))
        #expect(try Self.position(alice, third) == (3, true))
        let urgent = try alice.call(
            "POST", "schedule", json: ["type": "core:text2text", "input": ["input": "now"], "appId": "a", "priority": 5])
        let urgentID = try #require(urgent.taskID, "\(urgent.bodyText)")
        #expect(try Self.position(alice, urgentID) == (1, true))
        #expect(try Self.position(alice, third) == (4, true))

        // The claim takes them in that order, and each position moves up by one.
        #expect(try worker.next().taskID == urgentID)
        #expect(try Self.position(alice, urgentID) == (0, true), "running: not waiting")
        #expect(try Self.position(alice, first) == (1, true))
        #expect(try Self.position(alice, third) == (3, true))
        #expect(try worker.next().taskID == first)
        #expect(try Self.position(alice, third) == (2, true))
    }

    @Test("a task that is not waiting to be claimed answers 0; another user's task and a missing one 404; a bad id 400")
    func notWaiting() throws {
        let server = try TestServer()
        defer { server.stop() }
        let alice = server.client(server.alice)
        let worker = server.client(server.worker)
        let done = try Support.successfulTask(alice, worker)
        #expect(try Self.position(alice, done) == (0, true))
        let delayed = try alice.call(
            "POST", "schedule",
            json: ["type": "core:text2text", "input": ["input": "later"], "appId": "a", "runAfter": .int(Int64(Date().timeIntervalSince1970) + 3600)])
        #expect(try Self.position(alice, try #require(delayed.taskID, "\(delayed.bodyText)")) == (0, true))
        let waiting = try alice.schedule("waits")
        let dependent = try alice.call(
            "POST", "schedule",
            json: ["type": "core:text2text", "input": ["input": "after"], "appId": "a", "dependsOn": [.int(waiting)]])
        #expect(try Self.position(alice, try #require(dependent.taskID, "\(dependent.bodyText)")) == (0, true))
        #expect(try Self.position(alice, waiting) == (1, true))

        Support.expectOCSError(try server.client(server.bob).call("GET", "tasks/\(waiting)/queue_position"), status: 404)
        Support.expectOCSError(try alice.call("GET", "tasks/999999/queue_position"), status: 404)
        Support.expectOCSError(try alice.call("GET", "tasks/x/queue_position"), status: 400)
        Support.expectOCSError(try alice.call("GET", "tasks/\(waiting)/queue_position?verbose=1"), status: 400)
        Support.expectOCSError(try alice.call("POST", "tasks/\(waiting)/queue_position"), status: 405)
    }

    @Test("past the count limit: N minus those behind near the end of a queue of 25,000, interpolated by id in its middle")
    func longQueue() throws {
        let server = try TestServer()
        defer { server.stop() }
        let alice = server.client(server.alice)
        let database = try server.database()
        defer { database.close() }
        let total = 25_000
        let insert: PostgresQuery = """
            INSERT INTO tasks (type, user_id, app_id, input)
            SELECT 'core:text2text', 'alice', 'bulk', '{"input":"x"}' FROM generate_series(1, 25000)
            """
        _ = try database.query(insert)
        try server.server.tasks.foldCountDeltas()
        let ids = try database.query("SELECT id FROM tasks ORDER BY id").rows.compactMap { $0.int64("id") }
        #expect(ids.count == total)
        let limit = TaskStore.queuePositionCountLimit

        #expect(try Self.position(alice, ids[0]) == (1, true))
        #expect(try Self.position(alice, ids[limit - 2]) == (Int64(limit - 1), true))
        // More than the limit ahead, fewer behind: the count minus those behind, exact.
        #expect(try Self.position(alice, ids[total - 1]) == (Int64(total), false))
        #expect(try Self.position(alice, ids[total - 100]) == (Int64(total - 99), false))
        // Deep in the middle: interpolated by id, here (ids without gaps) to the true position.
        let (middle, exact) = try Self.position(alice, ids[12_500])
        #expect(exact == false)
        #expect(middle == 12_501, "\(String(describing: middle))")
    }
}
