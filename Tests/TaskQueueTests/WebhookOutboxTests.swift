import JSON
import Synchronization
import TaskDispatchTesting
import Testing
@testable import TaskQueue

@Suite("Webhook outbox: rows written with every finish, claimed once")
struct WebhookOutboxTests {
    static let hook = "http://127.0.0.1:9/hook"

    func scheduleWithHook(_ store: StoreFixture, method: String? = "HTTP:POST") throws -> TaskRecord {
        try store.tasks.schedule(NewTask(
            type: "core:text2text", input: ["input": "x"], userID: "alice", appID: "app", webhookURI: Self.hook,
            webhookMethod: method))
    }

    func deliveryRows(_ store: StoreFixture, task: Int64) throws -> [(method: String, status: String)] {
        try store.query("SELECT method, status FROM webhook_deliveries WHERE task_id = $1 ORDER BY id", [task]).rows.map {
            ($0.string("method") ?? "", $0.string("status") ?? "")
        }
    }

    @Test("success, failure, cancel, lease exhaustion and retryable exhaustion each write one row; other updates none")
    func everyFinishWritesOneRow() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let success = try scheduleWithHook(store)
        let failure = try scheduleWithHook(store, method: "HTTP:PUT")
        let cancelled = try scheduleWithHook(store, method: nil)
        let reaped = try scheduleWithHook(store)
        let retried = try scheduleWithHook(store)
        let plain = try store.schedule()

        for task in [success, failure, reaped, retried, plain] {
            _ = try store.tasks.claim(types: ["core:text2text"], limit: 1, claimant: "w", leaseSeconds: task.id == reaped.id ? 0 : 60)
        }
        _ = try store.query("UPDATE tasks SET lease_expires_at = now() - interval '1 second' WHERE id = $1", [reaped.id])
        // Progress and a requeue are no finish.
        _ = try store.tasks.reportProgress(id: success.id, progress: 0.5)
        #expect(try deliveryRows(store, task: success.id).isEmpty)

        _ = try store.tasks.reportResult(id: success.id, result: .success(output: ["output": "y"]))
        _ = try store.tasks.reportResult(id: failure.id, result: .failure(errorMessage: "no", userFacingErrorMessage: nil))
        _ = try store.tasks.cancel(id: cancelled.id, userID: "alice")
        _ = try store.tasks.cancel(id: cancelled.id, userID: "alice")  // unchanged: no second row
        let sweep = try store.tasks.reapExpiredLeases(maxAttempts: 1)
        #expect(sweep.failed == [reaped.id])
        _ = try store.tasks.reportResult(
            id: retried.id, result: .retryableFailure(errorMessage: "busy", userFacingErrorMessage: nil),
            retryPolicy: RetryPolicy(maxAttempts: 1))
        _ = try store.tasks.reportResult(id: plain.id, result: .success(output: ["output": "y"]))

