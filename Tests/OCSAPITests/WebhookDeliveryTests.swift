import Foundation
import JSON
import Postgres
import Synchronization
import TaskDispatchApp
import TaskDispatchTesting
import TaskQueue
import Testing

/// Webhooks end to end: a real server delivers to a loopback receiver (so these servers allow
/// private targets, except where refusal is the point). The sender's poll is an hour here, so
/// every delivery proves that the finish itself woke the sender (a result, a cancel, the lease
/// reaper) and that the sender woke itself for its retries.
@Suite("Webhook delivery")
struct WebhookDeliveryTests {
    static let secret = "test-webhook-secret"

    static func server(allowPrivate: Bool = true, maxAttempts: Int = 5) throws -> TestServer {
        try TestServer { configuration in
            configuration.webhookPollSeconds = 3600
            configuration.webhookAllowPrivateTargets = allowPrivate
            configuration.webhookSecret = secret
            configuration.webhookRetryBaseSeconds = 0.05
            configuration.webhookRetryMaxSeconds = 0.2
            configuration.webhookMaxAttempts = maxAttempts
            configuration.webhookTimeoutSeconds = 5
        }
    }

    static func schedule(_ client: APIClient, uri: String?, method: String?) throws -> Int64 {
        var request: JSONObject = ["type": "core:text2text", "input": ["input": "hi"], "appId": "testapp"]
        if let uri { request["webhookUri"] = .string(uri) }
        if let method { request["webhookMethod"] = .string(method) }
        let response = try client.call("POST", "schedule", json: .object(request))
        guard response.status == 200, let id = response.taskID else {
            throw TestFailure("schedule answered \(response.status): \(response.bodyText)")
        }
        return id
    }

    /// Claims the next task as the worker and reports `result` for it; returns its id.
    static func finishNext(_ worker: APIClient, _ result: JSONObject) throws -> Int64 {
        let claimed = try worker.next()
        guard claimed.status == 200, let id = claimed.taskID else { throw TestFailure("next answered \(claimed.status)") }
        var body = result
        body["taskId"] = .int(id)
        let answer = try worker.call("POST", "tasks_provider/\(id)/result", json: .object(body))
        guard answer.status == 200 else { throw TestFailure("result answered \(answer.status): \(answer.bodyText)") }
        return id
    }

    static func deliveryRows(_ server: TestServer) throws -> [Int64: (status: String, attempts: Int, lastStatus: Int?, lastError: String?)] {
        let connection = try server.database()
        defer { connection.close() }
        var rows: [Int64: (String, Int, Int?, String?)] = [:]
        for row in try connection.query("SELECT task_id, status, attempts, last_status, last_error FROM webhook_deliveries").rows {
            rows[row.int64("task_id") ?? 0] = (row.string("status") ?? "", row.int("attempts") ?? 0, row.int("last_status"), row.string("last_error"))
        }
        return rows
    }

