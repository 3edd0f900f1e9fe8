import Foundation
import JSON
import TaskDispatchApp
import TaskDispatchTesting
import Testing

@Suite("Schedule rate limit")
struct RateLimitTests {
    typealias Support = EndpointSupport

    static func limited(_ limit: Int, period: Int = 600) -> (inout ServerConfiguration) -> Void {
        { configuration in
            configuration.scheduleRateLimit = limit
            configuration.scheduleRatePeriodSeconds = period
        }
    }

    @Test("over the limit: 429 in the envelope with Retry-After, nothing scheduled; other users unaffected")
    func limitPerUser() throws {
        let server = try TestServer(configure: Self.limited(3))
        defer { server.stop() }
        let alice = server.client(server.alice)
        for _ in 0..<3 { _ = try alice.schedule() }

        let refused = try alice.call("POST", "schedule", json: ["type": "core:text2text", "input": ["input": "x"], "appId": "a"])
        Support.expectOCSError(refused, status: 429, mentioning: ["3 per 600 s"])
        let retryAfter = try #require(refused.header("Retry-After").flatMap { Int($0) })
        #expect((1...600).contains(retryAfter))
        #expect(try Support.taskCount(server) == 3)
        // v1: HTTP 200 with statuscode 429, and the same Retry-After.
        let v1 = try alice.call(
            "POST", "/ocs/v1.php/taskprocessing/schedule", json: ["type": "core:text2text", "input": ["input": "x"], "appId": "a"])
        #expect(v1.status == 200)
        #expect(v1.meta?["statuscode"] == 429)
        #expect(v1.header("Retry-After") != nil)

        // Batches count their tasks: any batch is refused now; bob has his own window.
        let batch = try alice.call("POST", "schedule/batch", json: ["tasks": [["type": "core:text2text", "input": ["input": "x"], "appId": "a"]]])
        Support.expectOCSError(batch, status: 429)
        let bob = server.client(server.bob)
        #expect(try bob.call("POST", "schedule/batch", json: ["tasks": .array(Array(repeating: ["type": "core:text2text", "input": ["input": "x"], "appId": "a"], count: 3))]).status == 200)
        // A batch larger than the whole limit can never pass: 400, not 429.
        let tooBig = try server.client(server.admin).call(
            "POST", "schedule/batch",
            json: ["tasks": .array(Array(repeating: ["type": "core:text2text", "input": ["input": "x"], "appId": "a"], count: 4))])
        Support.expectOCSError(tooBig, status: 400, mentioning: ["rate limit"])
        #expect(try Support.taskCount(server) == 6)

        // Consumer schedules for a user share that user's window; an ExApp acting for nobody has its own.
        let workerForAlice = server.client(.exApp("worker", server.workerSecret, user: "alice"))
        Support.expectOCSError(
            try workerForAlice.call("POST", "tasks_consumer/schedule", json: ["type": "core:text2text", "input": ["input": "x"]]), status: 429)
        #expect(try server.client(server.worker).call("POST", "tasks_consumer/schedule", json: ["type": "core:text2text", "input": ["input": "x"]]).status == 200)
        Support.expectStillServing(server)
    }

    @Test("only scheduled tasks count: refused inputs, idempotent replays and reused keys give their share back")
    func onlyScheduledTasksCount() throws {
        let server = try TestServer(configure: Self.limited(2))
        defer { server.stop() }
        let alice = server.client(server.alice)
        let body: JSONValue = ["type": "core:text2text", "input": ["input": "x"], "appId": "a"]
        Support.expectOCSError(
            try alice.call("POST", "schedule", json: ["type": "core:audio2text", "input": ["input": 424242], "appId": "a"]), status: 400)
        #expect(try alice.call("POST", "schedule", json: body, headers: [("Idempotency-Key", "k1")]).status == 200)
        #expect(try alice.call("POST", "schedule", json: body, headers: [("Idempotency-Key", "k1")]).status == 200)
        Support.expectOCSError(
            try alice.call("POST", "schedule", json: ["type": "core:text2text", "input": ["input": "other"], "appId": "a"],
                           headers: [("Idempotency-Key", "k1")]),
            status: 422)
        #expect(try alice.call("POST", "schedule", json: body).status == 200)
        Support.expectOCSError(try alice.call("POST", "schedule", json: body), status: 429)
        #expect(try Support.taskCount(server) == 2)
    }

    @Test("a window that has passed starts anew")
    func windowResets() throws {
        let server = try TestServer(configure: Self.limited(1, period: 1))
        defer { server.stop() }
        let alice = server.client(server.alice)
        _ = try alice.schedule()
        // Age the window in the database instead of waiting for it.
        let connection = try server.database()
        defer { connection.close() }
        _ = try connection.query("UPDATE schedule_rate_limits SET window_start = window_start - interval '1 hour'")
        #expect(try alice.call("POST", "schedule", json: ["type": "core:text2text", "input": ["input": "x"], "appId": "a"]).status == 200)
        #expect(try server.server.tasks.expireRateLimitWindows(periodSeconds: 1) == 0)
        _ = try connection.query("UPDATE schedule_rate_limits SET window_start = window_start - interval '1 hour'")
        #expect(try server.server.tasks.expireRateLimitWindows(periodSeconds: 1) == 1)
    }

    @Test("40 concurrent schedules from 8 threads against a limit of 10: exactly 10 scheduled, 30 refused")
    func concurrentSchedules() throws {
        let server = try TestServer(configure: Self.limited(10))
        defer { server.stop() }
        let password = try #require(server.alice.password)
        let statuses = Support.Collector<Int>()
        onThreads(8) { _ in
            let client = server.client(.user("alice", password))
            for _ in 0..<5 {
                let response = try? client.call("POST", "schedule", json: ["type": "core:text2text", "input": ["input": "x"], "appId": "a"])
                statuses.append(response?.status ?? 0)
            }
        }
        #expect(statuses.values.filter { $0 == 200 }.count == 10)
        #expect(statuses.values.filter { $0 == 429 }.count == 30)
        #expect(try Support.taskCount(server) == 10)
    }

    @Test("two server processes on one database share the limit")
    func sharedAcrossProcesses() throws {
        guard let fixture = try ServeProcessFixture.make(prefix: "rate_limit") else { return }
        defer { fixture.removeFolder() }
        let alice = fixture.alice

        let (servers, ports) = try fixture.startServers(
            2, options: ["--db-pool-size", "2", "--schedule-rate-limit", "5", "--schedule-rate-period", "600"])
        defer { servers.forEach { $0.kill() } }
        var statuses: [Int] = []
        for index in 0..<10 {
            let client = APIClient(port: ports[index % 2], caller: alice)
            statuses.append(try client.call("POST", "schedule", json: ["type": "core:text2text", "input": ["input": "x"], "appId": "a"]).status)
        }
        #expect(statuses.filter { $0 == 200 }.count == 5, "\(statuses)")
        #expect(statuses.filter { $0 == 429 }.count == 5, "\(statuses)")
        for server in servers {
            #expect(server.terminate(timeoutSeconds: 20) == .exited(0), "\(server.name):\n\(server.outputTail)")
        }
    }
}
