import Foundation
import JSON
import Testing

/// The worker routes: `tasks_provider/next`, `/{id}/progress`, `/{id}/result`.
@Suite("Provider endpoints over HTTP")
struct ProviderEndpointTests {
    typealias Support = EndpointSupport

    // MARK: next

    @Test("next with a JSON body on GET claims the task: RUNNING, startedAt set, provider name echoed")
    func nextWithJSONBody() throws {
        let server = try TestServer()
        defer { server.stop() }
        let id = try server.client(server.alice).schedule("work", customID: "job-1")

        let response = try server.client(server.worker).call(
            "GET", "tasks_provider/next", json: ["providerIds": ["core:text2text"], "taskTypeIds": ["core:text2text"]])

        #expect(response.status == 200)
        #expect(response.meta?["status"] == "ok")
        #expect(response.data?["provider"] == ["name": "core:text2text"])
        let task = try #require(response.task)
        #expect(task["id"]?.int64Value == id)
        #expect(task["status"] == "STATUS_RUNNING")
        #expect(task["userId"] == "alice")
        #expect(task["appId"] == "testapp")
        #expect(task["customId"] == "job-1")
        #expect(task["input"] == ["input": "work"])
        let startedAt = try #require(task["startedAt"]?.int64Value)
        #expect(startedAt >= (task["scheduledAt"]?.int64Value ?? .max))
        #expect(task["endedAt"] == .null)
        #expect(try Support.storedStatus(server, id: id) == 2)
    }

    @Test("next reads query arrays providerIds[] and taskTypeIds[]", arguments: [
        "providerIds[]=core:text2text&taskTypeIds[]=core:text2text",
        "providerIds%5B%5D=core%3Atext2text&taskTypeIds%5B%5D=core%3Atext2text",
        "providerIds[]=core:text2text&taskTypeIds[]=core:audio2text&taskTypeIds[]=core:text2text&format=json",
    ])
    func nextWithQueryArrays(query: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        let id = try server.client(server.alice).schedule()

        let response = try server.client(server.worker).call("GET", "tasks_provider/next?\(query)")

        #expect(response.status == 200, "\(response.bodyText)")
        #expect(response.taskID == id)
        #expect(response.data?["provider"]?["name"] == "core:text2text")
        #expect(try Support.storedStatus(server, id: id) == 2)
    }

    @Test("next with nothing to claim answers 204 with an empty body")
    func nextNothingToClaim() throws {
        let server = try TestServer()
        defer { server.stop() }
        let worker = server.client(server.worker)
        let empty = try worker.next()
        #expect(empty.status == 204)
        #expect(empty.body.isEmpty)

        // A task of another type is left alone.
        let id = try server.client(server.alice).schedule(type: "core:text2text:summary")
        let stillEmpty = try worker.next(types: ["core:text2text"])
        #expect(stillEmpty.status == 204)
        #expect(stillEmpty.body.isEmpty)
        #expect(try Support.storedStatus(server, id: id) == 1)
    }

    @Test("next ignores unknown task types among known ones, and answers 204 when all are unknown")
    func nextIgnoresUnknownTypes() throws {
        let server = try TestServer()
        defer { server.stop() }
        let worker = server.client(server.worker)
        let first = try server.client(server.alice).schedule()
        let second = try server.client(server.alice).schedule()

        let onlyUnknown = try worker.next(types: ["vendor:does-not-exist"])
        #expect(onlyUnknown.status == 204)
        #expect(try Support.storedStatus(server, id: first) == 1)

        let mixed = try worker.next(types: ["vendor:does-not-exist", "core:text2text"])
        #expect(mixed.status == 200)
        #expect(mixed.taskID == first)
        #expect(try Support.storedStatus(server, id: second) == 1)
    }

    @Test("next hands out the oldest scheduled task first, across the requested types, each once")
    func nextClaimsOldestFirst() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        let worker = server.client(server.worker)
        let a = try app.schedule("a")
        let b = try app.schedule("b", type: "core:text2text:summary")
        let c = try app.schedule("c")
        let d = try app.schedule("d", type: "core:text2text:summary")

