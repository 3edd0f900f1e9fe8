import JSON
import Testing

@Suite("Lifecycle over HTTP")
struct LifecycleFlowTests {
    @Test("an app schedules, a worker claims, reports progress and a result, the app reads it")
    func fullFlow() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        let worker = server.client(server.worker)

        let id = try app.schedule("Say hi", customID: "c-1")
        let claimed = try worker.next()
        #expect(claimed.status == 200)
        #expect(claimed.taskID == id)
        #expect(claimed.task?["status"] == "STATUS_RUNNING")
        #expect(claimed.task?["startedAt"]?.int64Value != nil)
        #expect(claimed.data?["provider"]?["name"] == "core:text2text")

        let progress = try worker.call("POST", "tasks_provider/\(id)/progress", json: ["taskId": .int(id), "progress": 0.25])
        #expect(progress.status == 200)
        #expect(progress.task?["progress"] == 0.25)

        let result = try worker.call("POST", "tasks_provider/\(id)/result", json: ["output": ["output": "hi!"]])
        #expect(result.status == 200)
        #expect(result.task?["status"] == "STATUS_SUCCESSFUL")
        #expect(result.task?["progress"] == 1.0)

        let read = try app.call("GET", "task/\(id)")
        #expect(read.status == 200)
        #expect(read.task?["output"] == ["output": "hi!"])
        #expect(read.task?["customId"] == "c-1")
        #expect(read.task?["endedAt"]?.int64Value != nil)

        // Nothing left to claim: 204 with an empty body.
        let empty = try worker.next()
        #expect(empty.status == 204)
        #expect(empty.body.isEmpty)
    }
}
