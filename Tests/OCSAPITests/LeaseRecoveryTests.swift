import Foundation
import JSON
import Synchronization
import TaskDispatchTesting
import Testing

@Suite("Leases over HTTP")
struct LeaseRecoveryTests {
    @Test("a stale worker's reports after its lease was re-granted get 409; the stored result is the current worker's")
    func staleWorker() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        let stale = server.client(server.worker)
        let current = server.client(server.worker)
        let id = try app.schedule()

        let first = try stale.next()
        #expect(first.task?["attempt"] == 1)
        #expect(first.task?["leaseExpiresAt"]?.int64Value != nil)
        let database = try server.database()
        defer { database.close() }
        _ = try database.query("UPDATE tasks SET lease_expires_at = now() - interval '1 second' WHERE id = $1", [id])
        // The server's own reaper returns the task to the queue.
        #expect(try eventually { try app.call("GET", "task/\(id)").task?["status"] == "STATUS_SCHEDULED" })

        let second = try current.next()
        #expect(second.taskID == id)
        #expect(second.task?["attempt"] == 2)

        let staleProgress = try stale.call("POST", "tasks_provider/\(id)/progress", json: ["progress": 0.5, "attempt": 1])
        #expect(staleProgress.status == 409)
        #expect(staleProgress.message?.contains("claimed again") == true, "\(staleProgress.bodyText)")

