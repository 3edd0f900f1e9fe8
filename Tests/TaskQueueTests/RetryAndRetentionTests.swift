import Testing
@testable import TaskQueue

@Suite("Retries, delays and retention")
struct RetryAndRetentionTests {
    let policy = RetryPolicy(maxAttempts: 3, baseDelaySeconds: 40, maxDelaySeconds: 60)

    /// Seconds until `task` may be claimed, as stored.
    func delay(_ task: TaskRecord) throws -> Int64 {
        try #require(task.runAfter) - task.lastUpdated
    }

    func makeDue(_ store: StoreFixture, _ id: Int64) throws {
        _ = try store.query("UPDATE tasks SET run_after = now() - interval '1 second' WHERE id = $1", [id])
        #expect(try store.tasks.releaseDueTasks() == 1)
    }

    @Test("a retryable failure requeues the task after a growing, capped, jittered backoff, then fails it")
    func backoff() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let task = try store.schedule()
        // Expected delay ranges per attempt: base * 2^(n-1) capped at 60, times [0.5, 1].
        for (attempt, range): (Int, ClosedRange<Int64>) in [(1, 19...41), (2, 29...61)] {
            let claimed = try #require(try store.claimOne())
            #expect(claimed.attempt == attempt)
            guard case .accepted(let requeued) = try store.tasks.reportResult(
                id: task.id, result: .retryableFailure(errorMessage: "busy", userFacingErrorMessage: nil),
                attempt: attempt, retryPolicy: policy)
            else {
                Issue.record("retryable failure refused")
                return
            }
            #expect(requeued.status == .scheduled)
            let waited = try delay(requeued)
            #expect(range.contains(waited), "attempt \(attempt): delay \(waited)")
            #expect(requeued.errorMessage == "busy")
            #expect(try store.claimOne() == nil, "a backing-off task is not claimable")
            try makeDue(store, task.id)
        }
        let last = try #require(try store.claimOne())
        #expect(last.attempt == 3)
        guard case .accepted(let failed) = try store.tasks.reportResult(
            id: task.id, result: .retryableFailure(errorMessage: "still busy", userFacingErrorMessage: "Try later"),
            attempt: 3, retryPolicy: policy)
        else {
            Issue.record("last failure refused")
            return
        }
        #expect(failed.status == .failed)
        #expect(failed.runAfter == nil)
        #expect(failed.endedAt != nil)
        #expect(failed.userFacingErrorMessage == "Try later")
    }

    @Test("a task scheduled for later is claimable only once its time has come; priority orders ready tasks")
    func delayedAndPriority() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let now = try #require(try store.query("SELECT floor(extract(epoch FROM now()))::bigint AS t")[0].int64("t"))
        let later = try store.tasks.schedule(NewTask(
            type: "core:text2text", input: [:], userID: "alice", appID: "app", runAfter: now + 3600))
        let past = try store.tasks.schedule(NewTask(
            type: "core:text2text", input: [:], userID: "alice", appID: "app", runAfter: now - 10))
        let urgent = try store.tasks.schedule(NewTask(
            type: "core:text2text", input: [:], userID: "alice", appID: "app", priority: 9))
        #expect(later.runAfter == now + 3600)
        #expect(past.runAfter == nil)
        #expect(try store.tasks.releaseDueTasks() == 0)
        #expect(try store.claimOne()?.id == urgent.id)
        #expect(try store.claimOne()?.id == past.id)
        #expect(try store.claimOne() == nil)
        try makeDue(store, later.id)
        #expect(try store.claimOne()?.id == later.id)
    }

    @Test("retention deletes old finished tasks in batches, with their keys, and keeps everything else")
    func retention() throws {
        let store = try StoreFixture()
        defer { store.close() }
        _ = try store.query("""
            INSERT INTO tasks (type, user_id, app_id, input, status, allow_cleanup, last_updated)
            SELECT 'core:text2text', 'alice', 'app', '{}', s.status, s.cleanup, now() - s.age
            FROM (VALUES (3, true, interval '40 days'), (4, true, interval '40 days'), (5, true, interval '40 days'),
                         (3, false, interval '40 days'), (3, true, interval '1 day'),
                         (1, true, interval '40 days'), (2, true, interval '40 days')) AS s (status, cleanup, age),
                 generate_series(1, 3)
            """)
        let keyed = try store.tasks.schedule(NewTask(type: "core:text2text", input: [:], userID: "alice", appID: "app"), idempotencyKey: IdempotencyKey(scope: "user:alice", key: "k"))
        guard case .created(let task) = keyed else { return }
        _ = try store.query("UPDATE tasks SET status = 3, last_updated = now() - interval '40 days' WHERE id = $1", [task.id])

        let thirtyDays = 30 * 86_400
        #expect(try store.tasks.deleteFinishedTasks(olderThanSeconds: thirtyDays, batch: 4) == 4)
        var deleted = 4
        while case let batch = try store.tasks.deleteFinishedTasks(olderThanSeconds: thirtyDays, batch: 4), batch > 0 { deleted += batch }
        #expect(deleted == 10, "9 old finished tasks with allowCleanup, and the keyed one")
        let left = try store.query("SELECT count(*) AS n FROM tasks")[0].int64("n")
        #expect(left == 12)
        #expect(try store.query("SELECT count(*) AS n FROM idempotency_keys")[0].int64("n") == 0)
    }
}
