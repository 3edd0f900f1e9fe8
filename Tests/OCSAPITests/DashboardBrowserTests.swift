import Foundation
import JSON
import Postgres
import TaskDispatchApp
import TaskQueue
import Testing

/// The dashboard in a real browser: Debian's Chromium driven by Playwright for Python
/// (`Tests/Browser/dashboard_test.py`) against a real server over a database of the test's own,
/// which the script asks this test to stop and start. This side seeds what the script looks at
/// and answers its requests; the script checks the pages and fails on any console error.
@Suite("Dashboard in a browser")
struct DashboardBrowserTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let script = packageRoot.appendingPathComponent("Tests/Browser/dashboard_test.py").path
    /// Screenshots and the browser's log: in the build folder, never committed.
    static let outputFolder = packageRoot.appendingPathComponent(".build/test-output/dashboard").path
    static let chromium = "/usr/bin/chromium"

    @Test("sign in, overview equal to the admin API, filters and paging, hostile text, retry, bulk retry, pause, database down, session ended, sign out")
    func dashboardInChromium() throws {
        guard let python = NcPyApiCompatibilityTests.venvPython(importing: "playwright", package: "playwright==1.65.3") else { return }
        guard FileManager.default.isExecutableFile(atPath: Self.chromium) else {
            Issue.record("no Chromium at \(Self.chromium): run scripts/test.sh (it installs Debian's chromium)")
            return
        }
        let cluster = try PrivateCluster(prefix: "td-browser")
        defer { cluster.remove() }
        let server = try cluster.startServer {
            $0.webhookAllowPrivateTargets = true
            $0.webhookMaxAttempts = 1
            $0.webhookPollSeconds = 0.1
            $0.maintenanceIntervalSeconds = 0.5
        }
        defer { server.stop() }
        let seeded = try Self.seed(server, connectionString: cluster.connectionString)

        try? FileManager.default.removeItem(atPath: Self.outputFolder)
        try FileManager.default.createDirectory(atPath: Self.outputFolder, withIntermediateDirectories: true)
        let child = try ChildProcess.spawn(
            "/usr/bin/env",
            [
                "BASE_URL=http://127.0.0.1:\(server.port)", "ADMIN_USER=root", "ADMIN_PASSWORD=\(seeded.adminPassword)",
                "OTHER_USER=alice", "OTHER_PASSWORD=\(seeded.userPassword)", "FAILED_TASK_ID=\(seeded.failedTask)",
                "HOSTILE_TASK_ID=\(seeded.hostileTask)", "OUTPUT_DIR=\(Self.outputFolder)", "CHROMIUM=\(Self.chromium)",
                python, Self.script,
            ],
            name: "dashboard_test.py", logPath: Self.outputFolder + "/browser.log")
        defer { child.kill() }

        // The script's requests to stop and start the database, until it ends (bounded).
        let deadline = ContinuousClock.now + .seconds(300)
        var stopped = false
        var started = false
        while !child.hasExited && ContinuousClock.now < deadline {
            if !stopped && FileManager.default.fileExists(atPath: Self.outputFolder + "/stop-database") {
                cluster.cluster.stop()
                stopped = FileManager.default.createFile(atPath: Self.outputFolder + "/database-stopped", contents: nil)
            }
            if stopped && !started && FileManager.default.fileExists(atPath: Self.outputFolder + "/start-database") {
                _ = try cluster.cluster.start()
                started = FileManager.default.createFile(atPath: Self.outputFolder + "/database-started", contents: nil)
            }
            usleep(50_000)
        }
        let exit = child.waitForExit(timeoutSeconds: 1)
        let output = child.output
        #expect(exit == .exited(0), "the browser test failed (screenshots in \(Self.outputFolder)):\n\(output)")
        #expect(output.contains("DONE"), "\(output)")
        #expect(stopped && started, "the script asked for the database outage")
        print(output.split(separator: "\n").filter { $0.hasPrefix("STEP") || $0.hasPrefix("CONSOLE") }.joined(separator: "\n"))
    }

    struct Seeded {
        let adminPassword: String
        let userPassword: String
        let failedTask: Int64
        let hostileTask: Int64
    }

    /// Accounts, providers, tasks in every state (a failed transcription with its file, a failed
    /// task whose input, custom id and error are hostile markup, 60 tasks to page through, a
    /// paused type with a backlog, a webhook given up), and a day of per-minute history.
    static func seed(_ server: TaskDispatchServer, connectionString: String) throws -> Seeded {
        let accounts = server.accounts
        let adminPassword = try accounts.addUser(name: "root", isAdmin: true).appPassword
        let userPassword = try accounts.addUser(name: "alice", isAdmin: false).appPassword
        let secret = try accounts.addApp(appID: "worker")
        try TestServer.registerCoreProviders(server.catalog.store, appID: "worker")
        server.catalog.invalidate()
        let app = APIClient(port: server.port, caller: .user("alice", userPassword))
        let worker = APIClient(port: server.port, caller: .exApp("worker", secret, user: ""))
        let admin = APIClient(port: server.port, caller: .user("root", adminPassword))

        func claim(_ type: String) throws -> Int64 {
            let claimed = try worker.next(types: [type])
            guard let id = claimed.taskID else { throw TestFailure("claim answered \(claimed.status): \(claimed.bodyText)") }
            return id
        }
        func fail(_ id: Int64, _ message: String) throws {
            let result = try worker.call("POST", "tasks_provider/\(id)/result", json: ["errorMessage": .string(message)])
            guard result.status == 200 else { throw TestFailure("result answered \(result.status): \(result.bodyText)") }
        }

        // Finished and failed core:text2text tasks, one of them hostile.
        for index in 0..<4 {
            _ = try app.schedule("done \(index)")
            let id = try claim("core:text2text")
            _ = try worker.call("POST", "tasks_provider/\(id)/result", json: ["output": ["output": .string("ok \(index)")]])
        }
        _ = try app.schedule("fails")
        try fail(try claim("core:text2text"), "model crashed")
        let hostile = try app.call(
            "POST", "schedule",
            json: [
                "type": "core:text2text", "input": ["input": #"<img src=x onerror="window.__hostile = 1">"#], "appId": "hostile",
                "customId": "<script>window.__hostile = 2</script>",
            ])
        let hostileTask = try #require(hostile.taskID, "\(hostile.bodyText)")
        try fail(try claim("core:text2text"), "<svg onload=window.__hostile=3>")

        // A failed transcription with its input file.
        let fileID = try FileSupport.uploadedFileID(app, filename: "talk.ogg")
        let scheduled = try FileSupport.scheduleTranscription(app, fileID: fileID)
        let failedTask = try #require(scheduled.taskID, "\(scheduled.bodyText)")
        try fail(try claim("core:audio2text"), "model crashed")

        // A webhook given up (nothing listens on port 9), one running task, 60 to page through.
        let withHook = try app.call(
            "POST", "schedule",
            json: ["type": "core:text2text", "input": ["input": "hook"], "appId": "a", "webhookUri": "http://127.0.0.1:9/hook",
                   "webhookMethod": "HTTP:POST"])
        _ = try app.call("POST", "tasks/\(try #require(withHook.taskID))/cancel")
        _ = try app.schedule("running")
        _ = try claim("core:text2text")
        for index in 0..<60 { _ = try app.schedule("page \(index)", customID: "page-me") }

        // A paused type with a backlog: a warning on the overview.
        for _ in 0..<2 { _ = try app.schedule("picture", type: "core:text2image") }
        guard try admin.call("POST", "admin/types/core:text2image/pause").status == 200 else { throw TestFailure("pause") }

        // A day of history for the charts (the loop adds each minute from now on).
        let database = try PostgresConnection(connectionString: connectionString, logger: TestServer.silentLogger)
        defer { database.close() }
        let history: PostgresQuery = """
            INSERT INTO task_rollups (minute, type, scheduled, running, succeeded, failed, cancelled)
            SELECT date_trunc('minute', now()) - make_interval(mins => m), t.type,
                   (25 + 18 * sin(m / 9.0) + 6 * t.k)::bigint, (3 + t.k + m % 3)::bigint,
                   (30 + 10 * cos(m / 7.0) - 8 * t.k)::bigint, CASE WHEN m % 11 = 0 THEN 3 ELSE 0 END,
                   CASE WHEN m % 17 = 0 THEN 1 ELSE 0 END
            FROM generate_series(1, 1440) AS m,
                 (VALUES ('core:text2text', 0), ('core:text2image', 1), ('core:audio2text', 2)) AS t (type, k)
            -- The server's maintenance loop records the last minute too, and may come first.
            ON CONFLICT (minute, type) DO NOTHING
            """
        _ = try database.query(history)
        return Seeded(adminPassword: adminPassword, userPassword: userPassword, failedTask: failedTask, hostileTask: hostileTask)
    }
}
