import Dispatch
import Foundation
import JSON
import OCSAPI
import Postgres
import TaskDispatchApp
import TaskQueue
import Testing

/// Long polls (`wait`) on `tasks_provider/next` and `next_batch`: a parked request is answered
/// by a task scheduled after it parked, by its empty answer when the wait ends, or at
/// shutdown; wakeups never hand one task to two workers.
@Suite("Long poll")
struct LongPollTests {
    @Test("a parked next is answered with a task scheduled after it parked")
    func parkedNextGetsLaterTask() throws {
        let server = try TestServer()
        defer { server.stop() }
        let poll = LongPoll(server, wait: 20)
        try #require(EndpointSupport.waitUntil(seconds: 15) { server.server.waitingLongPolls == 1 })
        let id = try server.client(server.alice).schedule("for the parked worker")
        let answer = try poll.response()
        // Had the wait run out first, the answer would be 204.
        #expect(answer.status == 200, "\(answer.bodyText)")
        #expect(answer.taskID == id)
        #expect(server.server.waitingLongPolls == 0)
    }

    @Test("a parked next_batch is answered with the tasks of one batch schedule")
    func parkedBatchGetsLaterTasks() throws {
        let server = try TestServer()
        defer { server.stop() }
        let poll = LongPoll(server, route: "next_batch", wait: 20, extra: ["numberOfTasks": 5])
        try #require(EndpointSupport.waitUntil(seconds: 15) { server.server.waitingLongPolls == 1 })
        let batch = try server.client(server.alice).call(
            "POST", "schedule/batch", json: ["tasks": [Self.item("a"), Self.item("b")]])
        #expect(batch.status == 200)
        let answer = try poll.response()
        #expect(answer.status == 200)
        let tasks = answer.data?["tasks"]?.arrayValue ?? []
        // The claim runs after the one statement committed, so it sees both tasks.
        #expect(tasks.count == 2, "\(answer.bodyText)")
    }

    @Test("when the wait ends with nothing: 204 for next, an empty list for next_batch; a longer wait is capped")
    func waitEndsEmpty() throws {
        let server = try TestServer { $0.maxWaitSeconds = 1 }
        defer { server.stop() }
        let worker = server.client(server.worker)
        // 100000 s is capped at the 1 s maximum: the request is answered, not refused.
        let next = try worker.call("GET", "tasks_provider/next", json: Self.body(wait: 100_000))
        #expect(next.status == 204)
        let batch = try worker.call("GET", "tasks_provider/next_batch", json: Self.body(wait: 1))
        #expect(batch.status == 200)
        #expect(batch.data?["tasks"] == [])
        #expect(batch.data?["has_more"] == false)
        #expect(server.server.waitingLongPolls == 0)
    }

    @Test("a negative or non-numeric wait is a 400 in the OCS envelope, and nothing is claimed")
    func badWait() throws {
        let server = try TestServer()
        defer { server.stop() }
        let id = try server.client(server.alice).schedule()
        let worker = server.client(server.worker)
        for route in ["next", "next_batch"] {
            for wait: JSONValue in [-1, "soon", "1.5", 2.5] {
                let body = Self.body(wait: wait)
                let answer = try worker.call("GET", "tasks_provider/\(route)", json: body)
                #expect(answer.status == 400, "\(route) wait=\(wait): \(answer.bodyText)")
                #expect(answer.meta?["statuscode"] == 400)
                #expect(answer.message?.contains("wait") == true)
            }
            let query = try worker.call("GET", "tasks_provider/\(route)?providerIds[]=p&taskTypeIds[]=core:text2text&wait=-5")
            #expect(query.status == 400)
        }
        #expect(try EndpointSupport.storedStatus(server, id: id) == TaskStatus.scheduled.rawValue)
    }

