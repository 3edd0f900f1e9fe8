import Foundation
import JSON
import LoopbackHTTPClient
import Postgres
import Synchronization
import Testing

/// Provider triggers with a real ExApp: `Tests/ExApps/trigger_exapp.py`, nc_py_api's FastAPI
/// integration under uvicorn (PyPI, pinned in `scripts/test.sh`), with AppAPI's authentication
/// middleware. It never polls; it only answers `POST /trigger` and then drains its queue.
/// Two real `taskdispatch serve` processes share the database and the secret key file; the
/// ExApp is registered with the real `taskdispatch app add --url`.
@Suite("nc_py_api provider triggers")
struct NcPyApiTriggerTests {
    static let type = "trigger:echo"
    static let burst = 50

    struct Event {
        let kind: String
        let taskID: Int64?
        let providerID: String?
    }

    static func events(_ path: String) -> [Event] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let json = try? JSONValue.parse(Array(line.utf8)), let kind = json["event"]?.stringValue else { return nil }
            return Event(kind: kind, taskID: json["id"]?.int64Value, providerID: json["providerId"]?.stringValue)
        }
    }

    /// The ends of the children's logs, for a failure's message.
    static func logs(_ folder: String, _ names: [String]) -> String {
        names.map { name in
            let text = (try? String(contentsOfFile: "\(folder)/\(name).log", encoding: .utf8)) ?? ""
            return "--- \(name).log\n" + String(text.suffix(3000))
        }.joined(separator: "\n")
    }

    @Test("a real nc_py_api ExApp that never polls is triggered, claims and finishes; a burst of 50 schedules across 2 server processes makes one trigger call")
    func triggeredExApp() throws {
        guard let python = NcPyApiCompatibilityTests.venvPython(importing: "uvicorn", package: "uvicorn==0.55.0") else { return }
        guard let fixture = try ServeProcessFixture.make(prefix: "trigger_exapp") else { return }
        defer { fixture.removeFolder() }
        let keyFile = fixture.folder + "/secret.key"
        let exAppPort = try freeLoopbackPort()
        let common = ["--database-url", fixture.connectionString, "--log-level", "warning"]

        let (added, addOutput) = try ChildProcess.run(
            fixture.executable, ["app", "add", "trig", "--url", "http://127.0.0.1:\(exAppPort)/", "--secret-key-file", keyFile] + common,
            logPath: fixture.folder + "/app-add.log")
        try #require(added == .exited(0), "app add: \(addOutput)")
        let secret = try #require(
            addOutput.split(separator: "\n").first { $0.hasPrefix("secret (shown once): ") }.map { String($0.dropFirst(21)) })
        let (_, listed) = try ChildProcess.run(fixture.executable, ["app", "list"] + common, logPath: fixture.folder + "/app-list.log")
        #expect(listed.contains("trig\thttp://127.0.0.1:\(exAppPort)\n"), "\(listed)")

        let (servers, ports) = try fixture.startServers(2, options: ["--secret-key-file", keyFile])
        defer { servers.forEach { $0.kill() } }

        let events = fixture.folder + "/events.jsonl"
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ExApps/trigger_exapp.py").path
        let exApp = try ChildProcess.spawn(
            "/usr/bin/env",
            [
                "NEXTCLOUD_URL=http://127.0.0.1:\(ports[0])", "APP_ID=trig", "APP_VERSION=1.0.0", "APP_SECRET=\(secret)",
                "APP_PORT=\(exAppPort)", "TRIGGER_EVENTS=\(events)", "DRAIN_DELAY=2", python, script,
            ],
            name: "ExApp", logPath: fixture.folder + "/exapp.log")
        defer { exApp.kill() }
        try waitUntilAnswering(port: exAppPort, process: exApp, timeoutSeconds: 60)
        try #require(eventually(within: 30) { Self.events(events).contains { $0.kind == "registered" } }, "the ExApp registered its provider")

        // AppAPI's middleware is on: a call without AppAPI's headers is refused by the ExApp itself.
        let stranger = try LoopbackHTTPClient(port: exAppPort).send(method: "POST", path: "/trigger?providerId=trigger-echo", body: [])
        #expect(stranger.status == 401)

        let database = try PostgresConnection(connectionString: fixture.connectionString, logger: TestServer.silentLogger)
        defer { database.close() }
        func output(of id: Int64) throws -> JSONValue? {
            try database.query("SELECT output FROM tasks WHERE id = $1 AND status = 3", [id]).rows.first?.string("output")
                .flatMap { try? JSONValue.parse(Array($0.utf8)) }
        }
        let clients = ports.map { APIClient(port: $0, caller: fixture.alice) }

        // One schedule: the ExApp is triggered, claims and finishes.
        let first = try clients[1].schedule("hello", type: Self.type)
        try #require(
            eventually(within: 30) { try output(of: first) != nil },
            "the triggered ExApp finished the task\n\(Self.logs(fixture.folder, ["exapp", "serve-0", "serve-1"]))")
        #expect(try output(of: first) == ["output": "HELLO"])
        #expect(Self.events(events).filter { $0.kind == "trigger" }.map(\.providerID) == ["trigger-echo"])
        // The drain ended with an empty claim: the request is served, the burst starts from nothing.
        try #require(eventually(within: 15) {
            try database.query("SELECT count(*)::int AS n FROM provider_triggers").rows.first?.int("n") == 0
        })

        // A burst of 50 from 5 threads, alternating the two server processes.
        let ids = Mutex<[Int64]>([])
        DispatchQueue.concurrentPerform(iterations: 5) { thread in
            let mine = ports.map { APIClient(port: $0, caller: fixture.alice) }
            for number in 0..<(Self.burst / 5) {
                if let id = try? mine[number % 2].schedule("burst \(thread) \(number)", type: Self.type) {
                    ids.withLock { $0.append(id) }
                }
            }
        }
        let burst = ids.withLock { $0 }
        try #require(burst.count == Self.burst)
        try #require(eventually(within: 60) { try burst.allSatisfy { try output(of: $0) != nil } }, "the ExApp finished the burst")
        // Past the recheck (5 s after the call was answered): a second call would have been made by now.
        Thread.sleep(forTimeInterval: 4)
        let seen = Self.events(events)
        let triggers = seen.filter { $0.kind == "trigger" }.count
        let results = seen.filter { $0.kind == "result" }.compactMap(\.taskID)
        // One call is right only if the burst was scheduled before the ExApp started draining
        // (DRAIN_DELAY 2 s); a task scheduled after the drain ended would rightly earn a second.
        let timing = try database.query(
            """
            SELECT extract(epoch FROM max(scheduled_at) - min(scheduled_at))::float8 AS spread,
                   (max(scheduled_at) < min(started_at)) AS before_claims
            FROM tasks WHERE id = ANY($1::bigint[])
            """, [burst]).rows.first
        try #require(timing?.bool("before_claims") == true, "the burst took \(timing?.double("spread") ?? -1) s, longer than the drain delay")
        #expect(triggers == 2, "one call for the first task, one for the burst of \(Self.burst) over 2 processes: \(triggers)")
        #expect(results.count == Self.burst + 1 && Set(results) == Set(burst + [first]), "each task ran once: \(results.count) results")
        for server in servers { #expect(!server.hasExited, "\(server.name) exited") }
    }
}
