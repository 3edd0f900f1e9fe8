import JSON
import Testing
@testable import TaskQueue

@Suite("Progress, results, cancel, delete")
struct ReportTests {
    @Test("a result is recorded once; later results conflict and change nothing")
    func resultOnce() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let task = try store.schedule()
        #expect(try store.tasks.reportResult(id: task.id, result: .success(output: ["output": "early"])) == .conflict(task))
        _ = try store.claimOne()
        guard case .accepted(let done) = try store.tasks.reportResult(id: task.id, result: .success(output: ["output": "one"])) else {
            Issue.record("first result refused")
            return
        }
        #expect(done.status == .successful)
        #expect(done.progress == 1)
        #expect(done.output == ["output": "one"])
        #expect(try store.tasks.reportResult(id: task.id, result: .success(output: ["output": "two"])) == .conflict(done))
        #expect(try store.tasks.reportResult(id: task.id, result: .failure(errorMessage: "x", userFacingErrorMessage: nil)) == .conflict(done))
        #expect(try store.tasks.reportProgress(id: task.id, progress: 0.5) == .conflict(done))
        #expect(try store.tasks.task(id: task.id, userID: "alice") == done)
        #expect(try store.tasks.reportResult(id: 999_999, result: .success(output: [:])) == .notFound)
    }

    @Test("a failure keeps both messages and the progress reached")
    func failure() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let task = try store.schedule()
        _ = try store.claimOne()
        _ = try store.tasks.reportProgress(id: task.id, progress: 0.4)
        guard case .accepted(let failed) = try store.tasks.reportResult(
            id: task.id, result: .failure(errorMessage: "GPU on fire", userFacingErrorMessage: "Try later"))
        else {
            Issue.record("failure refused")
            return
        }
        #expect(failed.status == .failed)
        #expect(failed.errorMessage == "GPU on fire")
        #expect(failed.userFacingErrorMessage == "Try later")
        #expect(failed.progress == 0.4)
        #expect(failed.output == nil)
        #expect(failed.endedAt != nil)
    }

    @Test("progress on a cancelled task answers with the task unchanged")
    func progressAfterCancel() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let task = try store.schedule()
        _ = try store.claimOne()
        guard case .cancelled(let cancelled) = try store.tasks.cancel(id: task.id, userID: "alice") else {
            Issue.record("cancel failed")
            return
        }
        #expect(cancelled.status == .cancelled)
        #expect(try store.tasks.reportProgress(id: task.id, progress: 0.9) == .unchanged(cancelled))
        #expect(try store.tasks.reportResult(id: task.id, result: .success(output: [:])) == .conflict(cancelled))
        // Cancelling again, or someone else's cancel, changes nothing.
        #expect(try store.tasks.cancel(id: task.id, userID: "alice") == .unchanged(cancelled))
        #expect(try store.tasks.cancel(id: task.id, userID: "bob") == .notFound)
    }

    @Test("a cancelled scheduled task is never claimed")
    func cancelBeforeClaim() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let task = try store.schedule()
        _ = try store.tasks.cancel(id: task.id, userID: "alice")
        #expect(try store.claimOne() == nil)
    }

    @Test("users see, list and delete only their own tasks")
    func ownership() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let alices = try store.schedule(user: "alice")
        let bobs = try store.schedule("core:text2text:summary", user: "bob")
        #expect(try store.tasks.task(id: alices.id, userID: "bob") == nil)
        #expect(try store.tasks.tasks(userID: "alice", type: nil, customID: nil).map(\.id) == [alices.id])
        #expect(try store.tasks.tasks(userID: "bob", type: "core:text2text", customID: nil).isEmpty)
        #expect(try store.tasks.tasks(userID: "bob", appID: "app", customID: "").map(\.id) == [bobs.id])
        #expect(try !store.tasks.delete(id: alices.id, userID: "bob"))
        #expect(try store.tasks.delete(id: alices.id, userID: "alice"))
        #expect(try store.tasks.task(id: alices.id, userID: nil) == nil)
    }

    @Test("input survives the round trip with types and key order")
    func inputRoundTrip() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let input: JSONObject = ["b": 1, "a": "ü\u{1F600}\\\"", "list": [1, "two", 3.5], "nested": ["x": .null]]
        let task = try store.tasks.schedule(NewTask(type: "core:text2text", input: input, userID: "alice", appID: "app"))
        let read = try #require(try store.tasks.task(id: task.id, userID: "alice"))
        #expect(read.input == input)
        #expect(read.input.keys == ["b", "a", "list", "nested"])
    }
}