    @Test("N parked workers and k new tasks: exactly k get a task, none twice, the others keep waiting")
    func exactlyKWoken() throws {
        let server = try TestServer()
        defer { server.stop() }
        let waiting = 6
        let scheduled = 3
        let polls = (0..<waiting).map { _ in LongPoll(server, wait: 20) }
        try #require(EndpointSupport.waitUntil(seconds: 15) { server.server.waitingLongPolls == waiting })
        let batch = try server.client(server.alice).call(
            "POST", "schedule/batch", json: .object(JSONObject([("tasks", .array((0..<scheduled).map { Self.item("t\($0)") }))])))
        #expect(batch.status == 200)
        let ids = Set((batch.data?["tasks"]?.arrayValue ?? []).compactMap { $0["id"]?.int64Value })
        #expect(ids.count == scheduled)

        #expect(EndpointSupport.waitUntil(seconds: 15) { polls.filter(\.isAnswered).count == scheduled })
        let answered = try polls.filter(\.isAnswered).map { try $0.response() }
        #expect(answered.allSatisfy { $0.status == 200 })
        let claimed = answered.compactMap(\.taskID)
        #expect(claimed.count == scheduled)
        #expect(Set(claimed) == ids, "every task once, none twice")
        #expect(server.server.waitingLongPolls == waiting - scheduled)

        // The rest were still parked; shutdown answers them with the empty answer.
        server.stop()
        let rest = try polls.map { try $0.response() }.filter { $0.taskID == nil }
        #expect(rest.count == waiting - scheduled)
        #expect(rest.allSatisfy { $0.status == 204 })
    }

    @Test("parked requests are answered with their empty answer when the server stops")
    func answeredAtShutdown() throws {
        let server = try TestServer()
        let next = LongPoll(server, wait: 20)
        let batch = LongPoll(server, route: "next_batch", wait: 20)
        try #require(EndpointSupport.waitUntil(seconds: 15) { server.server.waitingLongPolls == 2 })
        server.stop()
        #expect(try next.response().status == 204)
        let batchAnswer = try batch.response()
        #expect(batchAnswer.status == 200)
        #expect(batchAnswer.data?["tasks"] == [])
    }

    @Test("two server processes over one database each wake their own parked workers")
    func twoServersWakeTheirOwn() throws {
        let first = try TestServer()
        defer { first.stop() }
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.maintenanceIntervalSeconds = 0.2
        let second = TaskDispatchServer(configuration: configuration, connectionString: first.connectionString, logger: TestServer.silentLogger)
        try second.start()
        defer { second.stop() }

        let onFirst = LongPoll(port: first.port, caller: first.worker, wait: 20)
        let onSecond = LongPoll(port: second.port, caller: first.worker, wait: 20)
        try #require(EndpointSupport.waitUntil(seconds: 15) { first.server.waitingLongPolls == 1 && second.waitingLongPolls == 1 })
        // Scheduled through the first server: the second hears of it from the database.
        let app = first.client(first.alice)
        let ids: Set<Int64> = [try app.schedule("one"), try app.schedule("two")]
        let answers = [try onFirst.response(), try onSecond.response()]
        #expect(answers.allSatisfy { $0.status == 200 })
        #expect(Set(answers.compactMap(\.taskID)) == ids)
    }

    @Test("a parked client that hangs up frees its slot, and a later task goes to a live worker")
    func disconnectedClientFreesSlot() throws {
        let server = try TestServer()
        defer { server.stop() }
        let body = Array(Self.body(wait: 20).serialized())
        let headers = server.worker.headers.map { "\($0.0): \($0.1)\r\n" }.joined()
        let request = "GET \(APIClient.v2)/tasks_provider/next HTTP/1.1\r\nHost: localhost\r\n\(headers)"
            + "OCS-APIRequest: true\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n" + String(decoding: body, as: UTF8.self)
        do {
            let connection = try EndpointSupport.RawConnection(port: server.port)
            try connection.send(request)
            try #require(EndpointSupport.waitUntil(seconds: 15) { server.server.waitingLongPolls == 1 })
        }  // closed here
        #expect(EndpointSupport.waitUntil(seconds: 15) { server.server.waitingLongPolls == 0 })

        let id = try server.client(server.alice).schedule("for a live worker")
        let live = try server.client(server.worker).next()
        #expect(live.status == 200)
        #expect(live.taskID == id, "\(live.bodyText)")
    }

