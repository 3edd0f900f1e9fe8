import Foundation
import Postgres
import Synchronization
import TaskDispatchTesting
import TaskQueue
import Testing

/// A type's running limit holds across server processes: the claim locks the type's settings
/// row, so no two processes can both see room for the last slot.
@Suite("Running limit across two server processes")
struct RunningLimitTests {
    static let taskCount = 600
    static let workerCount = 32
    static let limit = 4

    @Test("32 workers on two server processes never have more than 4 tasks of a type limited to 4 running; all claimed once")
    func limitHoldsAcrossProcesses() throws {
        guard let fixture = try ServeProcessFixture.make(prefix: "running_limit") else { return }
        defer { fixture.removeFolder() }
        let database = try PostgresConnection(connectionString: fixture.connectionString, logger: TestServer.silentLogger)
        defer { database.close() }
        _ = try database.query(
            "INSERT INTO tasks (type, user_id, app_id, input) SELECT 'core:text2text', 'alice', 'app', '{\"input\":\"x\"}' "
                + "FROM generate_series(1, \(Self.taskCount))")
        let pool = PostgresConnectionPool(
            configuration: PostgresPoolConfiguration(connectionString: fixture.connectionString, maxConnections: 1),
            logger: TestServer.silentLogger)
        _ = try TaskStore(pool: pool).setMaxRunning(type: "core:text2text", Self.limit)
        pool.close()

        let (servers, ports) = try fixture.startServers(2, options: ["--db-pool-size", "8"])
        defer { servers.forEach { $0.kill() } }

        // Samples the running count until nothing is left to run.
        let finished = Atomic<Bool>(false)
        let highest = Atomic<Int>(0)
        let samples = Atomic<Int>(0)
        let sampled = DispatchSemaphore(value: 0)
        let connectionString = fixture.connectionString
        Thread.detachNewThread {
            defer { sampled.signal() }
            guard let sampler = try? PostgresConnection(connectionString: connectionString, logger: TestServer.silentLogger) else { return }
            defer { sampler.close() }
            let deadline = ContinuousClock.now + .seconds(120)
            while ContinuousClock.now < deadline {
                guard let row = try? sampler.query(
                    "SELECT count(*) FILTER (WHERE status = 2) AS running, count(*) FILTER (WHERE status IN (1, 2)) AS open FROM tasks"
                ).rows.first, let running = row.int("running"), let open = row.int("open") else { continue }
                _ = highest.max(running, ordering: .relaxed)
                _ = samples.add(1, ordering: .relaxed)
                if open == 0 { break }
            }
            finished.store(true, ordering: .relaxed)
        }

        let serverPorts = ports
        let worker = fixture.worker
        let logs = ThreadSlots<Drain.WorkerLog>(count: Self.workerCount)
        onThreads(Self.workerCount) { index in
            let client = APIClient(port: serverPorts[index % 2], caller: worker)
            var log = Drain.WorkerLog(index: index)
            while !finished.load(ordering: .relaxed) {
                do {
                    let next = try client.next()
                    guard next.status == 200, let id = next.taskID else {
                        if next.status != 204 { log.errors.append("next answered \(next.status): \(next.bodyText)") }
                        usleep(5_000)
                        continue
                    }
                    log.claimed.append(id)
                    usleep(2_000)  // hold the slot a little, so that the workers crowd the limit
                    let result = try client.call("POST", "tasks_provider/\(id)/result", json: ["output": ["output": "done"]])
                    if result.status != 200 { log.refusedResults.append("task \(id): \(result.status)") }
                } catch {
                    log.errors.append("\(error)")
                    break
                }
                if log.errors.count > 5 { break }
            }
            logs.store(log, at: index)
        }
        sampled.wait()

        let all = logs.values.compactMap { $0 }
        let claims = all.flatMap(\.claimed)
        let peak = highest.load(ordering: .relaxed)
        print("running limit (two processes): tasks=\(Self.taskCount) claims=\(claims.count) distinct=\(Set(claims).count) "
            + "highest running=\(peak) limit=\(Self.limit) samples=\(samples.load(ordering: .relaxed))")
        #expect(all.flatMap(\.errors).isEmpty, "\(all.flatMap(\.errors).prefix(5))")
        #expect(all.flatMap(\.refusedResults).isEmpty)
        #expect(claims.count == Self.taskCount && Set(claims).count == Self.taskCount)
        #expect(peak <= Self.limit, "more than \(Self.limit) running at once")
        #expect(peak == Self.limit, "the limit should be reached under this load")
        #expect(samples.load(ordering: .relaxed) > 50, "the sampler should have looked many times")
        for server in servers {
            #expect(server.terminate(timeoutSeconds: 20) == .exited(0), "\(server.name):\n\(server.outputTail)")
        }
    }
}