        var claimed: [Int64] = []
        for _ in 0..<4 {
            let response = try worker.next(types: ["core:text2text:summary", "core:text2text"])
            #expect(response.status == 200)
            claimed.append(try #require(response.taskID))
        }
        #expect(claimed == [a, b, c, d])
        #expect(try worker.next(types: ["core:text2text:summary", "core:text2text"]).status == 204)
    }

    @Test("next without providerIds or taskTypeIds, or with a non-list, is a 400", arguments: [
        ("{\"taskTypeIds\":[\"core:text2text\"]}", "providerIds"),
        ("{\"providerIds\":[\"p\"]}", "taskTypeIds"),
        ("{\"providerIds\":[\"p\"],\"taskTypeIds\":5}", "taskTypeIds"),
        ("{\"providerIds\":[\"p\"],\"taskTypeIds\":[\"core:text2text\", 7]}", "taskTypeIds"),
    ])
    func nextBadParameters(body: String, parameter: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        let id = try server.client(server.alice).schedule()
        let response = try server.client(server.worker).call(
            "GET", "tasks_provider/next", body: Array(body.utf8), contentType: "application/json")
        Support.expectOCSError(response, status: 400, mentioning: [parameter])
        #expect(try Support.storedStatus(server, id: id) == 1)
    }

    // MARK: progress

    @Test("progress accepts the bounds and values between them, and stores it", arguments: [0.0, 0.5, 1.0])
    func progressAccepted(value: Double) throws {
        let server = try TestServer()
        defer { server.stop() }
        let worker = server.client(server.worker)
        let id = try Support.runningTask(server.client(server.alice), worker)

        let response = try worker.call("POST", "tasks_provider/\(id)/progress", json: ["taskId": .int(id), "progress": .double(value)])

        #expect(response.status == 200)
        #expect(response.task?["status"] == "STATUS_RUNNING")
        #expect(response.task?["progress"]?.doubleValue == value)
        let read = try server.client(server.alice).call("GET", "task/\(id)")
        #expect(read.task?["progress"]?.doubleValue == value)
    }

    @Test("progress accepts integer JSON numbers and form bodies")
    func progressOtherEncodings() throws {
        let server = try TestServer()
        defer { server.stop() }
        let worker = server.client(server.worker)
        let id = try Support.runningTask(server.client(server.alice), worker)

        let integer = try worker.call("POST", "tasks_provider/\(id)/progress", json: ["progress": 1])
        #expect(integer.status == 200)
        #expect(integer.task?["progress"]?.doubleValue == 1.0)

        let form = try worker.call(
            "POST", "tasks_provider/\(id)/progress", body: Array("progress=0.75".utf8),
            contentType: "application/x-www-form-urlencoded")
        #expect(form.status == 200)
        #expect(form.task?["progress"] == 0.75)
    }

    @Test("progress outside [0, 1], not a number, or missing is a 400 and changes nothing", arguments: [
        ("{\"progress\":-0.1}", "between 0 and 1"),
        ("{\"progress\":1.1}", "between 0 and 1"),
        ("{\"progress\":\"abc\"}", "must be a number"),
        ("{\"progress\":\"NaN\"}", "must be a number"),
        ("{\"progress\":true}", "must be a number"),
        ("{\"progress\":[0.5]}", "must be a number"),
        ("{\"taskId\":1}", "missing required parameter 'progress'"),
    ])
    func progressRefused(body: String, fragment: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        let worker = server.client(server.worker)
        let id = try Support.runningTask(server.client(server.alice), worker)
        _ = try worker.call("POST", "tasks_provider/\(id)/progress", json: ["progress": 0.3])
        let before = try Support.storedRow(server, id: id)

        let response = try worker.call(
            "POST", "tasks_provider/\(id)/progress", body: Array(body.utf8), contentType: "application/json")

        Support.expectOCSError(response, status: 400, mentioning: ["progress", fragment])
        #expect(try Support.storedRow(server, id: id) == before)
    }

    @Test("progress on a cancelled task answers 200 with STATUS_CANCELLED and changes nothing")
    func progressOnCancelledTask() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        let worker = server.client(server.worker)
        let id = try Support.runningTask(app, worker)
        #expect(try app.call("POST", "tasks/\(id)/cancel").task?["status"] == "STATUS_CANCELLED")
        let before = try Support.storedRow(server, id: id)