    @Test("a task whose notification was lost is still delivered, by the backstop check")
    func lostNotificationBackstop() throws {
        let server = try TestServer { $0.longPollBackstopSeconds = 0.5 }
        defer { server.stop() }
        let database = try server.database()
        defer { database.close() }
        // The notification trigger off: nothing announces the next task.
        try database.execute("ALTER TABLE tasks DISABLE TRIGGER tasks_notify_ready_inserts")
        let poll = LongPoll(server, wait: 20)
        try #require(EndpointSupport.waitUntil(seconds: 15) { server.server.waitingLongPolls == 1 })
        let id = try server.client(server.alice).schedule("unannounced")
        let answer = try poll.response()
        #expect(answer.status == 200)
        #expect(answer.taskID == id)
    }

    @Test("the listener wrapper: a notification arrives, a quiet wait times out, and a restarted database is listened to again")
    func listenerReconnects() throws {
        let privateCluster = try PrivateCluster(prefix: "td-listen")
        defer { privateCluster.remove() }
        let listener = PostgresListener(
            connectionString: privateCluster.connectionString, channels: ["test_channel"], logger: TestServer.silentLogger)
        defer { listener.close() }
        #expect(try listener.next(timeoutMilliseconds: 100) == .connected)
        #expect(try listener.next(timeoutMilliseconds: 100) == .timedOut)

        func notify(_ payload: String) throws {
            let sender = try PostgresConnection(connectionString: privateCluster.connectionString, logger: TestServer.silentLogger)
            defer { sender.close() }
            _ = try sender.query("SELECT pg_notify('test_channel', $1)", [payload])
        }
        func received() throws -> [String] {
            for _ in 0..<50 {
                if case .notifications(let notifications) = try listener.next(timeoutMilliseconds: 200) {
                    return notifications.map(\.payload)
                }
            }
            return []
        }
        try notify("first")
        #expect(try received() == ["first"])

        privateCluster.cluster.stop()
        var failure: PostgresError?
        for _ in 0..<50 where failure == nil {
            do { _ = try listener.next(timeoutMilliseconds: 200) } catch { failure = error }
        }
        #expect(failure?.kind == .connectionLost || failure?.kind == .connectionFailed)
        _ = try privateCluster.cluster.start()
        var reconnected = false
        for _ in 0..<100 where !reconnected {
            reconnected = (try? listener.next(timeoutMilliseconds: 100)) == .connected
            if !reconnected { usleep(100_000) }
        }
        #expect(reconnected)
        try notify("after restart")
        #expect(try received() == ["after restart"])
    }

    static func body(wait: JSONValue, types: [String] = ["core:text2text"], extra: [String: JSONValue] = [:]) -> JSONValue {
        let typeList = JSONValue.array(types.map(JSONValue.string))
        var fields: [(String, JSONValue)] = [("providerIds", typeList), ("taskTypeIds", typeList), ("wait", wait)]
        fields += extra.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        return .object(JSONObject(fields))
    }

    static func item(_ customID: String) -> JSONValue {
        ["type": "core:text2text", "input": ["input": "x"], "appId": "testapp", "customId": .string(customID)]
    }
}

/// One long poll sent on a thread of its own; ``response()`` waits for its answer.
final class LongPoll: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var outcome: Result<APIResponse, any Error>?

    convenience init(
        _ server: TestServer, route: String = "next", wait: Int, types: [String] = ["core:text2text"], extra: [String: JSONValue] = [:]
    ) {
        self.init(port: server.port, caller: server.worker, route: route, wait: wait, types: types, extra: extra)
    }

    init(
        port: UInt16, caller: Caller, route: String = "next", wait: Int, types: [String] = ["core:text2text"],
        extra: [String: JSONValue] = [:]
    ) {
        let body = LongPollTests.body(wait: .int(Int64(wait)), types: types, extra: extra)
        Thread { [self] in
            let client = APIClient(port: port, caller: caller)
            let result = Result { try client.call("GET", "tasks_provider/\(route)", json: body) }
            lock.withLock { outcome = result }
            done.signal()
        }.start()
    }

    var isAnswered: Bool { lock.withLock { outcome != nil } }

    /// The answer, waiting up to 40 s for it.
    func response() throws -> APIResponse {
        guard done.wait(timeout: .now() + 40) == .success else { throw TestFailure("no answer within 40 s") }
        done.signal()  // later calls return at once
        return try lock.withLock { outcome! }.get()
    }
}
