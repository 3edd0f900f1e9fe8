import Foundation
import Postgres
import TaskDispatchTesting
import Testing

/// Exactly-once across processes: two real `taskdispatch serve` processes on different ports
/// share one database, so only PostgreSQL's row locks (no lock inside a process) can keep two
/// workers from claiming the same task.
@Suite("Two server processes")
struct TwoProcessTests {
    static let taskCount = 2_000
    static let workerCount = 16

    @Test("16 workers on two server processes over one database drain 2,000 tasks exactly once; both exit 0 on SIGTERM")
    func twoProcessesDrainExactlyOnce() throws {
        guard let fixture = try ServeProcessFixture.make(prefix: "two_process") else { return }
        defer { fixture.removeFolder() }
        let (alice, worker) = (fixture.alice, fixture.worker)

        // A smaller pool than the default 16: the shared test cluster serves other tests too.
        let (servers, ports) = try fixture.startServers(2, options: ["--db-pool-size", "8", "--schedule-rate-limit", "0"])
        // Killed no matter how the test ends; a no-op for servers already stopped below.
        defer { servers.forEach { $0.kill() } }

        // Task n goes through server n % 2 (producer p schedules tasks p, p+4, …), and worker w
        // claims through server w % 2: eight workers per server.
        let serverPorts = ports
        let scheduled = try Drain.schedule(Self.taskCount, producers: 4) { producer in
            APIClient(port: serverPorts[producer % 2], caller: alice)
        }
        let workers = Drain.runWorkers(Self.workerCount) { index in
            APIClient(port: serverPorts[index % 2], caller: worker)
        }

        let database = try PostgresConnection(connectionString: fixture.connectionString, logger: TestServer.silentLogger)
        defer { database.close() }
        try Drain.verifyExactlyOnce(label: "exactly-once (two processes)", scheduled: scheduled, workers: workers, database: database)

        let claimsPerServer = (0..<2).map { server in
            workers.compactMap { $0 }.filter { $0.index % 2 == server }.reduce(0) { $0 + $1.claimed.count }
        }
        print("two-process: server0 claims=\(claimsPerServer[0]) server1 claims=\(claimsPerServer[1])")
        #expect(claimsPerServer.allSatisfy { $0 > 0 }, "each server should have handed out tasks: \(claimsPerServer)")

        // Both still alive after the load, and both shut down cleanly on SIGTERM.
        for server in servers {
            #expect(!server.hasExited, "\(server.name) ended during the test (\(String(describing: server.exitStatus))):\n\(server.outputTail)")
            let exit = server.terminate(timeoutSeconds: 20)
            #expect(exit == .exited(0), "\(server.name) \(exit) after SIGTERM:\n\(server.outputTail)")
        }
    }
}

/// How a `taskdispatch serve` process ends on SIGTERM, however early the signal comes.
@Suite("Server process signals")
struct ServerProcessSignalTests {
    @Test("SIGTERM just after the server says it is listening: it still stops in order and exits 0")
    func sigtermRightAfterStart() throws {
        guard let executable = requireTaskdispatchExecutable() else { return }
        let connectionString = try TestDatabase.create(prefix: "signals")
        let folder = try makeTemporaryFolder(prefix: "td-signals")
        defer { try? FileManager.default.removeItem(atPath: folder) }

        // The signal used to arrive before the handlers were installed (the process died of it)
        // or while it was already ignored but not yet caught (the process never stopped). A few
        // rounds, since the moment is a race.
        for round in 0..<5 {
            let port = try freeLoopbackPort()
            let server = try ChildProcess.spawn(
                executable,
                ["serve", "--database-url", connectionString, "--port", String(port), "--log-level", "warning", "--db-pool-size", "2"],
                name: "server", logPath: "\(folder)/serve-\(round).log")
            defer { server.kill() }
            try #require(server.waitForOutput(containing: "listening on"), "round \(round): no listening line:\n\(server.outputTail)")
            let exit = server.terminate(timeoutSeconds: 15)
            #expect(exit == .exited(0), "round \(round): \(exit) after SIGTERM (a SIGKILL after 15 s shows as signal 9):\n\(server.outputTail)")
        }
    }
}
