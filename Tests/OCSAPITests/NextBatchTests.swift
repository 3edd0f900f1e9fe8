import Foundation
import JSON
import Synchronization
import TaskDispatchTesting
import Testing

/// `GET tasks_provider/next_batch`: one claim statement per batch, never more than asked,
/// `has_more`, and concurrent workers draining a queue without duplicates or leftovers.
@Suite("next_batch over HTTP")
struct NextBatchTests {
    typealias Support = EndpointSupport

    static func batch(_ worker: APIClient, _ count: JSONValue?, types: [String] = ["core:text2text"]) throws -> APIResponse {
        var body: JSONObject = ["providerIds": .array(types.map(JSONValue.string)), "taskTypeIds": .array(types.map(JSONValue.string))]
        if let count { body["numberOfTasks"] = count }
        return try worker.call("GET", "tasks_provider/next_batch", json: .object(body))
    }

    @Test("a batch holds the oldest tasks in order, each with the provider id, and has_more says what remains")
    func batchesAndHasMore() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        let worker = server.client(server.worker)
        let ids = try (0..<5).map { _ in try app.schedule() }

        let first = try Self.batch(worker, 3)
        #expect(first.status == 200, "\(first.bodyText)")
        let tasks = try #require(first.data?["tasks"]?.arrayValue)
        #expect(tasks.compactMap { $0["task"]?["id"]?.int64Value } == Array(ids[0..<3]))
        #expect(tasks.allSatisfy { $0["provider"] == "core:text2text" && $0["task"]?["status"] == "STATUS_RUNNING" })
        #expect(first.data?["has_more"] == true)

        let second = try Self.batch(worker, 3)
        #expect(second.data?["tasks"]?.arrayValue?.compactMap { $0["task"]?["id"]?.int64Value } == Array(ids[3...]))
        #expect(second.data?["has_more"] == false)

        let empty = try Self.batch(worker, 3)
        #expect(empty.status == 200)
        #expect(empty.data == ["tasks": [], "has_more": false])
        for id in ids { #expect(try Support.storedStatus(server, id: id) == 2) }
    }

    @Test("numberOfTasks defaults to 1 and is read from the query too")
    func defaultsAndQuery() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        let worker = server.client(server.worker)
        for _ in 0..<4 { _ = try app.schedule() }
        #expect(try Self.batch(worker, nil).data?["tasks"]?.arrayValue?.count == 1)
        let query = try worker.call(
            "GET", "tasks_provider/next_batch?providerIds[]=core:text2text&taskTypeIds[]=core:text2text&numberOfTasks=2&format=json")
        #expect(query.data?["tasks"]?.arrayValue?.count == 2, "\(query.bodyText)")
        #expect(query.data?["tasks"]?.arrayValue?.first?["provider"] == "core:text2text")
        #expect(query.data?["has_more"] == true)
    }

    @Test("unknown types and no provider give an empty batch, never 204")
    func emptyBatches() throws {
        let server = try TestServer()
        defer { server.stop() }
        _ = try server.client(server.alice).schedule()
        let worker = server.client(server.worker)
        #expect(try Self.batch(worker, 5, types: ["vendor:nope"]).data == ["tasks": [], "has_more": false])
        let noProvider = try worker.call(
            "GET", "tasks_provider/next_batch", json: ["providerIds": [], "taskTypeIds": ["core:text2text"]])
        #expect(noProvider.status == 200)
        #expect(noProvider.data == ["tasks": [], "has_more": false])
        #expect(try Support.storedStatus(server, id: 1) == 1)
    }

    @Test("numberOfTasks outside 1...100 or not an integer, and missing lists, are 400 and claim nothing", arguments: [
        (.int(0), "between 1 and 100"), (.int(101), "between 1 and 100"), (.int(-3), "between 1 and 100"),
        (.string("many"), "must be an integer"), (.double(2.5), "must be an integer"),
    ] as [(JSONValue, String)])
    func badNumberOfTasks(count: JSONValue, fragment: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        _ = try server.client(server.alice).schedule()
        let response = try Self.batch(server.client(server.worker), count)
        Support.expectOCSError(response, status: 400, mentioning: ["numberOfTasks", fragment])
        #expect(try Support.storedStatus(server, id: 1) == 1)
    }

    @Test("next_batch is for ExApps; lists are required")
    func refusals() throws {
        let server = try TestServer()
        defer { server.stop() }
        Support.expectOCSError(
            try Self.batch(server.client(server.alice), 1), status: 403, mentioning: ["ExApps"])
        Support.expectOCSError(
            try server.client(server.worker).call("GET", "tasks_provider/next_batch", json: ["taskTypeIds": ["core:text2text"]]),
            status: 400, mentioning: ["providerIds"])
        Support.expectOCSError(
            try server.client(server.worker).call("POST", "tasks_provider/next_batch"), status: 405)
    }

    @Test("16 workers asking for batches of 1 to 50 drain 2,000 tasks: none twice, none left, no batch too large")
    func concurrentDrain() throws {
        let server = try TestServer()
        defer { server.stop() }
        let total = 2_000
        let connection = try server.database()
        defer { connection.close() }
        // Inserted directly: the test is about claiming, and 2,000 HTTP schedules would only add time.
        _ = try connection.query(
            """
            INSERT INTO tasks (type, user_id, app_id, custom_id, input, completion_expected_at)
            SELECT 'core:text2text', 'alice', 'batch', '', '{"input":"x"}', now() FROM generate_series(1, $1::integer)
            """, [total])

        struct Tally { var ids: [Int64] = []; var batches = 0; var oversized = 0; var errors: [String] = [] }
        let tally = Mutex(Tally())
        let port = server.port
        let caller = server.worker.self
        onThreads(16) { index in
            let worker = APIClient(port: port, caller: caller)
            var generator = SystemRandomNumberGenerator()
            var empties = 0
            while empties < 3 {
                let asked = Int.random(in: 1...50, using: &generator)
                do {
                    let response = try Self.batch(worker, .int(Int64(asked)))
                    guard response.status == 200, let tasks = response.data?["tasks"]?.arrayValue else {
                        tally.withLock { $0.errors.append("\(response.status) \(response.bodyText)") }
                        return
                    }
                    let ids = tasks.compactMap { $0["task"]?["id"]?.int64Value }
                    empties = ids.isEmpty ? empties + 1 : 0
                    tally.withLock {
                        $0.ids += ids
                        $0.batches += 1
                        if ids.count > asked { $0.oversized += 1 }
                    }
                } catch {
                    tally.withLock { $0.errors.append("worker \(index): \(error)") }
                    return
                }
            }
        }

        let result = tally.withLock { $0 }
        let distinct = Set(result.ids)
        let leftover = try connection.query("SELECT count(*)::bigint AS n FROM tasks WHERE status = 1").rows.first?.int64("n")
        print("next_batch drain: \(total) tasks, \(result.batches) batches, \(result.ids.count) received, \(distinct.count) distinct, "
            + "\(result.ids.count - distinct.count) duplicates, \(leftover ?? -1) unclaimed, \(result.oversized) oversized batches")
        #expect(result.errors.isEmpty, "\(result.errors.prefix(3))")
        #expect(result.ids.count == total)
        #expect(distinct.count == total)
        #expect(leftover == 0)
        #expect(result.oversized == 0)
    }
}