        #expect(try deliveryRows(store, task: success.id).map(\.method) == ["HTTP:POST"])
        #expect(try deliveryRows(store, task: failure.id).map(\.method) == ["HTTP:PUT"])
        #expect(try deliveryRows(store, task: cancelled.id).map(\.method) == ["HTTP:POST"])
        #expect(try deliveryRows(store, task: reaped.id).count == 1)
        #expect(try deliveryRows(store, task: retried.id).count == 1)
        #expect(try deliveryRows(store, task: plain.id).isEmpty)
        #expect(try store.tasks.webhookDeliveries.counts() == WebhookDeliveryCounts(pending: 5, failed: 0))
    }

    @Test("a retryable failure with attempts left requeues and writes nothing")
    func requeueWritesNothing() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let task = try scheduleWithHook(store)
        _ = try store.claimOne()
        _ = try store.tasks.reportResult(
            id: task.id, result: .retryableFailure(errorMessage: "busy", userFacingErrorMessage: nil),
            retryPolicy: RetryPolicy(maxAttempts: 3))
        #expect(try deliveryRows(store, task: task.id).isEmpty)
    }

    @Test("concurrent claimers take each due delivery once; a claimed row waits out its lease")
    func claimsAreExclusive() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let taskCount = 60
        for _ in 0..<taskCount {
            let task = try scheduleWithHook(store)
            _ = try store.tasks.cancel(id: task.id, userID: "alice")
        }
        let deliveries = store.tasks.webhookDeliveries
        let claimed = Mutex<[String]>([])
        let failures = Mutex<[String]>([])
        onThreads(6) { _ in
            do {
                while true {
                    let batch = try deliveries.claimDue(limit: 4, leaseSeconds: 60)
                    if batch.isEmpty { return }
                    claimed.withLock { $0 += batch.map(\.deliveryID) }
                }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty)
        let ids = claimed.withLock { $0 }
        let duplicates = ids.count - Set(ids).count
        print("outbox claims: tasks=\(taskCount) claimed=\(ids.count) distinct=\(Set(ids).count) duplicates=\(duplicates)")
        #expect(ids.count == taskCount)
        #expect(duplicates == 0)
        // Leased: nothing is due until the lease passes.
        #expect(try deliveries.claimDue(limit: 100, leaseSeconds: 60).isEmpty)
        _ = try store.query("UPDATE webhook_deliveries SET next_attempt_at = now() - interval '1 second'")
        let again = try deliveries.claimDue(limit: 100, leaseSeconds: 60)
        #expect(Set(again.map(\.deliveryID)) == Set(ids), "the same delivery ids come back after a lease passes")
        #expect(again.allSatisfy { $0.attempt == 2 })
        #expect(again.allSatisfy { $0.task.status == .cancelled && $0.task.webhookURI == Self.hook })
    }

    @Test("outcomes: delivered, retry fenced by attempt, given up; retention keeps tasks with owed deliveries")
    func outcomesAndRetention() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let owed = try scheduleWithHook(store)
        let done = try scheduleWithHook(store)
        let gaveUp = try scheduleWithHook(store)
        for task in [owed, done, gaveUp] { _ = try store.tasks.cancel(id: task.id, userID: "alice") }
        let deliveries = store.tasks.webhookDeliveries
        let claimed = try deliveries.claimDue(limit: 10, leaseSeconds: 60)
        let byTask = Dictionary(uniqueKeysWithValues: claimed.map { ($0.task.id, $0) })
        try deliveries.markDelivered(try #require(byTask[done.id]), httpStatus: 204)
        try deliveries.markFailed(try #require(byTask[gaveUp.id]), httpStatus: 500, error: "answered HTTP 500")
        var stale = try #require(byTask[owed.id])
        stale.attempt = 7
        try deliveries.scheduleRetry(stale, afterSeconds: 0, httpStatus: 500, error: "stale")
        #expect(try deliveries.claimDue(limit: 10, leaseSeconds: 60).isEmpty, "a stale claim's retry must not shorten the lease")
        try deliveries.scheduleRetry(try #require(byTask[owed.id]), afterSeconds: 0, httpStatus: 503, error: "answered HTTP 503")
        #expect(try deliveries.counts() == WebhookDeliveryCounts(pending: 1, failed: 1))

        _ = try store.query("UPDATE tasks SET last_updated = now() - interval '2 days'")
        let deleted = try store.tasks.deleteFinishedTasks(olderThanSeconds: 3600)
        #expect(deleted == 2)
        #expect(try store.tasks.task(id: owed.id, userID: nil) != nil, "a task whose webhook is owed is kept")
        #expect(try deliveries.counts() == WebhookDeliveryCounts(pending: 1, failed: 0))
        let retry = try deliveries.claimDue(limit: 10, leaseSeconds: 60)
        #expect(retry.map(\.task.id) == [owed.id])
        #expect(retry.first?.attempt == 2)
    }
}
