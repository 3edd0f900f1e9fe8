import Foundation
import JSON
import Postgres
import Testing

/// `POST tasks_provider/{taskId}/stream-result` (Nextcloud 34's intermediate results) over HTTP:
/// the user sees the partial output while the task runs, each report replaces the last and
/// extends the lease, the final result replaces it, stale claims are fenced, and a bad report
/// changes nothing.
@Suite("Intermediate results")
struct IntermediateResultTests {
    typealias Support = EndpointSupport

    static func stream(_ worker: APIClient, _ id: Int64, _ body: JSONValue) throws -> APIResponse {
        try worker.call("POST", "tasks_provider/\(id)/stream-result", json: body)
    }

    @Test("the user sees each intermediate output while the task runs; it extends the lease; the final result replaces it")
    func streamThenFinish() throws {
        let server = try TestServer()
        defer { server.stop() }
        let alice = server.client(server.alice)
        let worker = server.client(server.worker)
        let id = try Support.runningTask(alice, worker)
        let database = try server.database()
        defer { database.close() }

        for partial in ["Once", "Once upon", "Once upon a time"] {
            // The lease is about to end; each intermediate output renews it, as progress does.
            _ = try database.query("UPDATE tasks SET lease_expires_at = now() + interval '2 seconds' WHERE id = $1", [id])
            let before = Int64(Date().timeIntervalSince1970)
            let streamed = try Self.stream(worker, id, ["output": ["output": .string(partial), "unknownKey": 1]])
            #expect(streamed.status == 200, "\(streamed.bodyText)")
            #expect(streamed.task?["status"] == "STATUS_RUNNING")
            #expect(streamed.task?["output"] == ["output": .string(partial)], "unknown keys dropped")
            let lease = try #require(streamed.task?["leaseExpiresAt"]?.int64Value)
            #expect(lease >= before + 250, "the lease renewed for the claim's length (300 s), got \(lease - before) s")
            let seen = try alice.call("GET", "task/\(id)")
            #expect(seen.task?["status"] == "STATUS_RUNNING")
            #expect(seen.task?["output"] == ["output": .string(partial)])
        }

        let done = try worker.call("POST", "tasks_provider/\(id)/result", json: ["output": ["output": "Once upon a time, the end."]])
        #expect(done.status == 200)
        #expect(try alice.call("GET", "task/\(id)").task?["output"] == ["output": "Once upon a time, the end."])

        // Finished: a late intermediate output is refused and changes nothing.
        let late = try Self.stream(worker, id, ["output": ["output": "late"]])
        Support.expectOCSError(late, status: 409)
        #expect(try alice.call("GET", "task/\(id)").task?["output"] == ["output": "Once upon a time, the end."])

        // A failure leaves no partial output behind.
        let failing = try Support.runningTask(alice, worker)
        #expect(try Self.stream(worker, failing, ["output": ["output": "half"]]).status == 200)
        #expect(try worker.call("POST", "tasks_provider/\(failing)/result", json: ["errorMessage": "crashed"]).status == 200)
        let failed = try alice.call("GET", "task/\(failing)")
        #expect(failed.task?["status"] == "STATUS_FAILED")
        #expect(failed.task?["output"] == .null)
    }

