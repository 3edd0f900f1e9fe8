import EmbeddedPostgres
import Foundation
import JSON
import Logging
import Postgres
import TaskDispatchApp
import Testing

/// A PostgreSQL outage: requests fail with 503 and the server keeps serving; when the database
/// comes back, the server reconnects by itself and nothing scheduled before is lost.
///
/// The test stops and restarts a cluster, so it runs its OWN cluster, never the one the other
/// tests share.
@Suite("Database outage")
struct OutageTests {
    static let recoveryTimeLimit: Duration = .seconds(30)

    @Test("while PostgreSQL is down requests answer 503 with Retry-After; once it is back the same server recovers")
    func outageAndRecovery() throws {
        let privateCluster = try PrivateCluster(prefix: "td-outage")
        defer { privateCluster.remove() }
        let cluster = privateCluster.cluster
        let connectionString = privateCluster.connectionString
        let server = try privateCluster.startServer()
        defer { server.stop() }

        // Credentials are cached after their first successful check (30 s). `alice` and `worker`
        // are used before the outage, so during it their requests fail in the store; `bob` and
        // `worker2` are first seen during it, so theirs fail in the credential check. Both paths must answer 503.
        let accounts = server.accounts
        let alice = APIClient(port: server.port, caller: .user("alice", try accounts.addUser(name: "alice", isAdmin: false).appPassword))
        let bob = APIClient(port: server.port, caller: .user("bob", try accounts.addUser(name: "bob", isAdmin: false).appPassword))
        let worker = APIClient(port: server.port, caller: .exApp("worker", try accounts.addApp(appID: "worker"), user: ""))
        let worker2 = APIClient(port: server.port, caller: .exApp("worker2", try accounts.addApp(appID: "worker2"), user: ""))
        try TestServer.registerCoreProviders(server.catalog.store, appID: "worker")

        let before = try alice.schedule("scheduled before the outage")
        #expect(try worker.next(types: ["core:contextwrite"]).status == 204)  // caches the worker's credentials

        cluster.stop()

        let refused: [(String, () throws -> APIResponse)] = [
            ("schedule (cached user)", { try alice.call("POST", "schedule", json: Self.scheduleBody) }),
            ("next (cached ExApp)", { try worker.next() }),
            ("get task (cached user)", { try alice.call("GET", "task/\(before)") }),
            ("schedule (unchecked user)", { try bob.call("POST", "schedule", json: Self.scheduleBody) }),
            ("next (unchecked ExApp)", { try worker2.next() }),
        ]
        for (what, request) in refused {
            let response = try request()
            #expect(response.status == 503, "\(what): \(response.status) \(response.bodyText)")
            #expect(response.meta?["status"] == "failure", "\(what): \(response.bodyText)")
            #expect(response.meta?["statuscode"] == 503, "\(what): \(response.bodyText)")
            #expect(response.message?.contains("database is unavailable") == true, "\(what): \(response.bodyText)")
            let retryAfter = response.header("Retry-After")
            #expect(retryAfter.flatMap { Int($0) }.map { $0 > 0 } == true, "\(what): Retry-After is \(String(describing: retryAfter))")
        }
        // Still serving: a route that needs no database answers as always, and the database
        // routes keep answering 503 rather than hanging or crashing.
        #expect(try alice.call("GET", "no-such-route").status == 404)
        #expect(try worker.next().status == 503)

        _ = try cluster.start()

        // The same server, not restarted: poll until the database routes work again.
        let deadline = ContinuousClock.now + Self.recoveryTimeLimit
        var read = try alice.call("GET", "task/\(before)")
        while read.status != 200 && ContinuousClock.now < deadline {
            usleep(100_000)
            read = try alice.call("GET", "task/\(before)")
        }
        try #require(read.status == 200, "no recovery within \(Self.recoveryTimeLimit): \(read.status) \(read.bodyText)")
        #expect(read.task?["status"] == "STATUS_SCHEDULED")

        // Both refusal paths work again, and the task from before the outage is claimed once.
        let after = try bob.schedule("scheduled after the outage")
        let claimed = try worker.next()
        #expect(claimed.taskID == before, "the oldest task first: \(claimed.bodyText)")
        #expect(try worker2.next().taskID == after)
        #expect(try worker.next().status == 204)
        #expect(try worker.call("POST", "tasks_provider/\(before)/result", json: ["output": ["output": "survived"]]).status == 200)

        let database = try PostgresConnection(connectionString: connectionString, logger: TestServer.silentLogger)
        defer { database.close() }
        let row = try Drain.snapshot(of: before, database)
        #expect(row.status == 3 && row.attempt == 1, "task \(before): \(row)")
    }

    static let scheduleBody: JSONValue = ["type": "core:text2text", "input": ["input": "during the outage"], "appId": "testapp"]
}
