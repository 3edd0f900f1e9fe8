import Foundation
import JSON
import Testing

/// The user routes: schedule, get, delete, list, list by app, cancel, task types, and the v1 envelope.
@Suite("Task endpoints over HTTP")
struct TaskEndpointTests {
    typealias Support = EndpointSupport

    /// Nextcloud's Task fields, plus our `attempt` and `leaseExpiresAt` (clients ignore unknown fields).
    static let taskFields: Set<String> = [
        "id", "type", "lastUpdated", "status", "userId", "appId", "input", "output", "customId",
        "completionExpectedAt", "progress", "scheduledAt", "startedAt", "endedAt", "allowCleanup",
        "includeWatermark", "userFacingErrorMessage", "attempt", "leaseExpiresAt", "priority", "runAfter",
    ]

    static var now: Int64 { Int64(Date().timeIntervalSince1970) }

    // MARK: schedule

    @Test("schedule answers 200 with the new task, field by field, and stores one row")
    func scheduleReturnsTask() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)

        let response = try app.call(
            "POST", "schedule",
            json: ["type": "core:text2text", "input": ["input": "Say hi"], "appId": "assistant", "customId": "c-42"])

        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "application/json; charset=utf-8")
        #expect(response.meta == ["status": "ok", "statuscode": 200, "message": "OK"])
        let task = try #require(response.task)
        #expect(Set(task.objectValue?.keys ?? []) == Self.taskFields)
        let id = try #require(task["id"]?.int64Value)
        #expect(id > 0)
        #expect(task["type"] == "core:text2text")
        #expect(task["status"] == "STATUS_SCHEDULED")
        #expect(task["userId"] == "alice")
        #expect(task["appId"] == "assistant")
        #expect(task["customId"] == "c-42")
        #expect(task["input"] == ["input": "Say hi"])
        #expect(task["output"] == .null)
        #expect(task["progress"] == .null)
        #expect(task["startedAt"] == .null)
        #expect(task["endedAt"] == .null)
        #expect(task["userFacingErrorMessage"] == .null)
        #expect(task["includeWatermark"] == true)
        #expect(task["allowCleanup"] == true)
        // Times are whole unix seconds (not milliseconds, not strings).
        let scheduledAt = try #require(task["scheduledAt"]?.int64Value)
        #expect(abs(scheduledAt - Self.now) < 3600)
        #expect(task["lastUpdated"]?.int64Value == scheduledAt)
        #expect(task["completionExpectedAt"]?.int64Value == scheduledAt + 60)

        #expect(try Support.taskCount(server) == 1)
        #expect(try Support.storedStatus(server, id: id) == 1)
    }

    @Test("schedule defaults customId to \"\" and keeps includeWatermark false and webhook settings")
    func scheduleOptionalParameters() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)

        let plain = try app.call("POST", "schedule", json: ["type": "core:text2text", "input": ["input": "x"], "appId": "a"])
        #expect(plain.status == 200)
        #expect(plain.task?["customId"] == "")
        #expect(plain.task?["includeWatermark"] == true)

        let configured = try app.call(
            "POST", "schedule",
            json: [
                "type": "core:text2text:summary", "input": ["input": "long text"], "appId": "a", "includeWatermark": false,
                "webhookUri": "https://example.invalid/hook", "webhookMethod": "HTTP:POST", "customId": .null,
            ])
        #expect(configured.status == 200)
        #expect(configured.task?["type"] == "core:text2text:summary")
        #expect(configured.task?["includeWatermark"] == false)
        #expect(configured.task?["customId"] == "")
        #expect(try Support.taskCount(server) == 2)
    }

    // MARK: get

    @Test("get answers the caller's own task exactly as schedule returned it")
    func getOwnTask() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        let scheduled = try app.call("POST", "schedule", json: ["type": "core:text2text", "input": ["input": "q"], "appId": "a"])
        let id = try #require(scheduled.taskID)

        let read = try app.call("GET", "task/\(id)")
        #expect(read.status == 200)
        #expect(read.meta?["statuscode"] == 200)
        #expect(read.task == scheduled.task)
    }

    @Test("get of a task that does not exist is 404 Task not found")
    func getMissingTask() throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.client(server.alice).call("GET", "task/987654")
        Support.expectOCSError(response, status: 404, mentioning: ["Task not found"])
    }

    // MARK: delete

    @Test("delete removes the task: 200 with data null, the row is gone, a later get is 404")
    func deleteTask() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        let id = try app.schedule()
        let other = try app.schedule()

        let deleted = try app.call("DELETE", "task/\(id)")
        #expect(deleted.status == 200)
        #expect(deleted.meta?["status"] == "ok")
        #expect(deleted.data == .null)
        #expect(try Support.storedRow(server, id: id) == nil)
        #expect(try Support.storedRow(server, id: other) != nil)
        #expect(try app.call("GET", "task/\(id)").status == 404)
    }

    @Test("delete of a running task removes it too")
    func deleteRunningTask() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        let id = try Support.runningTask(app, server.client(server.worker))
        #expect(try app.call("DELETE", "task/\(id)").status == 200)
        #expect(try Support.taskCount(server) == 0)
    }

    @Test("delete of a missing task answers 200 with data null, as Nextcloud does, and deletes nothing")
    func deleteMissingTask() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        _ = try app.schedule()
        let response = try app.call("DELETE", "task/987654")
        #expect(response.status == 200)
        #expect(response.data == .null)
        #expect(try Support.taskCount(server) == 1)
    }

    // MARK: list

    @Test("list answers the caller's tasks oldest first, filtered by taskType and customId")
    func listTasks() throws {
        let server = try TestServer()
        defer { server.stop() }
        let alice = server.client(server.alice)
        let bob = server.client(server.bob)
        let first = try alice.schedule("one", customID: "a")
        let second = try alice.schedule("two", type: "core:text2text:summary", customID: "b")
        let third = try alice.schedule("three", customID: "b")
        let bobs = try bob.schedule("bob's", customID: "b")

        func ids(_ response: APIResponse) -> [Int64] {
            (response.data?["tasks"]?.arrayValue ?? []).compactMap { $0["id"]?.int64Value }
        }
        let all = try alice.call("GET", "tasks")
        #expect(all.status == 200)
        #expect(ids(all) == [first, second, third])
        #expect(all.data?["tasks"]?.arrayValue?.allSatisfy { $0["userId"] == "alice" } == true)
        #expect(all.data?["tasks"]?.arrayValue?.first?["input"] == ["input": "one"])

        #expect(ids(try alice.call("GET", "tasks?taskType=core:text2text")) == [first, third])
        #expect(ids(try alice.call("GET", "tasks?customId=b")) == [second, third])
        #expect(ids(try alice.call("GET", "tasks?taskType=core:text2text&customId=b")) == [third])
        #expect(ids(try alice.call("GET", "tasks", json: ["customId": "a"])) == [first])
        #expect(ids(try bob.call("GET", "tasks")) == [bobs])

        let none = try alice.call("GET", "tasks?customId=nothing")
        #expect(none.status == 200)
        #expect(none.data?["tasks"] == [])
    }

    @Test("list by app answers the caller's tasks of that app, filtered by customId")
    func listTasksByApp() throws {
        let server = try TestServer()
        defer { server.stop() }
        let alice = server.client(server.alice)
        let a1 = try alice.schedule(appID: "app_a", customID: "c1")
        let a2 = try alice.schedule(appID: "app_a", customID: "c2")
        let b1 = try alice.schedule(appID: "app_b", customID: "c1")
        _ = try server.client(server.bob).schedule(appID: "app_a", customID: "c1")

        func ids(_ path: String) throws -> [Int64] {
            let response = try alice.call("GET", path)
            #expect(response.status == 200, "\(path): \(response.bodyText)")
            #expect(response.data?["tasks"]?.arrayValue?.allSatisfy { $0["userId"] == "alice" } == true)
            return (response.data?["tasks"]?.arrayValue ?? []).compactMap { $0["id"]?.int64Value }
        }
        #expect(try ids("tasks/app/app_a") == [a1, a2])
        #expect(try ids("tasks/app/app_a?customId=c1") == [a1])
        #expect(try ids("tasks/app/app_a?customId=c2") == [a2])
        #expect(try ids("tasks/app/app_b") == [b1])
        #expect(try ids("tasks/app/app_b?customId=c2") == [])
        #expect(try ids("tasks/app/unknown_app") == [])
    }

    // MARK: cancel

    enum StartingState: String, CaseIterable, Sendable {
        case scheduled, running, successful, failed, cancelled

        /// The status a cancel leaves the task in.
        var afterCancel: String {
            switch self {
            case .scheduled, .running, .cancelled: "STATUS_CANCELLED"
            case .successful: "STATUS_SUCCESSFUL"
            case .failed: "STATUS_FAILED"
            }
        }

        /// Whether cancel acts (only on scheduled and running tasks).
        var cancellable: Bool { self == .scheduled || self == .running }

        func make(_ app: APIClient, _ worker: APIClient) throws -> Int64 {
            switch self {
            case .scheduled: try app.schedule()
            case .running: try EndpointSupport.runningTask(app, worker)
            case .successful: try EndpointSupport.successfulTask(app, worker)
            case .failed: try EndpointSupport.failedTask(app, worker)
            case .cancelled: try EndpointSupport.cancelledTask(app)
            }
        }
    }

    @Test("cancel acts on scheduled and running tasks only; other states answer 200 with the task unchanged",
          arguments: StartingState.allCases)
    func cancel(in state: StartingState) throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        let id = try state.make(app, server.client(server.worker))
        let before = try Support.storedRow(server, id: id)

        let response = try app.call("POST", "tasks/\(id)/cancel")

        #expect(response.status == 200)
        #expect(response.taskID == id)
        #expect(response.task?["status"]?.stringValue == state.afterCancel)
        #expect(response.task?["endedAt"]?.int64Value != nil)
        if state.cancellable {
            #expect(try Support.storedStatus(server, id: id) == 5)
        } else {
            #expect(try Support.storedRow(server, id: id) == before)
        }
    }

    @Test("a cancelled scheduled task is never handed to a worker")
    func cancelledTaskIsNotClaimed() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        _ = try Support.cancelledTask(app)
        let next = try server.client(server.worker).next()
        #expect(next.status == 204)
    }

    @Test("cancel of a task that does not exist is 404")
    func cancelMissingTask() throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.client(server.alice).call("POST", "tasks/987654/cancel")
        Support.expectOCSError(response, status: 404, mentioning: ["not found"])
    }

    // MARK: task types

    @Test("tasktypes lists every core type with name, description and the twelve shape maps")
    func taskTypesShape() throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.client(server.alice).call("GET", "tasktypes")
        #expect(response.status == 200)
        let types = try #require(response.data?["types"]?.objectValue)
        #expect(types.keys.contains("core:text2text"))
        #expect(types.keys.contains("core:text2text:translate"))
        #expect(types.keys.contains("core:text2image"))

        let shapeMaps = [
            "inputShape", "inputShapeEnumValues", "inputShapeDefaults", "optionalInputShape",
            "optionalInputShapeEnumValues", "optionalInputShapeDefaults", "outputShape", "outputShapeEnumValues",
            "optionalOutputShape", "optionalOutputShapeEnumValues",
        ]
        for (id, type) in types {
            #expect(Set(type.objectValue?.keys ?? []) == Set(shapeMaps + ["name", "description"]), "\(id)")
            #expect(type["name"]?.stringValue?.isEmpty == false, "\(id)")
            #expect(type["description"]?.stringValue != nil, "\(id)")
            for map in shapeMaps {
                #expect(type[map]?.objectValue != nil, "\(id).\(map) must be an object, also when empty")
            }
            for (key, slot) in type["inputShape"]?.objectValue ?? JSONObject() {
                #expect(slot["name"]?.stringValue != nil && slot["description"]?.stringValue != nil, "\(id).\(key)")
                #expect(slot["type"]?.stringValue != nil, "\(id).\(key)")
            }
        }

        let text = try #require(types["core:text2text"])
        #expect(text["name"] == "Free text to text prompt")
        #expect(text["inputShape"]?["input"]?["type"] == "Text")
        #expect(text["outputShape"]?["output"]?["type"] == "Text")
        #expect(text["optionalInputShape"] == [:])
        #expect(text["inputShapeDefaults"] == [:])
        #expect(types["core:text2image"]?["outputShape"]?["images"]?["type"] == "ListOfImages")
        #expect(types["core:text2image"]?["inputShapeDefaults"]?["numberOfImages"] == 1)
        #expect(types["core:text2text:translate"]?["inputShape"]?["origin_language"]?["type"] == "Enum")
    }

    @Test("tasktypes is also served to an ExApp")
    func taskTypesForExApp() throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.client(server.worker).call("GET", "tasktypes")
        #expect(response.status == 200)
        #expect(response.data?["types"]?["core:text2text"] != nil)
    }

    @Test("a trailing slash on a route is ignored")
    func trailingSlash() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        let id = try app.schedule()
        #expect(try app.call("GET", "task/\(id)/").taskID == id)
        #expect(try app.call("GET", "tasks/").data?["tasks"]?.arrayValue?.count == 1)
    }

    // MARK: v1 envelope

    @Test("v1 success: HTTP 200, statuscode 100, status ok, totalitems and itemsperpage \"\"",
          arguments: ["tasktypes", "tasks", "task/:id", "tasks/app/testapp"])
    func v1Success(route: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        let id = try app.schedule()
        let response = try app.call("GET", "\(Support.v1)/\(route.replacingOccurrences(of: ":id", with: "\(id)"))")
        #expect(response.status == 200)
        #expect(response.meta == ["status": "ok", "statuscode": 100, "message": "OK", "totalitems": "", "itemsperpage": ""])
        #expect(response.data != nil && response.data != .null)
    }

    @Test("v1 schedule and cancel answer statuscode 100 with the task")
    func v1ScheduleAndCancel() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        let scheduled = try app.call(
            "POST", "\(Support.v1)/schedule", json: ["type": "core:text2text", "input": ["input": "v1"], "appId": "a"])
        #expect(scheduled.status == 200)
        #expect(scheduled.meta?["statuscode"] == 100)
        let id = try #require(scheduled.taskID)
        #expect(scheduled.task?["status"] == "STATUS_SCHEDULED")

        let cancelled = try app.call("POST", "\(Support.v1)/tasks/\(id)/cancel")
        #expect(cancelled.status == 200)
        #expect(cancelled.meta?["statuscode"] == 100)
        #expect(cancelled.task?["status"] == "STATUS_CANCELLED")
    }

    @Test("v1 errors are HTTP 200 with the error in statuscode: 404 for a missing task")
    func v1NotFound() throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.client(server.alice).call("GET", "\(Support.v1)/task/987654")
        #expect(response.status == 200)
        #expect(response.meta?["status"] == "failure")
        #expect(response.meta?["statuscode"] == 404)
        #expect(response.meta?["message"] == "Task not found")
        #expect(response.meta?["totalitems"] == "")
        #expect(response.message == "Task not found")
    }

    @Test("v1 errors keep HTTP 200 for bad ids, unknown routes and wrong methods (with Allow)")
    func v1OtherErrors() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)

        let badID = try app.call("GET", "\(Support.v1)/task/abc")
        #expect(badID.status == 200)
        #expect(badID.meta?["statuscode"] == 400)

        let unknown = try app.call("GET", "\(Support.v1)/nope")
        #expect(unknown.status == 200)
        #expect(unknown.meta?["statuscode"] == 404)

        let wrongMethod = try app.call("PUT", "\(Support.v1)/task/1")
        #expect(wrongMethod.status == 200)
        #expect(wrongMethod.meta?["statuscode"] == 405)
        #expect(wrongMethod.header("Allow") == "GET, DELETE")

        let forbidden = try app.call("GET", "\(Support.v1)/admin/status")
        #expect(forbidden.status == 200)
        #expect(forbidden.meta?["statuscode"] == 403)
    }

    @Test("v1 keeps HTTP 401 for a missing login")
    func v1Unauthorized() throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.client(.anonymous).call("GET", "\(Support.v1)/tasks")
        #expect(response.status == 401)
        #expect(response.meta?["status"] == "failure")
        #expect(response.meta?["statuscode"] == 401)
        #expect(response.message?.isEmpty == false)
    }

    @Test("v1 next with nothing to claim is HTTP 200, statuscode 204, data null")
    func v1NoContent() throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.client(server.worker).call(
            "GET", "\(Support.v1)/tasks_provider/next", json: ["providerIds": ["core:text2text"], "taskTypeIds": ["core:text2text"]])
        #expect(response.status == 200)
        #expect(response.meta?["statuscode"] == 204)
        #expect(response.data == .null)
    }
}
