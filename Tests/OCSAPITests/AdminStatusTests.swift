import JSON
import TaskDispatchApp
import Testing

/// `GET admin/status`: counters by status and type, the oldest waiting task's age, the version.
@Suite("Admin status over HTTP")
struct AdminStatusTests {
    typealias Support = EndpointSupport

    static let statuses = [
        "STATUS_SCHEDULED", "STATUS_RUNNING", "STATUS_SUCCESSFUL", "STATUS_FAILED", "STATUS_CANCELLED", "STATUS_WAITING",
    ]

    /// Reads the status until its `tasks` equal `expected` (counters are folded in the background
    /// every 0.2 s in tests); returns the last answer.
    func waitForCounts(_ admin: APIClient, _ expected: JSONValue, seconds: Double = 15) throws -> APIResponse {
        var last = try admin.call("GET", "admin/status")
        _ = try Support.waitUntil(seconds: seconds, pollEvery: 0.1) {
            last = try admin.call("GET", "admin/status")
            return last.data?["tasks"] == expected
        }
        return last
    }

    /// Waits until the background fold has moved every count delta into the totals.
    func waitForFold(_ server: TestServer) throws -> Bool {
        try Support.waitUntil(seconds: 15) {
            let connection = try server.database()
            defer { connection.close() }
            return try connection.query("SELECT count(*)::bigint AS n FROM task_count_deltas").rows.first?.int64("n") == 0
        }
    }

    @Test("an empty server reports every status at 0, no types, no waiting task, and its version")
    func emptyServer() throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.client(server.admin).call("GET", "admin/status")