    @Test("fenced by attempt: a stale claim's output is refused; a task back in the queue shows none; a cancelled task answers unchanged")
    func fencing() throws {
        let server = try TestServer()
        defer { server.stop() }
        let alice = server.client(server.alice)
        let worker = server.client(server.worker)
        let id = try Support.runningTask(alice, worker)
        #expect(try Self.stream(worker, id, ["output": ["output": "first claim"], "attempt": 1]).status == 200)

        let database = try server.database()
        defer { database.close() }
        _ = try database.query("UPDATE tasks SET lease_expires_at = now() - interval '1 second' WHERE id = $1", [id])
        #expect(try eventually { try alice.call("GET", "task/\(id)").task?["status"] == "STATUS_SCHEDULED" })
        #expect(try alice.call("GET", "task/\(id)").task?["output"] == .null, "the expired claim's partial output is gone")

        let second = try worker.next()
        #expect(second.taskID == id)
        #expect(second.task?["attempt"] == 2)
        let stale = try Self.stream(worker, id, ["output": ["output": "stale"], "attempt": 1])
        Support.expectOCSError(stale, status: 409)
        #expect(stale.message?.contains("claimed again") == true, "\(stale.bodyText)")
        #expect(try Self.stream(worker, id, ["output": ["output": "second claim"], "attempt": 2]).status == 200)
        #expect(try alice.call("GET", "task/\(id)").task?["output"] == ["output": "second claim"])

        // A retryable failure puts it back in the queue without the attempt's output.
        let retry = try worker.call("POST", "tasks_provider/\(id)/result", json: ["errorMessage": "busy", "retryable": true, "attempt": 2])
        #expect(retry.status == 200, "\(retry.bodyText)")
        #expect(retry.task?["status"] == "STATUS_SCHEDULED")
        #expect(retry.task?["output"] == .null)

        // Cancelled while running: answered with the task as it is (so the worker stops), nothing stored.
        let cancelled = try Support.runningTask(alice, worker)
        #expect(try Self.stream(worker, cancelled, ["output": ["output": "kept"]]).status == 200)
        #expect(try alice.call("POST", "tasks/\(cancelled)/cancel").status == 200)
        let afterCancel = try Self.stream(worker, cancelled, ["output": ["output": "ignored"]])
        #expect(afterCancel.status == 200)
        #expect(afterCancel.task?["status"] == "STATUS_CANCELLED")
        #expect(afterCancel.task?["output"] == ["output": "kept"])
    }

    @Test("bad intermediate outputs get a 4xx and change nothing: missing, not an object, wrong type, a file not uploaded, not running, not an ExApp")
    func refusals() throws {
        let server = try TestServer()
        defer { server.stop() }
        let alice = server.client(server.alice)
        let worker = server.client(server.worker)
        let id = try Support.runningTask(alice, worker)
        let image = try Support.runningTask(alice, worker, type: "core:text2image")
        let waiting = try alice.schedule("not claimed")
        let before = try Support.tableSnapshot(server)

        let cases: [(Int64, JSONValue, Int, String)] = [
            (id, [:], 400, "output"),
            (id, ["output": "text"], 400, "output"),
            (id, ["output": ["output": 5]], 400, "output"),
            (id, ["output": ["output": "x"], "attempt": "one"], 400, "attempt"),
            (image, ["output": ["images": [99999]]], 400, "99999"),
            (image, ["output": ["images": "not a list"]], 400, "images"),
            (waiting, ["output": ["output": "x"]], 409, "STATUS_SCHEDULED"),
            (999_999, ["output": ["output": "x"]], 404, "not found"),
        ]
        for (task, body, status, mention) in cases {
            let response = try Self.stream(worker, task, body)
            Support.expectOCSError(response, status: status)
            #expect(response.message?.localizedCaseInsensitiveContains(mention) == true, "\(body): \(response.bodyText)")
        }
        Support.expectOCSError(try Self.stream(alice, id, ["output": ["output": "x"]]), status: 403)
        Support.expectOCSError(try worker.call("GET", "tasks_provider/\(id)/stream-result"), status: 405)
        #expect(try Support.tableSnapshot(server) == before)

        // An image uploaded for the task may be named.
        let fileID = try FileSupport.uploadedFileID(worker, "tasks_provider/\(image)/file")
        let named = try Self.stream(worker, image, ["output": ["images": [.int(fileID)]]])
        #expect(named.status == 200, "\(named.bodyText)")
        #expect(named.task?["output"] == ["images": [.int(fileID)]])
        Support.expectStillServing(server)
    }
}
