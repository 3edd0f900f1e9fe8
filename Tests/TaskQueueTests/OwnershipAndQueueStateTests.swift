import JSON
import TaskDispatchTesting
import Testing
@testable import TaskQueue

/// Task ownership by user or by app (for tasks without a user), the ready-task probe behind
/// `has_more`, and the queue counts behind `queue_stats`.
@Suite("Ownership and queue state")
struct OwnershipAndQueueStateTests {
    @Test("an app's task without a user is seen, cancelled and deleted only by that app")
    func appOwnership() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let appTask = try store.tasks.schedule(NewTask(type: "core:text2text", input: ["input": "x"], userID: nil, appID: "a"))
        let alices = try store.tasks.schedule(NewTask(type: "core:text2text", input: ["input": "y"], userID: "alice", appID: "a"))

        #expect(try store.tasks.task(id: appTask.id, owner: .app("a")) == appTask)
        for outsider: TaskOwner in [.app("b"), .user("alice"), .user("a")] {
            #expect(try store.tasks.task(id: appTask.id, owner: outsider) == nil)
            #expect(try store.tasks.cancel(id: appTask.id, owner: outsider) == .notFound)
            #expect(try !store.tasks.delete(id: appTask.id, owner: outsider))
        }
        #expect(try store.tasks.task(id: alices.id, owner: .app("a")) == nil)
        #expect(try store.tasks.task(id: alices.id, owner: .user("alice")) == alices)

        guard case .cancelled(let cancelled) = try store.tasks.cancel(id: appTask.id, owner: .app("a")) else {
            Issue.record("the owning app could not cancel its task")
            return
        }
        #expect(cancelled.status == .cancelled)
        #expect(try store.tasks.delete(id: appTask.id, owner: .app("a")))
        #expect(try store.tasks.task(id: appTask.id, owner: .app("a")) == nil)
    }

    @Test("hasReadyTask sees ready tasks of the given types only; queueCounts reads the counters")
    func queueState() throws {
        let store = try StoreFixture()
        defer { store.close() }
        #expect(try !store.tasks.hasReadyTask(types: ["core:text2text"]))
        #expect(try !store.tasks.hasReadyTask(types: []))
        for _ in 0..<3 { _ = try store.schedule() }
        _ = try store.schedule("core:text2text:summary")
        #expect(try store.tasks.hasReadyTask(types: ["core:text2text"]))
        _ = try store.tasks.claim(types: ["core:text2text"], limit: 2, claimant: "w", leaseSeconds: 60)
        #expect(try store.tasks.queueCounts(types: ["core:text2text"]) == QueueCounts(scheduled: 1, running: 2))
        #expect(try store.tasks.queueCounts(types: []) == QueueCounts(scheduled: 2, running: 2))
        try store.tasks.foldCountDeltas()
        #expect(try store.tasks.queueCounts(types: ["core:text2text", "core:text2text:summary"]) == QueueCounts(scheduled: 2, running: 2))
        _ = try store.tasks.claim(types: ["core:text2text"], limit: 5, claimant: "w", leaseSeconds: 60)
        #expect(try !store.tasks.hasReadyTask(types: ["core:text2text"]))
        #expect(try store.tasks.hasReadyTask(types: ["core:text2text", "core:text2text:summary"]))
        #expect(try store.tasks.queueCounts(types: ["vendor:none"]) == QueueCounts(scheduled: 0, running: 0))
    }
}