        #expect(response.status == 200)
        #expect(response.meta?["status"] == "ok")
        let data = try #require(response.data)
        #expect(
            Set(data.objectValue?.keys ?? [])
                == ["version", "tasks", "oldestScheduledAgeSeconds", "webhooks", "waitingLongPolls", "unreadableDefinitions", "warnings"])
        #expect(data["warnings"] == [])
        #expect(data["unreadableDefinitions"] == [])
        #expect(data["webhooks"] == ["pending": 0, "failed": 0])
        #expect(data["waitingLongPolls"] == 0)
        #expect(data["version"]?.stringValue == TaskDispatchVersion.current)
        #expect(data["version"]?.stringValue?.isEmpty == false)
        #expect(data["tasks"]?["byStatus"] == .object(JSONObject(Self.statuses.map { ($0, .int(0)) })))
        #expect(data["tasks"]?["byType"] == [:])
        #expect(data["oldestScheduledAgeSeconds"] == .null)
    }

    @Test("counts by status and by type match what was scheduled, claimed, finished, cancelled and deleted")
    func countsFollowTheLifecycle() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        let worker = server.client(server.worker)
        let admin = server.client(server.admin)

        // core:text2text: 4 scheduled, 3 claimed, one succeeds, one fails.
        for index in 0..<4 { _ = try app.schedule("t\(index)") }
        var running: [Int64] = []
        for _ in 0..<3 { running.append(try #require(try worker.next().taskID)) }
        #expect(try worker.call("POST", "tasks_provider/\(running[0])/result", json: ["output": ["output": "ok"]]).status == 200)
        #expect(try worker.call("POST", "tasks_provider/\(running[1])/result", json: ["errorMessage": "no"]).status == 200)
        // core:text2text:summary: 2 scheduled by bob, one cancelled.
        let bob = server.client(server.bob)
        let summary = try bob.schedule(type: "core:text2text:summary")
        _ = try bob.schedule(type: "core:text2text:summary")
        #expect(try bob.call("POST", "tasks/\(summary)/cancel").status == 200)

        let expected: JSONValue = [
            "byStatus": [
                "STATUS_SCHEDULED": 2, "STATUS_RUNNING": 1, "STATUS_SUCCESSFUL": 1, "STATUS_FAILED": 1, "STATUS_CANCELLED": 1,
                "STATUS_WAITING": 0,
            ],
            "byType": [
                "core:text2text": ["STATUS_SCHEDULED": 1, "STATUS_RUNNING": 1, "STATUS_SUCCESSFUL": 1, "STATUS_FAILED": 1],
                "core:text2text:summary": ["STATUS_SCHEDULED": 1, "STATUS_CANCELLED": 1],
            ],
        ]
        let status = try waitForCounts(admin, expected)
        #expect(status.data?["tasks"] == expected)
        let age = try #require(status.data?["oldestScheduledAgeSeconds"]?.int64Value)
        #expect(age >= 0)

        // Once the background fold has run, the counts are the same.
        #expect(try waitForFold(server), "the count deltas were never folded")
        #expect(try admin.call("GET", "admin/status").data?["tasks"] == expected)

        // Deleting tasks takes them out of the counts.
        #expect(try app.call("DELETE", "task/\(running[0])").status == 200)
        #expect(try bob.call("DELETE", "task/\(summary)").status == 200)
        let afterDelete: JSONValue = [
            "byStatus": [
                "STATUS_SCHEDULED": 2, "STATUS_RUNNING": 1, "STATUS_SUCCESSFUL": 0, "STATUS_FAILED": 1, "STATUS_CANCELLED": 0,
                "STATUS_WAITING": 0,
            ],
            "byType": [
                "core:text2text": ["STATUS_SCHEDULED": 1, "STATUS_RUNNING": 1, "STATUS_FAILED": 1],
                "core:text2text:summary": ["STATUS_SCHEDULED": 1],
            ],
        ]
        #expect(try waitForCounts(admin, afterDelete).data?["tasks"] == afterDelete)
        #expect(try waitForFold(server), "the count deltas were never folded")
        #expect(try admin.call("GET", "admin/status").data?["tasks"] == afterDelete)
    }

    @Test("oldestScheduledAgeSeconds is a number while a task waits and null once none does")
    func oldestScheduledAge() throws {
        let server = try TestServer()
        defer { server.stop() }
        let admin = server.client(server.admin)
        #expect(try admin.call("GET", "admin/status").data?["oldestScheduledAgeSeconds"] == .null)

        let id = try server.client(server.alice).schedule()
        let waiting = try admin.call("GET", "admin/status").data?["oldestScheduledAgeSeconds"]
        let age = try #require(waiting?.int64Value, "expected an integer, got \(String(describing: waiting))")
        #expect(age >= 0 && age < 3600)

        #expect(try server.client(server.worker).next().taskID == id)
        #expect(try admin.call("GET", "admin/status").data?["oldestScheduledAgeSeconds"] == .null)
    }

    @Test("the oldest waiting task's age counts from its scheduling time")
    func oldestScheduledAgeIsInSeconds() throws {
        let server = try TestServer()
        defer { server.stop() }
        let id = try server.client(server.alice).schedule()
        let connection = try server.database()
        defer { connection.close() }
        _ = try connection.query("UPDATE tasks SET scheduled_at = now() - interval '90 seconds' WHERE id = $1", [id])

        let age = try server.client(server.admin).call("GET", "admin/status").data?["oldestScheduledAgeSeconds"]?.int64Value
        let value = try #require(age)
        #expect(value >= 90 && value < 3600)
    }

    @Test("a user who is not an admin gets 403, an ExApp 403, nobody 401")
    func onlyAdmins() throws {
        let server = try TestServer()
        defer { server.stop() }
        Support.expectOCSError(try server.client(server.alice).call("GET", "admin/status"), status: 403, mentioning: ["administrators"])
        Support.expectOCSError(try server.client(server.worker).call("GET", "admin/status"), status: 403)
        let actingForRoot = Caller.exApp("worker", server.workerSecret, user: "root")
        Support.expectOCSError(try server.client(actingForRoot).call("GET", "admin/status"), status: 403)
        Support.expectOCSError(try server.client(.anonymous).call("GET", "admin/status"), status: 401)
    }

    @Test("an admin authenticated with a Bearer token reads the status too")
    func adminWithBearer() throws {
        let server = try TestServer()
        defer { server.stop() }
        let token = try #require(server.admin.password)
        let response = try server.client(.bearer(token)).call("GET", "admin/status")
        #expect(response.status == 200)
        #expect(response.data?["version"]?.stringValue == TaskDispatchVersion.current)
    }
}
