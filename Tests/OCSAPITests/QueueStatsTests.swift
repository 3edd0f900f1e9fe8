import Foundation
import JSON
import Testing

/// `GET queue_stats`: scheduled and running counts per requested types, from the counters.
@Suite("queue_stats over HTTP")
struct QueueStatsTests {
    typealias Support = EndpointSupport

    @Test("counts scheduled and running tasks of the named types, or of all types when none is named")
    func counts() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        let worker = server.client(server.worker)
        _ = try Support.successfulTask(app, worker)
        _ = try Support.cancelledTask(app)
        for _ in 0..<4 { _ = try app.schedule() }
        for _ in 0..<2 { _ = try app.schedule(type: "core:text2text:summary") }
        #expect(try worker.next().status == 200)

        let text = try worker.call("GET", "queue_stats", json: ["taskTypeIds": ["core:text2text"]])
        #expect(text.status == 200, "\(text.bodyText)")
        #expect(text.data == ["scheduled": 3, "running": 1, "scheduled_count": 3, "running_count": 1])
        let both = try worker.call("GET", "queue_stats?taskTypeIds[]=core:text2text&taskTypeIds[]=core:text2text:summary")
        #expect(both.data == ["scheduled": 5, "running": 1, "scheduled_count": 5, "running_count": 1])
        #expect(try worker.call("GET", "queue_stats").data == ["scheduled": 5, "running": 1, "scheduled_count": 5, "running_count": 1])
        #expect(try worker.call("GET", "queue_stats", json: ["taskTypeIds": ["vendor:none"]]).data == ["scheduled": 0, "running": 0, "scheduled_count": 0, "running_count": 0])
        #expect(try server.client(server.admin).call("GET", "queue_stats").data == ["scheduled": 5, "running": 1, "scheduled_count": 5, "running_count": 1])
    }

    @Test("users who are not administrators get 403; a bad list is 400")
    func refusals() throws {
        let server = try TestServer()
        defer { server.stop() }
        Support.expectOCSError(
            try server.client(server.alice).call("GET", "queue_stats"), status: 403, mentioning: ["ExApps and administrators"])
        Support.expectOCSError(
            try server.client(server.worker).call("GET", "queue_stats", json: ["taskTypeIds": [1]]), status: 400,
            mentioning: ["taskTypeIds"])
    }
}
