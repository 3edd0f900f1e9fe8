import JSON
import TaskDispatchTesting
import Testing
@testable import TaskQueue

@Suite("Task dependencies in the store")
struct DependencyStoreTests {
    func schedule(
        _ store: StoreFixture, after predecessors: [Int64], policy: DependencyFailurePolicy = .cancel,
        input: JSONObject = ["input": "x"], references: [OutputReference] = []
    ) throws -> TaskRecord {
        try store.tasks.schedule(NewTask(
            type: "core:text2text", input: input, userID: "alice", appID: "app",
            dependencies: NewTaskDependencies(
                dependsOn: predecessors.map(TaskReference.task), policy: policy, references: references)))
    }

    func finish(_ store: StoreFixture, _ id: Int64, _ result: TaskResult = .success(output: ["output": "done"])) throws {
        // Claims whatever is claimable, then reports for the task asked for (claimed now or before).
        _ = try store.tasks.claim(types: ["core:text2text"], limit: 100, claimant: "w", leaseSeconds: 60)
        let claimed = try task(store, id)
        try #require(claimed.status == .running)
        _ = try store.tasks.reportResult(id: claimed.id, result: result, attempt: claimed.attempt)
    }

    func task(_ store: StoreFixture, _ id: Int64) throws -> TaskRecord {
        try #require(try store.tasks.task(id: id, userID: nil))
    }

    @Test("a successor waits, is never claimed while it waits, and is released by its last predecessor's success")
    func chainAndFanIn() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let first = try store.schedule()
        let second = try store.schedule()
        let successor = try schedule(store, after: [first.id, second.id])
        #expect(successor.status == .waiting)
        #expect(successor.waitingFor == [first.id, second.id])
        #expect(successor.dependsOn == [first.id, second.id])

