import TaskDispatchTesting
import Testing
@testable import TaskQueue

@Suite("Status counters")
struct StatisticsTests {
    @Test("counts by type and status follow every change, before and after folding")
    func counts() throws {
        let store = try StoreFixture()
        defer { store.close() }
        for _ in 0..<5 { try store.schedule("core:text2text") }
        for _ in 0..<3 { try store.schedule("core:text2text:summary") }
        let claimed = try store.tasks.claim(types: ["core:text2text"], limit: 2, claimant: "w", leaseSeconds: 60)
        _ = try store.tasks.reportResult(id: claimed[0].id, result: .success(output: [:]))
        let summary = try #require(try store.tasks.tasks(userID: "alice", type: "core:text2text:summary", customID: nil).first)
        _ = try store.tasks.cancel(id: summary.id, userID: "alice")
        _ = try store.tasks.delete(id: summary.id, userID: "alice")

        let expected: [String: [TaskStatus: Int64]] = [
            "core:text2text": [.scheduled: 3, .running: 1, .successful: 1],
            "core:text2text:summary": [.scheduled: 2],
        ]
        #expect(try store.tasks.statistics().counts == expected)
        try store.tasks.foldCountDeltas()
        #expect(try store.query("SELECT count(*) AS n FROM task_count_deltas")[0].int64("n") == 0)
        #expect(try store.tasks.statistics().counts == expected)
        try store.tasks.foldCountDeltas()
        #expect(try store.tasks.statistics().counts == expected)
        #expect(try store.tasks.statistics().totals == [.scheduled: 5, .running: 1, .successful: 1])
    }

    @Test("folding from many threads while tasks change never loses or doubles a count")
    func concurrentFolds() throws {
        let store = try StoreFixture()
        defer { store.close() }
        onThreads(6) { index in
            for _ in 0..<100 {
                if index < 3 {
                    _ = try? store.schedule()
                } else {
                    try? store.tasks.foldCountDeltas()
                }
            }
        }
        try store.tasks.foldCountDeltas()
        let stats = try store.tasks.statistics()
        let actual = try store.query("SELECT count(*) AS n FROM tasks")[0].int64("n")
        #expect(actual == 300)
        #expect(stats.counts["core:text2text"]?[.scheduled] == actual)
    }

    @Test("the age of the oldest waiting task")
    func oldestAge() throws {
        let store = try StoreFixture()
        defer { store.close() }
        #expect(try store.tasks.statistics().oldestScheduledAgeSeconds == nil)
        let task = try store.schedule()
        _ = try store.query("UPDATE tasks SET scheduled_at = now() - interval '90 seconds' WHERE id = $1", [task.id])
        try store.schedule()
        let age = try #require(try store.tasks.statistics().oldestScheduledAgeSeconds)
        #expect((90...95).contains(age))
    }
}
