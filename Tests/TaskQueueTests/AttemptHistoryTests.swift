import TaskDispatchTesting
import Testing
@testable import TaskQueue

@Suite("Attempt history")
struct AttemptHistoryTests {
    func expireLease(_ store: StoreFixture, _ id: Int64) throws {
        _ = try store.query("UPDATE tasks SET lease_expires_at = now() - interval '1 second' WHERE id = $1", [id])
    }

    func claim(_ store: StoreFixture, provider: String? = "provider-a") throws -> TaskRecord {
        try #require(try store.tasks.claim(
            types: ["core:text2text"], limit: 1, claimant: "ex-app", leaseSeconds: 60,
            providers: provider.map { ["core:text2text": $0] } ?? [:]).first)
    }

    @Test("every way an attempt ends is recorded once, with its ExApp, provider and error; the running one shows last")
    func everyOutcome() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let policy = RetryPolicy(maxAttempts: 3, baseDelaySeconds: 0, maxDelaySeconds: 0)
        let task = try store.schedule()

        // 1: retryable failure -> retried; 2: lease expiry -> lease_expired; 3: running.
        let first = try claim(store)
        _ = try store.tasks.reportResult(
            id: task.id, result: .retryableFailure(errorMessage: "model busy", userFacingErrorMessage: nil), attempt: first.attempt,
            retryPolicy: policy)
        _ = try store.query("UPDATE tasks SET run_after = NULL WHERE id = $1", [task.id])
        _ = try claim(store)
        try expireLease(store, task.id)
        _ = try store.tasks.reapExpiredLeases(maxAttempts: 3)
        let third = try claim(store)

        let history = try store.tasks.attempts(taskID: task.id)
        #expect(history.map(\.outcome) == [.retried, .leaseExpired, .running])
        #expect(history.map(\.attempt) == [1, 2, 3])
        #expect(history.allSatisfy { $0.exAppID == "ex-app" && $0.providerID == "provider-a" && $0.claimedAt != nil })
        #expect(history[0].errorMessage == "model busy")
        #expect(history[2].endedAt == nil)

        // 3 ends in failure: the last allowed retryable failure fails the task and is `failed`.
        _ = try store.tasks.reportResult(
            id: task.id, result: .retryableFailure(errorMessage: "still busy", userFacingErrorMessage: nil), attempt: third.attempt,
            retryPolicy: policy)
        let ended = try store.tasks.attempts(taskID: task.id)
        #expect(ended.map(\.outcome) == [.retried, .leaseExpired, .failed])
        #expect(ended[2].errorMessage == "still busy")
        #expect(try store.tasks.task(id: task.id, userID: nil)?.status == .failed)
    }

    @Test("success, plain failure, batched results, cancel and lease exhaustion each end their attempt")
    func finalOutcomes() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let succeeded = try store.schedule()
        _ = try claim(store)
        _ = try store.tasks.reportResult(id: succeeded.id, result: .success(output: ["output": "ok"]))

        let failed = try store.schedule()
        _ = try claim(store)
        let batched = try store.schedule()
        _ = try claim(store)
        _ = try store.tasks.reportResults([
            TaskReport(taskID: failed.id, result: .failure(errorMessage: "broken", userFacingErrorMessage: nil)),
            TaskReport(taskID: batched.id, result: .success(output: ["output": "ok"])),
        ])

        let cancelled = try store.schedule()
        _ = try claim(store)
        _ = try store.tasks.cancel(id: cancelled.id, owner: .user("alice"))

        let exhausted = try store.schedule()
        _ = try claim(store, provider: nil)
        try expireLease(store, exhausted.id)
        #expect(try store.tasks.reapExpiredLeases(maxAttempts: 1).failed == [exhausted.id])

        let neverClaimed = try store.schedule()
        _ = try store.tasks.cancel(id: neverClaimed.id, owner: .user("alice"))

        let outcomes = try [succeeded, failed, batched, cancelled, exhausted, neverClaimed].map {
            try store.tasks.attempts(taskID: $0.id).map(\.outcome)
        }
        #expect(outcomes == [[.succeeded], [.failed], [.succeeded], [.cancelled], [.leaseExpired], []])
        #expect(try store.tasks.attempts(taskID: failed.id).first?.errorMessage == "broken")
        #expect(try store.tasks.attempts(taskID: exhausted.id).first?.providerID == nil)
    }

    @Test("a result or a progress report writes no history row (the task's row tells); a requeue does, and goes with its task")
    func cheapResultsAndDeletion() throws {
        let store = try StoreFixture()
        defer { store.close() }
        func rows() throws -> Int64? { try store.query("SELECT count(*) AS n FROM task_attempts").rows.first?.int64("n") }
        let task = try store.schedule()
        _ = try claim(store)
        _ = try store.tasks.reportProgress(id: task.id, progress: 0.5)
        _ = try store.tasks.reportResult(id: task.id, result: .success(output: ["output": "ok"]))
        #expect(try rows() == 0)
        #expect(try store.tasks.attempts(taskID: task.id).map(\.outcome) == [.succeeded])

        let retried = try store.schedule()
        let claimed = try claim(store)
        _ = try store.tasks.reportResult(
            id: retried.id, result: .retryableFailure(errorMessage: "busy", userFacingErrorMessage: nil), attempt: claimed.attempt,
            retryPolicy: RetryPolicy(maxAttempts: 3, baseDelaySeconds: 0, maxDelaySeconds: 0))
        #expect(try rows() == 1)
        try store.tasks.delete(id: retried.id, owner: .user("alice"))
        #expect(try rows() == 0, "deleting the task deletes its history")
    }
}
