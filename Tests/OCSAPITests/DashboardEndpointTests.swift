import Foundation
import JSON
import Postgres
import Testing
import TaskQueue

/// What the dashboard serves and the operator's routes it added, over real HTTP: the page and
/// its assets with their Content-Security-Policy, the 404 page, the per-minute history (written
/// by the maintenance loop, first process wins), webhook deliveries, and a task's files.
@Suite("Dashboard endpoints")
struct DashboardEndpointTests {
    typealias Support = EndpointSupport

    @Test("the page, script, style and icon are served with a CSP that allows only this origin's script and style; unknown paths get a 404 page")
    func assets() throws {
        let server = try TestServer()
        defer { server.stop() }
        let browser = server.client(.anonymous)
        for (path, type) in [
            ("/dashboard", "text/html"), ("/dashboard/", "text/html"), ("/dashboard/app.js", "text/javascript"),
            ("/dashboard/app.css", "text/css"), ("/dashboard/icon.svg", "image/svg+xml"),
        ] {
            let response = try browser.call("GET", path, ocsAPIRequest: false)
            #expect(response.status == 200, "\(path)")
            #expect(response.header("Content-Type")?.hasPrefix(type) == true, "\(path): \(response.header("Content-Type") ?? "")")
            let policy = response.header("Content-Security-Policy") ?? ""
            #expect(policy.contains("default-src 'none'") && policy.contains("script-src 'self';"), "\(path): \(policy)")
            #expect(!policy.contains("unsafe-inline") && !policy.contains("http"), "\(path): \(policy)")
            #expect(response.header("X-Content-Type-Options") == "nosniff" && response.header("X-Frame-Options") == "DENY")
        }
        let page = try browser.call("GET", "/dashboard", ocsAPIRequest: false).bodyText
        #expect(page.contains(#"<script src="/dashboard/app.js" defer></script>"#))
        #expect(!page.contains("<script>") && !page.contains("style="), "no inline script or style")
        #expect(page.firstMatch(of: /\son[a-z]+=/) == nil, "no inline event handler")

        for path in ["/dashboard/nope", "/dashboard/app.js/x", "/dashboard/%3Cscript%3E"] {
            let missing = try browser.call("GET", path, ocsAPIRequest: false)
            #expect(missing.status == 404, "\(path)")
            #expect(missing.header("Content-Type")?.hasPrefix("text/html") == true)
            #expect(missing.bodyText.contains("Not found") && !missing.bodyText.contains("script"), "\(path)")
            #expect(missing.header("Content-Security-Policy") != nil)
        }
        Support.expectOCSError(try browser.call("GET", "/dashboard/api/nope", ocsAPIRequest: false), status: 404)
        let post = try browser.call("POST", "/dashboard/app.js", ocsAPIRequest: false)
        Support.expectOCSError(post, status: 405)
        #expect(post.header("Content-Security-Policy") != nil)
        #expect(try browser.call("HEAD", "/dashboard", ocsAPIRequest: false).status == 200)
    }

    @Test("the maintenance loop records one rollup per type and minute; a second recording of a minute writes nothing; admin/history sums them in steps")
    func history() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        let worker = server.client(server.worker)
        _ = try Support.successfulTask(app, worker)
        _ = try Support.failedTask(app, worker)
        _ = try Support.cancelledTask(app)
        _ = try Support.runningTask(app, worker)
        _ = try app.schedule()

        let database = try server.database()
        defer { database.close() }
        // The loop (every 0.2 s here) records the minute that ended, with the counts of now.
        let recorded = try Support.waitUntil(seconds: 10) {
            try database.query("SELECT count(*) AS n FROM task_rollups").rows.first?.int64("n") ?? 0 > 0
        }
        #expect(recorded, "the maintenance loop recorded no rollup")

        // The minutes in which the tasks ended, recorded here (each minute once: the loop may
        // have recorded the last one already, when they did not end in the current minute).
        try server.server.tasks.foldCountDeltas()
        let minutes = try database.query(
            "SELECT DISTINCT (floor(extract(epoch FROM ended_at) / 60) * 60)::bigint AS m FROM tasks WHERE ended_at IS NOT NULL"
        ).rows.compactMap { $0.int64("m") }
        _ = try database.query("DELETE FROM task_rollups")
        for minute in minutes {
            #expect(try server.server.tasks.recordRollup(minute: minute) == 1, "one type counted")
            #expect(try server.server.tasks.recordRollup(minute: minute) == 0, "the minute is recorded once")
        }
        let rows = try database.query("SELECT scheduled, running, succeeded, failed, cancelled FROM task_rollups").rows
        #expect(rows.allSatisfy { $0.int64("scheduled") == 1 && $0.int64("running") == 1 })
        #expect(rows.map { $0.int64("succeeded") ?? 0 }.reduce(0, +) == 1)
        #expect(rows.map { $0.int64("failed") ?? 0 }.reduce(0, +) == 1)
        #expect(rows.map { $0.int64("cancelled") ?? 0 }.reduce(0, +) == 1)

