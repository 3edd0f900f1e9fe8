import Foundation
import JSON
import TaskDispatchTesting
import Testing

/// The operator's routes under `admin/`, over HTTP against a real server and database.
@Suite("Admin task API over HTTP")
struct AdminTaskEndpointTests {
    typealias Support = EndpointSupport

    /// Schedules `count` tasks as alice, claims `claimed` of them as the worker and fails
    /// `failed` of those; returns the ids scheduled.
    func populate(_ server: TestServer, count: Int, claimed: Int, failed: Int) throws -> [Int64] {
        let app = server.client(server.alice)
        let worker = server.client(server.worker)
        let ids = try (0..<count).map { try app.schedule("task \($0)") }
        for index in 0..<claimed {
            let next = try worker.next()
            let id = try #require(next.taskID, "\(next.bodyText)")
            if index < failed {
                let result = try worker.call("POST", "tasks_provider/\(id)/result", json: ["errorMessage": "GPU fell over"])
                #expect(result.status == 200, "\(result.bodyText)")
            }
        }
        return ids
    }

    @Test("list with filters and cursor pages; task detail with its attempt history; retry and cancel with their 409s")
    func listDetailRetryCancel() throws {
        let server = try TestServer()
        defer { server.stop() }
        let ids = try populate(server, count: 12, claimed: 3, failed: 2)
        let admin = server.client(server.admin)

        var seen: [Int64] = []
        var path = "admin/tasks?limit=5"
        while true {
            let page = try admin.call("GET", path)
            #expect(page.status == 200, "\(page.bodyText)")
            seen += (page.data?["tasks"]?.arrayValue ?? []).compactMap { $0["id"]?.int64Value }
            guard let cursor = page.data?["nextCursor"]?.stringValue else { break }
            path = "admin/tasks?limit=5&cursor=\(cursor)"
        }
        #expect(seen == ids.sorted(by: >))

        let failed = try admin.call("GET", "admin/tasks?status=STATUS_FAILED&type=core:text2text&errorContains=gpu")
        let failedIDs = (failed.data?["tasks"]?.arrayValue ?? []).compactMap { $0["id"]?.int64Value }
        #expect(failedIDs.count == 2, "\(failed.bodyText)")
        #expect(failed.data?["tasks"]?.arrayValue?.first?["errorMessage"] == "GPU fell over")
        #expect(failed.data?["tasks"]?.arrayValue?.first?["exAppId"] == "worker")
        #expect(failed.data?["nextCursor"] == .null)

        let id = try #require(failedIDs.first)
        let detail = try admin.call("GET", "admin/tasks/\(id)")
        #expect(detail.status == 200)
        let attempts = detail.task?["attempts"]?.arrayValue ?? []
        #expect(attempts.count == 1)
        #expect(attempts.first?["outcome"] == "failed")
        #expect(attempts.first?["exAppId"] == "worker")
        #expect(attempts.first?["providerId"] == "core:text2text")
        #expect(attempts.first?["errorMessage"] == "GPU fell over")
        #expect(attempts.first?["claimedAt"]?.int64Value != nil && attempts.first?["endedAt"]?.int64Value != nil)

        let retried = try admin.call("POST", "admin/tasks/\(id)/retry")
        #expect(retried.status == 200, "\(retried.bodyText)")
        #expect(retried.task?["status"] == "STATUS_SCHEDULED")
        let again = try admin.call("POST", "admin/tasks/\(id)/retry")
        #expect(again.status == 409)
        #expect(again.message?.contains("STATUS_SCHEDULED") == true, "\(again.bodyText)")

        let running = try #require(try admin.call("GET", "admin/tasks?status=running").data?["tasks"]?.arrayValue?.first?["id"]?.int64Value)
        #expect(try admin.call("POST", "admin/tasks/\(running)/retry").status == 409, "retry of a running task")
        let cancelled = try admin.call("POST", "admin/tasks/\(running)/cancel")
        #expect(cancelled.task?["status"] == "STATUS_CANCELLED")
        #expect(try admin.call("GET", "admin/tasks/\(running)").task?["attempts"]?.arrayValue?.first?["outcome"] == "cancelled")
        #expect(try admin.call("POST", "admin/tasks/\(running)/cancel").status == 409)
        #expect(try admin.call("GET", "admin/tasks/999999").status == 404)
    }

    @Test("bulk retry and cancel: a dry run counts, the real run changes that many; a filter is required")
    func bulk() throws {
        let server = try TestServer()
        defer { server.stop() }
        _ = try populate(server, count: 10, claimed: 4, failed: 4)
        let admin = server.client(server.admin)
        let dry = try admin.call("POST", "admin/tasks/retry", json: ["status": ["STATUS_FAILED"], "dryRun": true])
        #expect(dry.data == ["matching": 4, "dryRun": true], "\(dry.bodyText)")
        #expect(try admin.call("GET", "admin/tasks?status=STATUS_FAILED").data?["tasks"]?.arrayValue?.count == 4)
        let done = try admin.call("POST", "admin/tasks/retry", json: ["errorContains": "GPU"])
        #expect(done.data == ["changed": 4, "dryRun": false], "\(done.bodyText)")
        let cancel = try admin.call("POST", "admin/tasks/cancel", json: ["type": "core:text2text"])
        #expect(cancel.data?["changed"] == 10)
        let everything = try admin.call("POST", "admin/tasks/cancel", json: [:])
        #expect(everything.status == 400)
        #expect(everything.message?.contains("at least one filter") == true)
    }

