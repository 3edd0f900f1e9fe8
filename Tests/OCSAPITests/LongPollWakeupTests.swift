import Foundation
import JSON
import Postgres
import TaskQueue
import Testing

/// Wakeups that a task must not miss: each test sets the backstop check far beyond its waits,
/// so only a wakeup can answer the parked request in time.
@Suite("Long poll wakeups")
struct LongPollWakeupTests {
    /// Text types that take the same input.
    static let textTypes = ["core:text2text", "core:text2text:summary", "core:text2text:headline", "core:text2text:topics"]

    static func server() throws -> TestServer {
        try TestServer { $0.longPollBackstopSeconds = 120 }
    }

    static func item(_ type: String, priority: Int) -> JSONValue {
        ["type": .string(type), "input": ["input": "x"], "appId": "testapp", "priority": .int(Int64(priority))]
    }

    /// A waiter for {A, B} woken for A that claims the B task (it has the higher priority) must
    /// leave the A task to an A-only waiter, not strand it until the backstop. Each ordered pair
    /// of types is tried, so the order in which one notice names its types cannot decide it.
    @Test("a waiter woken for one type that takes another type's task passes its wakeup on")
    func wakeupPassesOn() throws {
        let server = try Self.server()
        defer { server.stop() }
        let pairs = Self.textTypes.flatMap { a in Self.textTypes.filter { $0 != a }.map { (a, $0) } }
        for (a, b) in pairs {
            let both = LongPoll(server, wait: 20, types: [a, b])
            try #require(EndpointSupport.waitUntil(seconds: 15) { server.server.waitingLongPolls == 1 })
            let onlyA = LongPoll(server, wait: 4, types: [a])
            try #require(EndpointSupport.waitUntil(seconds: 15) { server.server.waitingLongPolls == 2 })
            // One statement: one notice names both types.
            let batch = try server.client(server.alice).call(
                "POST", "schedule/batch", json: ["tasks": [Self.item(a, priority: 0), Self.item(b, priority: 10)]])
            try #require(batch.status == 200, "\(batch.bodyText)")
            let ids = (batch.data?["tasks"]?.arrayValue ?? []).compactMap { $0["id"]?.int64Value }
            let bothAnswer = try both.response()
            let onlyAAnswer = try onlyA.response()
            #expect(bothAnswer.taskID == ids.last, "\(a) + \(b): the {A, B} waiter takes the B task (higher priority)")
            #expect(onlyAAnswer.status == 200, "\(a) + \(b): the A-only waiter must be woken for the A task, not wait it out")
            #expect(onlyAAnswer.taskID == ids.first)
            #expect(EndpointSupport.waitUntil(seconds: 5) { server.server.waitingLongPolls == 0 })
        }
    }

    /// A claim of several types locks up to `limit` rows of each while it runs, but takes only
    /// `limit` in all. A long poll of a passed-over type that looked meanwhile found nothing and
    /// parked; when the claim commits, the passed-over task must reach it.
    @Test("a task a multi-type claim locked but did not take wakes the long poll that missed it")
    func passedOverTaskWakes() throws {
        let server = try Self.server()
        defer { server.stop() }
        let (a, b) = (Self.textTypes[0], Self.textTypes[1])
        let user = server.client(server.alice)
        let batch = try user.call(
            "POST", "schedule/batch", json: ["tasks": [Self.item(a, priority: 10), Self.item(b, priority: 0)]])
        try #require(batch.status == 200, "\(batch.bodyText)")
        let ids = (batch.data?["tasks"]?.arrayValue ?? []).compactMap { $0["id"]?.int64Value }
        let database = try server.database()
        var poll: LongPoll?
        // The statement the server claims with, for {A, B}, limit 1, held open in a transaction.
        let claimed = try database.transaction { connection -> [Int64] in
            let claim = TaskStore.claimQuery(
                .init(types: [a, b], providers: [nil, nil], limit: 1, claimant: "other-worker", leaseSeconds: 300),
                holdsLimitLocks: false)
            let rows = try connection.query(claim).rows
            poll = LongPoll(server, wait: 6, types: [b])
            try #require(EndpointSupport.waitUntil(seconds: 15) { server.server.waitingLongPolls == 1 })
            return rows.compactMap { $0.int64("id") }
        }
        #expect(claimed == [ids[0]], "the claim takes the A task and passes over the B task")
        let answer = try #require(poll).response()
        #expect(answer.status == 200, "the parked long poll must get the B task once the claim commits: \(answer.bodyText)")
        #expect(answer.taskID == ids[1])
    }
}