    static func waitForRows(_ server: TestServer, timeoutSeconds: Double = 60, _ done: ([Int64: (status: String, attempts: Int, lastStatus: Int?, lastError: String?)]) -> Bool) throws -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(timeoutSeconds * 1000))
        while ContinuousClock.now < deadline {
            if done(try deliveryRows(server)) { return true }
            usleep(20_000)
        }
        return done(try deliveryRows(server))
    }

    @Test("success, failure and cancel are delivered with the task JSON, the method, the id and a valid signature; tasks without webhook get none")
    func deliversEveryFinish() throws {
        let receiver = try WebhookReceiver()
        defer { receiver.stop() }
        let server = try Self.server()
        defer { server.stop() }
        let alice = server.client(server.alice)
        let worker = server.client(server.worker)

        let succeeded = try Self.schedule(alice, uri: receiver.url("/done?kind=success"), method: "HTTP:POST")
        let failed = try Self.schedule(alice, uri: receiver.url("/done"), method: "HTTP:PUT")
        let fetched = try Self.schedule(alice, uri: receiver.url("/get"), method: "HTTP:GET")
        let plain = try Self.schedule(alice, uri: nil, method: nil)
        let cancelled = try Self.schedule(alice, uri: receiver.url("/gone"), method: "HTTP:DELETE")
        #expect(try alice.call("POST", "tasks/\(cancelled)/cancel").status == 200)
        #expect(try Self.finishNext(worker, ["output": ["output": "fine"]]) == succeeded)
        #expect(try Self.finishNext(worker, ["errorMessage": "model crashed", "userFacingErrorMessage": "sorry"]) == failed)
        #expect(try Self.finishNext(worker, ["output": ["output": "also fine"]]) == fetched)
        #expect(try Self.finishNext(worker, ["output": ["output": "quiet"]]) == plain)

        let expected: [Int64: (method: String, path: String)] = [
            succeeded: ("POST", "/done"), failed: ("PUT", "/done"), fetched: ("GET", "/get"), cancelled: ("DELETE", "/gone"),
        ]
        #expect(receiver.waitUntil { Set($0.compactMap(\.taskID)).count >= expected.count })
        #expect(try Self.waitForRows(server) { rows in rows.values.allSatisfy { $0.status == "delivered" } && rows.count == 4 })

        let calls = receiver.calls
        #expect(calls.count == expected.count, "one call per finished task with a webhook: \(calls.map { ($0.taskID, $0.path) })")
        for call in calls {
            let id = try #require(call.taskID)
            let want = try #require(expected[id], "a call for task \(id), which has no webhook")
            #expect(call.method == want.method)
            #expect(call.path == want.path)
            #expect(call.attempt == 1)
            #expect(call.answered == 200)
            #expect(call.contentType == "application/json")
            let deliveryID = try #require(call.deliveryID)
            #expect(UUID(uuidString: deliveryID) != nil, "delivery id \(deliveryID) is a uuid")
            let timestamp = try #require(call.timestamp)
            #expect(call.signature == WebhookReceiver.expectedSignature(secret: Self.secret, timestamp: timestamp, body: call.body))
            #expect(call.signature != WebhookReceiver.expectedSignature(secret: "wrong", timestamp: timestamp, body: call.body))
            // The body is {"task": Task}, the task exactly as the API shows it.
            let body = try JSONValue.parse(call.body)
            #expect(body.objectValue?.keys.sorted() == ["task"])
            let shown = try alice.call("GET", "task/\(id)").task
            #expect(body["task"] == shown, "task \(id): body \(String(decoding: call.body, as: UTF8.self))")
        }
        #expect(!calls.contains { $0.taskID == plain })
        #expect(try Self.deliveryRows(server)[plain] == nil)
        let status = try server.client(server.admin).call("GET", "admin/status")
        #expect(status.data?["webhooks"] == ["pending": 0, "failed": 0])
    }

    @Test("batched results are delivered, an output that fails validation as a failed task")
    func batchedResultsAndInvalidOutput() throws {
        let receiver = try WebhookReceiver()
        defer { receiver.stop() }
        let server = try Self.server()
        defer { server.stop() }
        let alice = server.client(server.alice)
        let worker = server.client(server.worker)
        let good = try Self.schedule(alice, uri: receiver.url(), method: "HTTP:POST")
        let bad = try Self.schedule(alice, uri: receiver.url(), method: "HTTP:POST")
        #expect(try worker.next().taskID == good)
        #expect(try worker.next().taskID == bad)
        let answer = try worker.call(
            "POST", "tasks_provider/results",
            json: ["results": [
                ["taskId": .int(good), "output": ["output": "fine"]],
                ["taskId": .int(bad), "output": ["output": 42]],
            ]])
        #expect(answer.status == 200, "\(answer.bodyText)")

        #expect(receiver.waitUntil { Set($0.compactMap(\.taskID)) == [good, bad] })
        #expect(try Self.waitForRows(server) { rows in rows.count == 2 && rows.values.allSatisfy { $0.status == "delivered" } })
        var statuses: [Int64: JSONValue] = [:]
        for call in receiver.calls { statuses[call.taskID ?? 0] = try JSONValue.parse(call.body)["task"]?["status"] }
        #expect(statuses == [good: "STATUS_SUCCESSFUL", bad: "STATUS_FAILED"])
    }

    @Test("a task failed by the lease reaper on its last attempt is delivered too")
    func reapedTaskIsDelivered() throws {
        let receiver = try WebhookReceiver()
        defer { receiver.stop() }
        let server = try TestServer { configuration in
            configuration.webhookPollSeconds = 3600
            configuration.webhookAllowPrivateTargets = true
            configuration.maxAttempts = 1
        }
        defer { server.stop() }
        let id = try Self.schedule(server.client(server.alice), uri: receiver.url(), method: "HTTP:POST")
        let claimed = try server.client(server.worker).call(
            "GET", "tasks_provider/next",
            json: ["providerIds": ["core:text2text"], "taskTypeIds": ["core:text2text"], "leaseSeconds": 1])
        #expect(claimed.taskID == id)

        #expect(receiver.waitUntil { !$0.isEmpty })
        let call = try #require(receiver.calls.first)
        #expect(call.taskID == id)
        #expect(try JSONValue.parse(call.body)["task"]?["status"] == "STATUS_FAILED")
        #expect(try Self.waitForRows(server) { $0[id]?.status == "delivered" })
    }

    @Test("failed calls are retried with the same delivery id until a 2xx")
    func retriesUntilSuccess() throws {
        let receiver = try WebhookReceiver { _, earlier in earlier < 2 ? 500 : 204 }
        defer { receiver.stop() }
        let server = try Self.server()
        defer { server.stop() }
        let id = try Self.schedule(server.client(server.alice), uri: receiver.url(), method: "HTTP:POST")
        _ = try Self.finishNext(server.client(server.worker), ["output": ["output": "x"]])

        #expect(try Self.waitForRows(server) { $0[id]?.status == "delivered" })
        let calls = receiver.calls
        #expect(calls.map(\.answered) == [500, 500, 204])
        #expect(calls.map(\.attempt) == [1, 2, 3])
        #expect(Set(calls.compactMap(\.deliveryID)).count == 1, "every attempt carries the same delivery id")
        #expect(try Self.deliveryRows(server)[id]?.attempts == 3)
    }

    @Test("after the retry limit the delivery is given up and counted; redirects are not followed")
    func givesUpAndNeverFollowsRedirects() throws {
        let receiver = try WebhookReceiver { call, _ in call.path == "/redirect" ? 302 : 500 }
        defer { receiver.stop() }
        let server = try Self.server(maxAttempts: 2)
        defer { server.stop() }
        let alice = server.client(server.alice)
        let failing = try Self.schedule(alice, uri: receiver.url("/fail"), method: "HTTP:POST")
        let redirected = try Self.schedule(alice, uri: receiver.url("/redirect"), method: "HTTP:POST")
        #expect(try alice.call("POST", "tasks/\(failing)/cancel").status == 200)
        #expect(try alice.call("POST", "tasks/\(redirected)/cancel").status == 200)

        #expect(try Self.waitForRows(server) { rows in rows.count == 2 && rows.values.allSatisfy { $0.status == "failed" } })
        let rows = try Self.deliveryRows(server)
        #expect(rows[failing]?.attempts == 2)
        #expect(rows[failing]?.lastStatus == 500)
        #expect(rows[redirected]?.lastStatus == 302)
        let calls = receiver.calls
        #expect(calls.filter { $0.taskID == failing }.count == 2)
        #expect(calls.filter { $0.taskID == redirected }.count == 2)
        #expect(!calls.contains { $0.path == "/redirected" }, "a redirect was followed")
        let status = try server.client(server.admin).call("GET", "admin/status")
        #expect(status.data?["webhooks"] == ["pending": 0, "failed": 2])
    }

    @Test("without the allowance, a target that is private when delivering is refused once, not retried")
    func refusesPrivateTargetsWhenDelivering() throws {
        let receiver = try WebhookReceiver()
        defer { receiver.stop() }
        let server = try Self.server(allowPrivate: false)
        defer { server.stop() }
        // Stored directly: the API refuses this URI on schedule (see the next test); a name
        // whose DNS answer changes to a private address reaches the sender the same way.
        let task = try server.server.tasks.schedule(NewTask(
            type: "core:text2text", input: ["input": "x"], userID: "alice", appID: "testapp",
            webhookURI: receiver.url(), webhookMethod: "HTTP:POST"))
        #expect(try server.client(server.alice).call("POST", "tasks/\(task.id)/cancel").status == 200)

        #expect(try Self.waitForRows(server) { $0[task.id]?.status == "failed" })
        let row = try #require(try Self.deliveryRows(server)[task.id])
        #expect(row.attempts == 1)
        #expect(row.lastError?.contains("refused") == true, "\(row.lastError ?? "no error")")
        #expect(receiver.calls.isEmpty)
    }

    @Test("names that resolve to loopback are refused unless allowed")
    func resolverRefusesLoopbackNames() throws {
        #expect(throws: WebhookResolver.Failure.self) {
            _ = try WebhookResolver.permittedAddresses(of: "localhost", allowPrivateTargets: false)
        }
        let allowed = try WebhookResolver.permittedAddresses(of: "localhost", allowPrivateTargets: true)
        #expect(!allowed.isEmpty && allowed.allSatisfy { $0.category == .loopback })
        #expect(try WebhookResolver.permittedAddresses(of: "8.8.8.8", allowPrivateTargets: false).map(\.description) == ["8.8.8.8"])
        #expect(throws: WebhookResolver.Failure.self) {
            _ = try WebhookResolver.permittedAddresses(of: "::ffff:127.0.0.1", allowPrivateTargets: false)
        }
    }

    static let badWebhooks: [(String?, String?, [String])] = [
        ("ftp://example.com/hook", "HTTP:POST", ["http or https"]),
        ("javascript:alert(1)", nil, ["http or https"]),
        ("http//missing-colon", "HTTP:POST", ["webhookUri"]),
        ("http://", "HTTP:POST", ["host"]),
        ("http://127.0.0.1:8080/hook", "HTTP:POST", ["loopback"]),
        ("http://localhost/hook", "HTTP:POST", ["loopback"]),
        ("http://169.254.169.254/latest/meta-data/", "HTTP:GET", ["linkLocal"]),
        ("http://192.168.1.10/hook", "HTTP:POST", ["private"]),
        ("http://[::ffff:10.0.0.1]/hook", "HTTP:POST", ["private"]),
        ("http://example.com/hook", "HTTP:PATCH", ["webhookMethod", "HTTP:POST"]),
        ("/apps/myapp/hook", "AppAPI:myapp:POST", ["AppAPI", "not supported"]),
        (nil, "AppAPI:myapp:POST", ["AppAPI"]),
        ("http://user:pw@example.com/hook", "HTTP:POST", ["credentials"]),
    ]

    @Test("bad webhooks on schedule: 400 in the envelope, nothing stored", arguments: badWebhooks)
    func refusedOnSchedule(uri: String?, method: String?, fragments: [String]) throws {
        let server = try TestServer()
        defer { server.stop() }
        var request: JSONObject = ["type": "core:text2text", "input": ["input": "hi"], "appId": "testapp"]
        if let uri { request["webhookUri"] = .string(uri) }
        if let method { request["webhookMethod"] = .string(method) }
        let response = try server.client(server.alice).call("POST", "schedule", json: .object(request))
        EndpointSupport.expectOCSError(response, status: 400, mentioning: fragments)
        #expect(try EndpointSupport.taskCount(server) == 0)
        EndpointSupport.expectStillServing(server)
    }

    @Test("two server processes finishing tasks concurrently: each webhook acknowledged once, none lost")
    func twoServersDeliverEachOnce() throws {
        let receiver = try WebhookReceiver()
        defer { receiver.stop() }
        let first = try Self.server()
        defer { first.stop() }
        let second = try first.startSibling()
        defer { second.stop() }

        let taskCount = 40
        let alice = first.client(first.alice)
        var scheduled = Set<Int64>()
        for index in 0..<taskCount {
            scheduled.insert(try Self.schedule(alice, uri: receiver.url("/hook/\(index)"), method: "HTTP:POST"))
        }
        let ports = [first.port, second.port]
        let failures = Mutex<[String]>([])
        onThreads(4) { index in
            let worker = APIClient(port: ports[index % 2], caller: first.worker)
            do {
                while true {
                    let claimed = try worker.next()
                    guard claimed.status == 200, let id = claimed.taskID else { return }
                    let answer = try worker.call(
                        "POST", "tasks_provider/\(id)/result", json: ["taskId": .int(id), "output": ["output": "ok"]])
                    if answer.status != 200 { failures.withLock { $0.append("result \(id): \(answer.status)") } }
                }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty)
        #expect(receiver.waitUntil { Set($0.compactMap(\.taskID)).count >= taskCount })
        #expect(try Self.waitForRows(first) { rows in rows.count == taskCount && rows.values.allSatisfy { $0.status == "delivered" } })

        let acknowledged = receiver.calls.filter { (200..<300).contains($0.answered) }
        var perTask: [Int64: Int] = [:]
        for call in acknowledged { perTask[call.taskID ?? 0, default: 0] += 1 }
        let duplicates = perTask.values.reduce(0) { $0 + max(0, $1 - 1) }
        let lost = scheduled.subtracting(perTask.keys).count
        print("webhooks, two servers: tasks=\(taskCount) calls=\(receiver.calls.count) acknowledged=\(acknowledged.count) duplicates=\(duplicates) lost=\(lost)")
        #expect(duplicates == 0)
        #expect(lost == 0)
        #expect(Set(perTask.keys) == scheduled)
    }
}