        try finish(store, first.id)
        #expect(try task(store, successor.id).waitingFor == [second.id])
        #expect(try task(store, successor.id).status == .waiting)
        try finish(store, second.id)
        let released = try task(store, successor.id)
        #expect(released.status == .scheduled)
        // The edges stay while the successor runs (its dependencies are kept), and go when it ends.
        func edges() throws -> Int64? { try store.query("SELECT count(*) AS n FROM task_dependencies").rows.first?.int64("n") }
        #expect(try store.claimOne()?.id == successor.id)
        #expect(try edges() == 2)
        _ = try store.tasks.reportResult(id: successor.id, result: .success(output: ["output": "done"]))
        #expect(try edges() == 0)
    }

    @Test("a dependency that already succeeded is not waited for; one that already failed ends the task at once")
    func endedAtSchedule() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let done = try store.schedule()
        try finish(store, done.id)
        #expect(try schedule(store, after: [done.id]).status == .scheduled)

        let failed = try store.schedule()
        try finish(store, failed.id, .failure(errorMessage: "no", userFacingErrorMessage: nil))
        let cancelled = try schedule(store, after: [done.id, failed.id])
        #expect(cancelled.status == .cancelled)
        #expect(cancelled.errorMessage == "dependency \(failed.id) ended STATUS_FAILED")
        #expect(try schedule(store, after: [failed.id], policy: .fail).status == .failed)
        #expect(try schedule(store, after: [failed.id], policy: .run).status == .scheduled)

        // Ended as it was scheduled, it still owes its webhook.
        let notified = try store.tasks.schedule(NewTask(
            type: "core:text2text", input: ["input": "x"], userID: "alice", appID: "app", webhookURI: "https://example.com/done",
            dependencies: NewTaskDependencies(dependsOn: [.task(failed.id)])))
        #expect(notified.status == .cancelled)
        let owed = try store.query("SELECT count(*) AS n FROM webhook_deliveries WHERE task_id = $1", [notified.id])
        #expect(owed.rows.first?.int64("n") == 1)
    }

    @Test("a failure cascades down the graph by each successor's policy; 'run' successors are released once all ended")
    func cascade() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let root = try store.schedule()
        let other = try store.schedule()
        let cancelling = try schedule(store, after: [root.id])
        let failing = try schedule(store, after: [cancelling.id], policy: .fail)
        let deep = try schedule(store, after: [failing.id])
        let running = try schedule(store, after: [failing.id, other.id], policy: .run)

        try finish(store, root.id, .failure(errorMessage: "broken", userFacingErrorMessage: nil))
        #expect(try task(store, cancelling.id).status == .cancelled)
        #expect(try task(store, cancelling.id).errorMessage == "dependency \(root.id) ended STATUS_FAILED")
        #expect(try task(store, failing.id).status == .failed)
        #expect(try task(store, failing.id).errorMessage == "dependency \(cancelling.id) ended STATUS_CANCELLED")
        #expect(try task(store, deep.id).status == .cancelled)
        #expect(try task(store, deep.id).errorMessage == "dependency \(failing.id) ended STATUS_FAILED")
        #expect(try task(store, running.id).status == .waiting)
        #expect(try task(store, running.id).waitingFor == [other.id])
        try finish(store, other.id, .failure(errorMessage: "also", userFacingErrorMessage: nil))
        #expect(try task(store, running.id).status == .scheduled)
    }

    @Test("a retryable failure that will be retried keeps the successor waiting")
    func retryKeepsWaiting() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let first = try store.schedule()
        let successor = try schedule(store, after: [first.id])
        let claimed = try #require(try store.claimOne())
        _ = try store.tasks.reportResult(
            id: claimed.id, result: .retryableFailure(errorMessage: "busy", userFacingErrorMessage: nil), attempt: claimed.attempt,
            retryPolicy: RetryPolicy(maxAttempts: 3, baseDelaySeconds: 0, maxDelaySeconds: 0))
        #expect(try task(store, successor.id).status == .waiting)
        _ = try store.query("UPDATE tasks SET run_after = NULL WHERE id = $1", [first.id])
        try finish(store, first.id)
        #expect(try task(store, successor.id).status == .scheduled)
    }

    @Test("the lease reaper's final failure and a batch of results end predecessors like any result")
    func reaperAndBatchedResults() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let abandoned = try store.schedule()
        let waiting = try schedule(store, after: [abandoned.id])
        _ = try store.claimOne()
        _ = try store.query("UPDATE tasks SET lease_expires_at = now() - interval '1 second' WHERE id = $1", [abandoned.id])
        let sweep = try store.tasks.reapExpiredLeases(maxAttempts: 1)
        #expect(sweep.failed == [abandoned.id])
        #expect(try task(store, waiting.id).status == .cancelled)
        #expect(try task(store, waiting.id).errorMessage == "dependency \(abandoned.id) ended STATUS_FAILED")

        let first = try store.schedule()
        let second = try store.schedule()
        let successor = try schedule(store, after: [first.id, second.id])
        let claimed = try store.tasks.claim(types: ["core:text2text"], limit: 2, claimant: "w", leaseSeconds: 60)
        let outcomes = try store.tasks.reportResults(claimed.map { task in
            TaskReport(taskID: task.id, result: .success(output: ["output": "done"]), attempt: task.attempt)
        })
        #expect(outcomes.count == 2)
        #expect(try task(store, successor.id).status == .scheduled)
    }

    @Test("retention keeps a task a successor waits for; deleting it cancels the successor; cancelling a waiting task works")
    func retentionAndDeletion() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let done = try store.schedule()
        let pending = try store.schedule()
        try finish(store, done.id)
        let successor = try schedule(store, after: [done.id, pending.id])
        _ = try store.query("UPDATE tasks SET last_updated = now() - interval '1 day' WHERE id = $1", [done.id])
        #expect(try store.tasks.deleteFinishedTasks(olderThanSeconds: 60) == 0)
        #expect(try store.tasks.delete(id: pending.id, userID: "alice"))
        let cancelled = try task(store, successor.id)
        #expect(cancelled.status == .cancelled)
        #expect(cancelled.errorMessage == "dependency \(pending.id) was deleted")
        #expect(try store.tasks.deleteFinishedTasks(olderThanSeconds: 60) == 1)

        let another = try store.schedule()
        let waiting = try schedule(store, after: [another.id])
        guard case .cancelled(let task) = try store.tasks.cancel(id: waiting.id, userID: "alice") else {
            Issue.record("a waiting task could not be cancelled")
            return
        }
        #expect(task.status == .cancelled)
        try finish(store, another.id)
        #expect(try self.task(store, waiting.id).status == .cancelled)
    }

    @Test("a batch item may depend on earlier items; the whole graph is stored in one statement")
    func batchItems() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let ids = try store.tasks.allocateTaskIDs(3)
        func item(_ dependsOn: [TaskReference]) -> NewTask {
            NewTask(
                type: "core:text2text", input: ["input": "x"], userID: "alice", appID: "app",
                dependencies: dependsOn.isEmpty ? nil : NewTaskDependencies(dependsOn: dependsOn))
                .resolvingBatchItems(ids)
        }
        let stored = try store.tasks.schedule(
            batch: [item([]), item([.batchItem(0)]), item([.batchItem(0), .batchItem(1)])], ids: ids)
        #expect(stored.map(\.id) == ids)
        #expect(stored.map(\.status) == [.scheduled, .waiting, .waiting])
        try finish(store, ids[0])
        #expect(try task(store, ids[1]).status == .scheduled)
        #expect(try task(store, ids[2]).waitingFor == [ids[1]])
        try finish(store, ids[1])
        #expect(try task(store, ids[2]).status == .scheduled)
    }

    @Test("an operator's retry of a cancelled successor waits again for what did not succeed")
    func adminRetry() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let first = try store.schedule()
        let successor = try schedule(store, after: [first.id])
        try finish(store, first.id, .failure(errorMessage: "no", userFacingErrorMessage: nil))
        #expect(try task(store, successor.id).status == .cancelled)
        // Retrying the successor alone ends it again (its dependency is still failed) ...
        guard case .changed(let again) = try store.tasks.retry(id: successor.id) else {
            Issue.record("retry refused")
            return
        }
        #expect(again.status == .cancelled)
        // ... retrying the dependency first makes it wait, and the dependency's success releases it.
        _ = try store.tasks.retry(id: first.id)
        guard case .changed(let waiting) = try store.tasks.retry(id: successor.id) else {
            Issue.record("retry refused")
            return
        }
        #expect(waiting.status == .waiting)
        try finish(store, first.id)
        #expect(try task(store, successor.id).status == .scheduled)
    }

    @Test("references to outputs are replaced when the task is released, and a value that does not fit fails it")
    func outputReferences() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let catalog = ProviderCatalog(store: ProviderStore(pool: store.pool), logger: StoreFixture.logger)
        let resolver = InputResolver(store: store.tasks, catalog: catalog)
        let first = try store.schedule()
        let reference = OutputReference(inputKey: "input", task: .task(first.id), outputKey: "output")
        let successor = try schedule(store, after: [first.id], input: ["input": reference.json], references: [reference])
        #expect(successor.status == .waiting)
        try finish(store, first.id, .success(output: ["output": "the transcript"]))
        #expect(try task(store, successor.id).status == .waiting)
        #expect(try task(store, successor.id).waitingFor.isEmpty)
        let changed = try resolver.resolvePending()
        #expect(changed.map(\.id) == [successor.id])
        let released = try task(store, successor.id)
        #expect(released.status == .scheduled)
        #expect(released.input["input"] == "the transcript")

        let second = try store.schedule()
        let numberReference = OutputReference(inputKey: "input", task: .task(second.id), outputKey: "output")
        let unfit = try schedule(store, after: [second.id], input: ["input": numberReference.json], references: [numberReference])
        try finish(store, second.id, .success(output: ["output": .int(42)]))
        try resolver.resolvePending()
        let failed = try task(store, unfit.id)
        #expect(failed.status == .failed)
        #expect(failed.errorMessage?.contains("input 'input' was task \(second.id) output 'output': 42") == true)
    }
}
