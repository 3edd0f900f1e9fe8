import Synchronization
import TaskDispatchTesting
import Testing
@testable import TaskQueue

@Suite("Leases")
struct LeaseTests {
    /// Ends the lease of `id` now, as if its worker had gone silent.
    func expireLease(_ store: StoreFixture, _ id: Int64) throws {
        _ = try store.query("UPDATE tasks SET lease_expires_at = now() - interval '1 second' WHERE id = $1", [id])
    }

    @Test("an expired lease returns the task to the queue with its attempt count; live leases are left alone")
    func requeue() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let first = try store.schedule()
        let second = try store.schedule()
        _ = try store.tasks.claim(types: ["core:text2text"], limit: 2, claimant: "w", leaseSeconds: 60)
        #expect(try store.tasks.reapExpiredLeases(maxAttempts: 3).isEmpty)

        try expireLease(store, first.id)
        #expect(try store.tasks.reapExpiredLeases(maxAttempts: 3) == LeaseSweep(requeued: [first.id]))
        let requeued = try #require(try store.tasks.task(id: first.id, userID: nil))
        #expect(requeued.status == .scheduled)
        #expect(requeued.attempt == 1)
        #expect(requeued.leaseExpiresAt == nil)
        #expect(requeued.claimedBy == nil)
        #expect(try store.tasks.task(id: second.id, userID: nil)?.status == .running)

        let again = try #require(try store.claimOne())
        #expect(again.id == first.id)
        #expect(again.attempt == 2)
    }

    @Test("the stale worker's reports are refused once the task was claimed again; the current claim's are accepted")
    func fencing() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let task = try store.schedule()
        let stale = try #require(try store.claimOne())
        try expireLease(store, task.id)
        _ = try store.tasks.reapExpiredLeases(maxAttempts: 3)
        let current = try #require(try store.claimOne())
        #expect(current.attempt == stale.attempt + 1)

        guard case .conflict = try store.tasks.reportProgress(id: task.id, progress: 0.5, attempt: stale.attempt) else {
            Issue.record("stale progress accepted")
            return
        }
        guard case .conflict = try store.tasks.reportResult(id: task.id, result: .success(output: ["output": "stale"]), attempt: stale.attempt) else {
            Issue.record("stale result accepted")
            return
        }
        guard case .accepted(let done) = try store.tasks.reportResult(
            id: task.id, result: .success(output: ["output": "current"]), attempt: current.attempt)
        else {
            Issue.record("current result refused")
            return
        }
        #expect(done.output == ["output": "current"])
        // A report after the result, with or without the token, changes nothing.
        #expect(try store.tasks.reportResult(id: task.id, result: .success(output: ["output": "late"]), attempt: stale.attempt) == .conflict(done))
        #expect(try store.tasks.reportResult(id: task.id, result: .success(output: ["output": "late"])) == .conflict(done))
    }

    @Test("after the maximum attempts an expired lease fails the task with a clear message")
    func exhausted() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let task = try store.schedule()
        for attempt in 1...2 {
            let claimed = try #require(try store.claimOne())
            #expect(claimed.attempt == attempt)
            try expireLease(store, task.id)
            let sweep = try store.tasks.reapExpiredLeases(maxAttempts: 2)
            #expect(sweep == (attempt < 2 ? LeaseSweep(requeued: [task.id]) : LeaseSweep(failed: [task.id])))
        }
        let failed = try #require(try store.tasks.task(id: task.id, userID: nil))
        #expect(failed.status == .failed)
        #expect(failed.errorMessage == TaskStore.leaseExhaustedMessage(maxAttempts: 2))
        #expect(failed.userFacingErrorMessage != nil)
        #expect(failed.endedAt != nil)
        #expect(try store.claimOne() == nil)
    }

    @Test("progress extends the lease by the length granted at the claim")
    func heartbeat() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let task = try store.schedule()
        _ = try store.tasks.claim(types: ["core:text2text"], limit: 1, claimant: "w", leaseSeconds: 120)
        _ = try store.query("UPDATE tasks SET lease_expires_at = now() + interval '2 seconds' WHERE id = $1", [task.id])
        guard case .accepted(let running) = try store.tasks.reportProgress(id: task.id, progress: 0.3) else {
            Issue.record("progress refused")
            return
        }
        let remaining = try #require(running.leaseExpiresAt) - running.lastUpdated
        #expect((118...121).contains(remaining), "lease extended by \(remaining) s")
    }

    @Test("four reapers at once over 300 expired tasks requeue each exactly once")
    func concurrentReapers() throws {
        let store = try StoreFixture()
        defer { store.close() }
        _ = try store.query("""
            INSERT INTO tasks (type, user_id, app_id, input, status, attempt, lease_seconds, lease_expires_at)
            SELECT 'core:text2text', 'alice', 'app', '{}', 2, 1, 60, now() - interval '1 minute'
            FROM generate_series(1, 300)
            """)
        let reaped = Mutex<[Int64]>([])
        onThreads(4) { _ in
            for _ in 0..<20 {
                guard let sweep = try? store.tasks.reapExpiredLeases(maxAttempts: 3, limit: 25) else { return }
                reaped.withLock { $0.append(contentsOf: sweep.requeued + sweep.failed) }
            }
        }
        let all = reaped.withLock { $0 }
        print("lease reaping: expired=300 reaped=\(all.count) distinct=\(Set(all).count)")
        #expect(all.count == 300)
        #expect(Set(all).count == 300)
        #expect(try store.query("SELECT count(*) AS n FROM tasks WHERE status = 1 AND attempt = 1")[0].int64("n") == 300)
    }
}