        let history = try server.client(server.admin).call("GET", "admin/history?seconds=86400&stepSeconds=3600")
        #expect(history.status == 200, "\(history.bodyText)")
        let types = try #require(history.data?["types"]?.arrayValue)
        #expect(types.count == 1 && types.first?["type"] == "core:text2text", "\(history.bodyText)")
        let points = types.first?["points"]?.arrayValue ?? []
        #expect(points.compactMap { $0["succeeded"]?.int64Value }.reduce(0, +) == 1)
        #expect(points.compactMap { $0["failed"]?.int64Value }.reduce(0, +) == 1)
        #expect(points.allSatisfy { $0["scheduled"] == 1 && ($0["time"]?.int64Value ?? 1) % 3600 == 0 }, "\(history.bodyText)")

        for bad in ["seconds=10", "stepSeconds=90", "stepSeconds=0", "seconds=99999999", "window=1"] {
            Support.expectOCSError(try server.client(server.admin).call("GET", "admin/history?\(bad)"), status: 400)
        }
        Support.expectOCSError(try server.client(server.alice).call("GET", "admin/history"), status: 403)

        _ = try database.query("UPDATE task_rollups SET minute = minute - interval '8 days'")
        #expect(try server.server.tasks.deleteOldRollups(retentionSeconds: 604_800) == minutes.count)
    }

    @Test("admin/webhooks lists deliveries newest first with their last error, by state and task, in keyset pages")
    func webhooks() throws {
        let server = try TestServer {
            $0.webhookAllowPrivateTargets = true
            $0.webhookMaxAttempts = 1
            $0.webhookPollSeconds = 0.1
            $0.webhookTimeoutSeconds = 2
        }
        defer { server.stop() }
        let app = server.client(server.alice)
        var ids: [Int64] = []
        for index in 0..<3 {
            // Port 9 on loopback: nothing listens, every call fails at once.
            let scheduled = try app.call(
                "POST", "schedule",
                json: [
                    "type": "core:text2text", "input": ["input": .string("w\(index)")], "appId": "a",
                    "webhookUri": "http://127.0.0.1:9/hook", "webhookMethod": "HTTP:POST",
                ])
            let id = try #require(scheduled.taskID, "\(scheduled.bodyText)")
            #expect(try app.call("POST", "tasks/\(id)/cancel").status == 200)
            ids.append(id)
        }
        let admin = server.client(server.admin)
        let givenUp = try Support.waitUntil(seconds: 15) {
            try admin.call("GET", "admin/webhooks?state=failed").data?["deliveries"]?.arrayValue?.count == 3
        }
        #expect(givenUp, "three deliveries given up")
        let failed = try admin.call("GET", "admin/webhooks?state=failed&limit=2")
        let page = try #require(failed.data?["deliveries"]?.arrayValue)
        #expect(page.map { $0["taskId"]?.int64Value } == [ids[2], ids[1]], "\(failed.bodyText)")
        #expect(page.allSatisfy { $0["state"] == "failed" && $0["attempts"] == 1 && $0["lastError"]?.stringValue?.isEmpty == false })
        #expect(page.first?["uri"] == "http://127.0.0.1:9/hook" && page.first?["method"] == "HTTP:POST")
        let before = try #require(failed.data?["nextBefore"]?.int64Value)
        let rest = try admin.call("GET", "admin/webhooks?state=failed&limit=2&before=\(before)")
        #expect(rest.data?["deliveries"]?.arrayValue?.map { $0["taskId"]?.int64Value } == [ids[0]])
        #expect(rest.data?["nextBefore"] == .null)
        let one = try admin.call("GET", "admin/webhooks?taskId=\(ids[1])")
        #expect(one.data?["deliveries"]?.arrayValue?.count == 1)
        #expect(try admin.call("GET", "admin/webhooks?state=pending").data?["deliveries"]?.arrayValue?.isEmpty == true)
        for bad in ["state=lost", "taskId=0", "limit=0", "before=x", "uri=x"] {
            Support.expectOCSError(try admin.call("GET", "admin/webhooks?\(bad)"), status: 400)
        }
        Support.expectOCSError(try app.call("GET", "admin/webhooks"), status: 403)
    }

    @Test("a task's detail lists its files, which administrators download whoever owns the task")
    func taskFiles() throws {
        let server = try TestServer()
        defer { server.stop() }
        let alice = server.client(server.alice)
        let fileID = try FileSupport.uploadedFileID(alice, filename: "talk.ogg")
        let scheduled = try FileSupport.scheduleTranscription(alice, fileID: fileID)
        let taskID = try #require(scheduled.taskID, "\(scheduled.bodyText)")
        let admin = server.client(server.admin)
        let detail = try admin.call("GET", "admin/tasks/\(taskID)")
        let files = try #require(detail.task?["files"]?.arrayValue, "\(detail.bodyText)")
        #expect(files.count == 1)
        #expect(files.first?["id"]?.int64Value == fileID && files.first?["name"] == "talk.ogg")
        #expect(files.first?["size"]?.int64Value == Int64(FileSupport.binary.count))
        let download = try admin.call("GET", "admin/tasks/\(taskID)/file/\(fileID)")
        #expect(download.status == 200 && download.body == FileSupport.binary)
        #expect(download.header("Content-Disposition")?.contains("talk.ogg") == true)
        Support.expectOCSError(try admin.call("GET", "admin/tasks/\(taskID)/file/\(fileID + 1)"), status: 404)
        Support.expectOCSError(try admin.call("GET", "admin/tasks/\(taskID + 1)/file/\(fileID)"), status: 404)
        Support.expectOCSError(try server.client(server.bob).call("GET", "admin/tasks/\(taskID)/file/\(fileID)"), status: 403)
    }
}