        let done = try current.call("POST", "tasks_provider/\(id)/result", json: ["output": ["output": "current"], "attempt": 2])
        #expect(done.status == 200)
        for body: JSONValue in [["output": ["output": "stale"], "attempt": 1], ["output": ["output": "stale"]]] {
            #expect(try stale.call("POST", "tasks_provider/\(id)/result", json: body).status == 409)
        }
        #expect(try app.call("GET", "task/\(id)").task?["output"] == ["output": "current"])
    }

    @Test("a worker may ask for its lease length; the ask is capped; nonsense is refused")
    func leaseParameter() throws {
        let server = try TestServer { $0.maxLeaseSeconds = 600 }
        defer { server.stop() }
        let app = server.client(server.alice)
        let worker = server.client(server.worker)
        for _ in 0..<2 { _ = try app.schedule() }
        for (asked, granted) in [(45, 45), (100_000, 600)] {
            let claimed = try worker.call(
                "GET", "tasks_provider/next",
                json: ["providerIds": ["core:text2text"], "taskTypeIds": ["core:text2text"], "leaseSeconds": .int(Int64(asked))])
            let lease = try #require(claimed.task?["leaseExpiresAt"]?.int64Value)
            let started = try #require(claimed.task?["startedAt"]?.int64Value)
            #expect((granted...granted + 1).contains(Int(lease - started)), "asked \(asked)")
        }
        for bad: JSONValue in [0, -5, "soon", 1.5] {
            let refused = try worker.call(
                "GET", "tasks_provider/next", json: ["providerIds": ["core:text2text"], "taskTypeIds": ["core:text2text"], "leaseSeconds": bad])
            #expect(refused.status == 400, "leaseSeconds \(bad)")
        }
        for bad: JSONValue in [0, "one"] {
            #expect(try worker.call("POST", "tasks_provider/1/result", json: ["output": [:], "attempt": bad]).status == 400)
        }
    }

    @Test("a task type's configured lease applies unless the worker asks for one")
    func leaseByType() throws {
        let server = try TestServer { $0.leaseSecondsByType = ["core:text2text:summary": 42] }
        defer { server.stop() }
        let app = server.client(server.alice)
        let worker = server.client(server.worker)
        _ = try app.schedule(type: "core:text2text:summary")
        _ = try app.schedule(type: "core:text2text:summary")
        _ = try app.schedule()
        func grantedLease(_ response: APIResponse) throws -> Int64 {
            try #require(response.task?["leaseExpiresAt"]?.int64Value) - (try #require(response.task?["startedAt"]?.int64Value))
        }
        #expect((42...43).contains(try grantedLease(try worker.next(types: ["core:text2text:summary"]))))
        #expect((300...301).contains(try grantedLease(try worker.next(types: ["core:text2text"]))))
        let asked = try worker.call(
            "GET", "tasks_provider/next",
            json: ["providerIds": ["core:text2text:summary"], "taskTypeIds": ["core:text2text:summary"], "leaseSeconds": 77])
        #expect((77...78).contains(try grantedLease(asked)))
    }

    /// A worker in its own process that claims `count` tasks over HTTP, says which, and then
    /// hangs on to them until it is killed.
    static let holdingWorker = #"""
        import base64, json, sys, time, urllib.request
        port, secret, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
        headers = {"EX-APP-ID": "worker", "EX-APP-VERSION": "1.0", "OCS-APIRequest": "true",
                   "AUTHORIZATION-APP-API": base64.b64encode((":" + secret).encode()).decode(),
                   "Content-Type": "application/json"}
        body = json.dumps({"providerIds": ["core:text2text"], "taskTypeIds": ["core:text2text"]}).encode()
        for _ in range(count):
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/ocs/v2.php/taskprocessing/tasks_provider/next",
                data=body, headers=headers, method="GET")
            with urllib.request.urlopen(request, timeout=10) as response:
                print("claimed", json.load(response)["ocs"]["data"]["task"]["id"], flush=True)
        print("holding", flush=True)
        time.sleep(600)
        """#

    @Test("kill -9 a worker process holding claimed tasks: other workers finish them after the lease, each result recorded once")
    func killedWorker() throws {
        let server = try TestServer { $0.leaseSeconds = 2 }
        defer { server.stop() }
        let app = server.client(server.alice)
        let total = 20
        let held = 5
        var scheduled: [Int64] = []
        for index in 0..<total { scheduled.append(try app.schedule("task \(index)")) }

        let folder = try makeTemporaryFolder(prefix: "td-worker")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let worker = try ChildProcess.spawn(
            "/usr/bin/env", ["python3", "-c", Self.holdingWorker, "\(server.port)", server.workerSecret, "\(held)"],
            name: "holding worker", logPath: folder + "/worker.log")
        defer { worker.kill() }
        try #require(worker.waitForOutput(containing: "holding"), "worker output: \(worker.outputTail)")
        let heldIDs = Set(worker.output.split(separator: "\n").compactMap { line in
            line.hasPrefix("claimed ") ? Int64(line.dropFirst("claimed ".count)) : nil
        })
        #expect(heldIDs.count == held)
        worker.kill()

        let claims = Mutex<[Int64]>([])
        let refused = Atomic<Int>(0)
        let database = try server.database()
        defer { database.close() }
        let deadline = ContinuousClock.now + .seconds(60)
        onThreads(4) { _ in
            let client = server.client(server.worker)
            while ContinuousClock.now < deadline {
                guard let next = try? client.next() else { continue }
                if next.status == 204 {
                    if claims.withLock({ $0.count }) >= total { return }
                    usleep(100_000)
                    continue
                }
                guard let id = next.taskID, let attempt = next.task?["attempt"] else { continue }
                claims.withLock { $0.append(id) }
                let result = try? client.call(
                    "POST", "tasks_provider/\(id)/result", json: ["output": ["output": .string("done \(id)")], "attempt": attempt])
                if result?.status != 200 { refused.add(1, ordering: .relaxed) }
            }
        }

        let finished = claims.withLock { $0 }
        let attempts = try database.query(
            "SELECT id, attempt, status, output FROM tasks ORDER BY id"
        ).rows.map { ($0.int64("id") ?? 0, $0.int("attempt") ?? 0, $0.int("status") ?? 0, $0.string("output") ?? "") }
        let duplicates = finished.count - Set(finished).count
        let lost = Set(scheduled).subtracting(finished).count
        print("killed worker: tasks=\(total) held=\(heldIDs.count) claims=\(finished.count) duplicates=\(duplicates) lost=\(lost) refused=\(refused.load(ordering: .relaxed))")
        #expect(duplicates == 0)
        #expect(lost == 0)
        #expect(refused.load(ordering: .relaxed) == 0)
        for (id, attempt, status, output) in attempts {
            #expect(status == 3, "task \(id) status \(status)")
            #expect(attempt == (heldIDs.contains(id) ? 2 : 1), "task \(id) attempt \(attempt)")
            #expect(output == #"{"output":"done \#(id)"}"#)
        }
    }
}