    @Test("pause keeps scheduling but stops claims; a waiting long poll gets the task when the type resumes")
    func pauseAndResume() throws {
        let server = try TestServer()
        defer { server.stop() }
        let admin = server.client(server.admin)
        let worker = server.client(server.worker)
        let paused = try admin.call("POST", "admin/types/core:text2text/pause")
        #expect(paused.data == ["type": "core:text2text", "paused": true, "maxRunning": .null], "\(paused.bodyText)")
        let id = try server.client(server.alice).schedule()
        #expect(try worker.next().status == 204)

        let types = try admin.call("GET", "admin/types")
        let text = (types.data?["types"]?.arrayValue ?? []).first { $0["type"] == "core:text2text" }
        #expect(text?["paused"] == true)
        #expect(text?["counts"]?["STATUS_SCHEDULED"] == 1)
        #expect(text?["providers"]?.arrayValue?.first?["appId"] == "worker")
        let warnings = try admin.call("GET", "admin/status").data?["warnings"]?.arrayValue ?? []
        #expect(warnings.contains { $0["code"] == "paused_type_waiting" && $0["type"] == "core:text2text" }, "\(warnings)")

        // A long poll parks on the paused type; resuming wakes it with the task.
        let poll = LongPoll(server, wait: 20)
        #expect(try Support.waitUntil(seconds: 10) { server.server.waitingLongPolls == 1 })
        let started = ContinuousClock.now
        #expect(try admin.call("POST", "admin/types/core:text2text/resume").data?["paused"] == false)
        let answer = try poll.response()
        #expect(answer.taskID == id, "\(answer.bodyText)")
        #expect(ContinuousClock.now - started < .seconds(10), "woken by the resume, not by the wait's end")
    }

    @Test("bad input: unknown filters and values 400 naming them, non-admins 403, unknown types 404, limits out of range 400")
    func badInput() throws {
        let server = try TestServer()
        defer { server.stop() }
        let admin = server.client(server.admin)
        let cases: [(String, String, JSONValue?, Int, String)] = [
            ("GET", "admin/tasks?colour=red", nil, 400, "'colour'"),
            ("GET", "admin/tasks?status=STATUS_DONE", nil, 400, "STATUS_DONE"),
            ("GET", "admin/tasks?limit=501", nil, 400, "limit"),
            ("GET", "admin/tasks?limit=0", nil, 400, "limit"),
            ("GET", "admin/tasks?cursor=abc", nil, 400, "cursor"),
            ("GET", "admin/tasks?scheduledAfter=yesterday", nil, 400, "scheduledAfter"),
            ("GET", "admin/tasks/abc", nil, 400, "positive integer"),
            ("POST", "admin/tasks/retry", ["status": "failed", "dryrun": true], 400, "'dryrun'"),
            ("POST", "admin/types/core:nope/pause", nil, 404, "core:nope"),
            ("PUT", "admin/types/core:text2text/limits", ["maxRunning": 0], 400, "maxRunning"),
            ("PUT", "admin/types/core:text2text/limits", ["maxRunning": 100_001], 400, "maxRunning"),
            ("PUT", "admin/types/core:text2text/limits", ["maxRunning": "many"], 400, "maxRunning"),
            ("PUT", "admin/types/core:text2text/limits", ["max": 3], 400, "'max'"),
            ("GET", "admin/stats?windowSeconds=0", nil, 400, "windowSeconds"),
            ("GET", "admin/stats?windowSeconds=99999999", nil, 400, "windowSeconds"),
        ]
        for (method, path, json, status, fragment) in cases {
            let response = try admin.call(method, path, json: json)
            #expect(response.status == status, "\(method) \(path): \(response.bodyText)")
            #expect(response.message?.contains(fragment) == true, "\(method) \(path): \(response.bodyText)")
        }
        #expect(try server.client(server.alice).call("GET", "admin/tasks").status == 403)
        #expect(try server.client(server.worker).call("POST", "admin/types/core:text2text/pause").status == 403)
        #expect(try server.client(.anonymous).call("GET", "admin/workers").status == 401)
        #expect(try admin.call("GET", "admin/types").data?["types"]?.arrayValue?.allSatisfy { $0["paused"] == false } == true,
                "refused requests changed nothing")
    }

    @Test("limits, statistics and workers: what the operator reads after known work")
    func limitsStatisticsWorkers() throws {
        let server = try TestServer()
        defer { server.stop() }
        let admin = server.client(server.admin)
        let limited = try admin.call("PUT", "admin/types/core:text2text/limits", json: ["maxRunning": 2])
        #expect(limited.data?["maxRunning"] == 2, "\(limited.bodyText)")
        _ = try populate(server, count: 5, claimed: 3, failed: 1)
        #expect(try server.client(server.worker).next().status == 204, "two running: the limit of 2 is reached")
        let cleared = try admin.call("PUT", "admin/types/core:text2text/limits", json: ["maxRunning": .null])
        #expect(cleared.data?["maxRunning"] == .null)
        #expect(try server.client(server.worker).next().status == 200)

        let stats = try admin.call("GET", "admin/stats?windowSeconds=600")
        let text = stats.data?["types"]?.arrayValue?.first
        #expect(text?["type"] == "core:text2text", "\(stats.bodyText)")
        #expect(text?["failed"] == 1 && text?["finished"] == 1 && text?["successRate"] == 0.0)
        #expect(text?["runSeconds"]?["max"]?.doubleValue != nil)

        var workers: JSONValue = .null
        #expect(try Support.waitUntil(seconds: 10) {
            workers = try admin.call("GET", "admin/workers").data?["workers"]?.arrayValue?.first ?? .null
            return workers["lastClaimAt"]?.int64Value != nil && workers["lastResultAt"]?.int64Value != nil
        }, "\(workers)")
        #expect(workers["appId"] == "worker")
        #expect(workers["runningTasks"] == 3)
        #expect(workers["longPollsWaiting"] == 0)
    }
}