        let response = try worker.call("POST", "tasks_provider/\(id)/progress", json: ["progress": 0.5])

        #expect(response.status == 200)
        #expect(response.meta?["status"] == "ok")
        #expect(response.taskID == id)
        #expect(response.task?["status"] == "STATUS_CANCELLED")
        #expect(response.task?["progress"] == .null)
        #expect(try Support.storedRow(server, id: id) == before)
    }

    // MARK: reports on tasks that are not running

    enum NotRunning: String, CaseIterable, Sendable {
        case scheduled, successful, failed, cancelled

        var wireStatus: String {
            switch self {
            case .scheduled: "STATUS_SCHEDULED"
            case .successful: "STATUS_SUCCESSFUL"
            case .failed: "STATUS_FAILED"
            case .cancelled: "STATUS_CANCELLED"
            }
        }

        func make(_ app: APIClient, _ worker: APIClient) throws -> Int64 {
            switch self {
            case .scheduled: try app.schedule()
            case .successful: try EndpointSupport.successfulTask(app, worker)
            case .failed: try EndpointSupport.failedTask(app, worker)
            case .cancelled: try EndpointSupport.cancelledTask(app)
            }
        }
    }

    enum Report: String, CaseIterable, Sendable {
        case progress, successResult, errorResult

        var path: String { self == .progress ? "progress" : "result" }

        var body: JSONValue {
            switch self {
            case .progress: ["progress": 0.5]
            case .successResult: ["output": ["output": "late"]]
            case .errorResult: ["errorMessage": "late failure", "userFacingErrorMessage": "late"]
            }
        }
    }

    static let conflicts: [(NotRunning, Report)] = NotRunning.allCases.flatMap { state in
        Report.allCases.compactMap { report in
            // Progress on a cancelled task is the compatibility exception (200), tested above.
            state == .cancelled && report == .progress ? nil : (state, report)
        }
    }

    @Test("progress and results for a task that is not running are 409 and leave the row unchanged",
          arguments: conflicts)
    func reportOnTaskNotRunning(state: NotRunning, report: Report) throws {
        let server = try TestServer()
        defer { server.stop() }
        let worker = server.client(server.worker)
        let id = try state.make(server.client(server.alice), worker)
        let before = try Support.storedRow(server, id: id)

        let response = try worker.call("POST", "tasks_provider/\(id)/\(report.path)", json: report.body)

        Support.expectOCSError(response, status: 409, mentioning: [state.wireStatus, "STATUS_RUNNING", "nothing changed"])
        #expect(try Support.storedRow(server, id: id) == before)
        #expect(try Support.taskCount(server) == 1)
    }

    @Test("a second result for the same task is 409 and the first result stays")
    func secondResultRefused() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        let worker = server.client(server.worker)
        let id = try Support.successfulTask(app, worker, output: ["output": "first"])
        let before = try Support.storedRow(server, id: id)

        let again = try worker.call("POST", "tasks_provider/\(id)/result", json: ["output": ["output": "second"]])

        Support.expectOCSError(again, status: 409)
        #expect(try Support.storedRow(server, id: id) == before)
        #expect(try app.call("GET", "task/\(id)").task?["output"] == ["output": "first"])
    }

    // MARK: result

    @Test("a result with output: STATUS_SUCCESSFUL, progress 1, output object, endedAt set")
    func resultWithOutput() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        let worker = server.client(server.worker)
        let id = try Support.runningTask(app, worker)

        let response = try worker.call(
            "POST", "tasks_provider/\(id)/result", json: ["taskId": .int(id), "output": ["output": "answer", "score": 3]])

        #expect(response.status == 200)
        let task = try #require(response.task)
        #expect(task["status"] == "STATUS_SUCCESSFUL")
        // Keys the output shape does not define are dropped, as in Nextcloud.
        #expect(task["output"] == ["output": "answer"])
        #expect(task["progress"]?.doubleValue == 1.0)
        let endedAt = try #require(task["endedAt"]?.int64Value)
        #expect(endedAt >= (task["startedAt"]?.int64Value ?? .max))
        #expect(task["userFacingErrorMessage"] == .null)
        #expect(try app.call("GET", "task/\(id)").task == task)
    }

    @Test("a result with errorMessage: STATUS_FAILED, userFacingErrorMessage shown, errorMessage never sent")
    func resultWithErrorMessage() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        let worker = server.client(server.worker)
        let id = try Support.runningTask(app, worker)
        let secretDetail = "CUDA out of memory at 0xdeadbeef"

        let response = try worker.call(
            "POST", "tasks_provider/\(id)/result",
            json: ["taskId": .int(id), "output": .null, "errorMessage": .string(secretDetail), "userFacingErrorMessage": "The model failed"])

        #expect(response.status == 200)
        let task = try #require(response.task)
        #expect(task["status"] == "STATUS_FAILED")
        #expect(task["userFacingErrorMessage"] == "The model failed")
        #expect(task["output"] == .null)
        #expect(task["endedAt"]?.int64Value != nil)
        #expect(task["errorMessage"] == nil)
        #expect(!response.bodyText.contains(secretDetail))

        let read = try app.call("GET", "task/\(id)")
        #expect(read.task?["status"] == "STATUS_FAILED")
        #expect(read.task?["userFacingErrorMessage"] == "The model failed")
        #expect(read.task?["errorMessage"] == nil)
        #expect(!read.bodyText.contains(secretDetail))
        let listed = try app.call("GET", "tasks")
        #expect(!listed.bodyText.contains(secretDetail))

        // The detail is stored for operators.
        #expect(try Support.storedRow(server, id: id)?.contains(secretDetail) == true)
    }

    @Test("a result with errorMessage and no userFacingErrorMessage leaves it null")
    func resultWithOnlyErrorMessage() throws {
        let server = try TestServer()
        defer { server.stop() }
        let worker = server.client(server.worker)
        let id = try Support.runningTask(server.client(server.alice), worker)
        let response = try worker.call("POST", "tasks_provider/\(id)/result", json: ["errorMessage": "boom"])
        #expect(response.status == 200)
        #expect(response.task?["status"] == "STATUS_FAILED")
        #expect(response.task?["userFacingErrorMessage"] == .null)
    }

    @Test("a result without output and errorMessage, or with a bad output, is a 400 and the task stays running",
          arguments: [
            ("{}", "'output'"),
            ("{\"taskId\":1,\"output\":null,\"errorMessage\":null}", "'output'"),
            ("{\"output\":\"just text\"}", "parameter 'output' must be a JSON object"),
            ("{\"output\":[\"a\"]}", "parameter 'output' must be a JSON object"),
            ("{\"errorMessage\":42}", "parameter 'errorMessage' must be a string"),
            ("{\"errorMessage\":\"x\",\"userFacingErrorMessage\":{}}", "parameter 'userFacingErrorMessage' must be a string"),
          ])
    func resultRefused(body: String, fragment: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        let worker = server.client(server.worker)
        let id = try Support.runningTask(server.client(server.alice), worker)
        let before = try Support.storedRow(server, id: id)

        let response = try worker.call(
            "POST", "tasks_provider/\(id)/result", body: Array(body.utf8), contentType: "application/json")

        Support.expectOCSError(response, status: 400, mentioning: [fragment])
        #expect(try Support.storedRow(server, id: id) == before)
        #expect(try Support.storedStatus(server, id: id) == 2)
    }

    // MARK: missing tasks

    @Test("progress and result for a task that does not exist are 404", arguments: ["progress", "result"])
    func reportOnMissingTask(route: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        let body: JSONValue = route == "progress" ? ["progress": 0.5] : ["output": ["output": "x"]]
        let response = try server.client(server.worker).call("POST", "tasks_provider/987654/\(route)", json: body)
        Support.expectOCSError(response, status: 404, mentioning: ["Task not found"])
        #expect(try Support.taskCount(server) == 0)
    }

    @Test("a deleted running task is 404 for its worker")
    func reportOnDeletedTask() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        let worker = server.client(server.worker)
        let id = try Support.runningTask(app, worker)
        #expect(try app.call("DELETE", "task/\(id)").status == 200)

        Support.expectOCSError(try worker.call("POST", "tasks_provider/\(id)/progress", json: ["progress": 0.5]), status: 404)
        Support.expectOCSError(try worker.call("POST", "tasks_provider/\(id)/result", json: ["output": [:]]), status: 404)
        #expect(try Support.taskCount(server) == 0)
    }
}
