import Dispatch
import Foundation
import JSON
import Synchronization
import Testing
@testable import TaskQueue

@Suite("Batched results")
struct BatchedResultTests {
    @Test("each report in a batch gets the outcome it would get alone")
    func outcomesAsAlone() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let tasks = try (0..<6).map { _ in try store.schedule() }
        let waiting = try store.schedule()
        for _ in tasks { _ = try store.claimOne() }
        let stale = tasks[4]
        // The claim of tasks[4] expired and was granted again: attempt 1 is stale.
        _ = try store.query("UPDATE tasks SET attempt = 2 WHERE id = $1", [stale.id])

        let outcomes = try store.tasks.reportResults([
            TaskReport(taskID: tasks[0].id, result: .success(output: ["output": "zero"]), attempt: 1),
            TaskReport(taskID: tasks[1].id, result: .failure(errorMessage: "broken", userFacingErrorMessage: "Sorry"), attempt: nil),
            TaskReport(taskID: tasks[2].id, result: .retryableFailure(errorMessage: "busy", userFacingErrorMessage: nil), attempt: 1),
            TaskReport(taskID: tasks[0].id, result: .success(output: ["output": "again"]), attempt: 1),
            TaskReport(taskID: stale.id, result: .success(output: ["output": "stale"]), attempt: 1),
            TaskReport(taskID: waiting.id, result: .success(output: ["output": "never claimed"]), attempt: nil),
            TaskReport(taskID: 999_999, result: .success(output: [:]), attempt: nil),
            TaskReport(taskID: tasks[3].id, result: .success(output: ["output": "three"]), attempt: nil),
        ])
        let stored = try tasks.map { try #require(try store.tasks.task(id: $0.id, userID: nil)) }
        #expect(outcomes[0] == .accepted(stored[0]) && stored[0].output == ["output": "zero"] && stored[0].progress == 1)
        #expect(outcomes[1] == .accepted(stored[1]) && stored[1].status == .failed && stored[1].userFacingErrorMessage == "Sorry")
        #expect(outcomes[2] == .accepted(stored[2]) && stored[2].status == .scheduled, "retryable: back in the queue")
        #expect(outcomes[3] == .conflict(stored[0]), "the second report for one task loses to the first")
        #expect(outcomes[4] == .conflict(stored[4]) && stored[4].status == .running, "a stale claim changes nothing")
        let stillWaiting = try #require(try store.tasks.task(id: waiting.id, userID: nil))
        #expect(outcomes[5] == .conflict(stillWaiting) && stillWaiting.status == .scheduled)
        #expect(outcomes[6] == .notFound)
        #expect(outcomes[7] == .accepted(stored[3]) && stored[3].output == ["output": "three"])
        #expect(stored[5].status == .running, "a task the batch does not name is untouched")
    }

    @Test("overlapping batches in opposite orders finish every task once, without deadlock")
    func overlappingBatches() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let ids = try (0..<200).map { _ in try store.schedule().id }
        for _ in ids { _ = try store.claimOne() }
        let accepted = Mutex([Int64: Int]())
        let failures = Mutex([String]())
        let group = DispatchGroup()
        for worker in 0..<8 {
            group.enter()
            let order = worker % 2 == 0 ? ids : ids.reversed()
            let tasks = store.tasks
            Thread {
                defer { group.leave() }
                for chunk in stride(from: 0, to: order.count, by: 40).map({ Array(order[$0..<min($0 + 40, order.count)]) }) {
                    do {
                        let outcomes = try tasks.reportResults(chunk.map {
                            TaskReport(taskID: $0, result: .success(output: ["output": .string("w\(worker)")]), attempt: nil)
                        })
                        for (id, outcome) in zip(chunk, outcomes) {
                            if case .accepted = outcome { accepted.withLock { $0[id, default: 0] += 1 } }
                        }
                    } catch {
                        failures.withLock { $0.append("\(error)") }
                    }
                }
            }.start()
        }
        group.wait()
        #expect(failures.withLock { $0 } == [])
        let counts = accepted.withLock { $0 }
        #expect(counts.count == ids.count, "every task finished")
        #expect(counts.values.allSatisfy { $0 == 1 }, "no task finished twice")
        print("batched results, 8 overlapping workers: tasks=\(ids.count) finished=\(counts.count) duplicates=\(counts.values.filter { $0 > 1 }.count)")
    }
}
