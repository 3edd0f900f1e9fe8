import Foundation
import Postgres
import Synchronization
import TaskDispatchTesting
import Testing
@testable import TaskQueue

@Suite("Operator store: task filters, retry and cancel, pause and limits")
struct AdminStoreTests {
    /// Tasks of two types and two users in several states: 40 text2text (alice), 20 summary
    /// (bob); of the text2text ones 10 claimed by "ex-app" of which 4 succeed and 3 fail.
    static func populated() throws -> (StoreFixture, failed: [Int64]) {
        let store = try StoreFixture()
        for n in 0..<40 { try store.schedule("core:text2text", user: "alice", text: "t\(n)") }
        for n in 0..<20 { try store.schedule("core:text2text:summary", user: "bob", text: "s\(n)") }
        let claimed = try store.tasks.claim(
            types: ["core:text2text"], limit: 10, claimant: "ex-app", leaseSeconds: 60, providers: ["core:text2text": "p1"])
        for task in claimed.prefix(4) { _ = try store.tasks.reportResult(id: task.id, result: .success(output: ["output": "ok"])) }
        for task in claimed.dropFirst(4).prefix(3) {
            _ = try store.tasks.reportResult(id: task.id, result: .failure(errorMessage: "CUDA out of memory", userFacingErrorMessage: nil))
        }
        return (store, claimed.dropFirst(4).prefix(3).map(\.id))
    }

    @Test("each filter narrows; pages follow the cursor newest first without gaps or repeats")
    func filtersAndPages() throws {
        let (store, failed) = try Self.populated()
        defer { store.close() }
        func ids(_ configure: (inout TaskFilter) -> Void, limit: Int = 500) throws -> [Int64] {
            var filter = TaskFilter()
            configure(&filter)
            return try store.tasks.page(matching: filter, limit: limit, beforeID: nil).tasks.map(\.id)
        }
        #expect(try ids { _ in }.count == 60)
        #expect(try ids { $0.statuses = [.failed] }.sorted() == failed.sorted())
        #expect(try ids { $0.types = ["core:text2text:summary"] }.count == 20)
        #expect(try ids { $0.types = ["core:text2text"]; $0.statuses = [.scheduled] }.count == 30)
        #expect(try ids { $0.statuses = [.running, .successful] }.count == 7)
        #expect(try ids { $0.userID = "bob" }.count == 20)
        #expect(try ids { $0.appID = "nobody" }.isEmpty)
        #expect(try ids { $0.providerID = "p1" }.count == 10)
        #expect(try ids { $0.errorContains = "cuda OUT" }.sorted() == failed.sorted())
        #expect(try ids { $0.errorContains = "%" }.isEmpty, "a LIKE wildcard is matched literally")
        #expect(try ids { $0.endedAfter = 0 }.count == 7)
        #expect(try ids { $0.scheduledBefore = 1 }.isEmpty)

        let all = try ids { _ in }
        #expect(all == all.sorted(by: >), "newest first")
    }

    @Test("pages follow the cursor newest first without gaps or repeats, also when a page reads only a few rows", arguments: [3, 7, 20_000])
    func pagesUnderAScanBudget(budget: Int) throws {
        let (store, _) = try Self.populated()
        defer { store.close() }
        func filter(_ configure: (inout TaskFilter) -> Void) -> TaskFilter {
            var filter = TaskFilter()
            configure(&filter)
            return filter
        }
        let filters = [
            TaskFilter(), filter { $0.statuses = [.scheduled] }, filter { $0.statuses = [.failed, .running] },
            filter { $0.errorContains = "CUDA" }, filter { $0.statuses = [.scheduled]; $0.userID = "bob" },
            filter { $0.userID = "alice"; $0.statuses = [.successful] }, filter { $0.types = ["core:text2text:summary"] },
            filter { $0.appID = "nobody" },
        ]
        for filter in filters {
            let expected = try store.tasks.page(matching: filter, limit: 500, beforeID: nil, scanBudget: 1_000_000).tasks.map(\.id)
            var seen: [Int64] = []
            var before: Int64?
            var pages = 0
            repeat {
                let page = try store.tasks.page(matching: filter, limit: 7, beforeID: before, scanBudget: budget)
                #expect(page.tasks.count <= 7)
                seen += page.tasks.map(\.id)
                if let next = page.nextBeforeID, let previous = before { #expect(next < previous, "each page moves on") }
                before = page.nextBeforeID
                pages += 1
            } while before != nil && pages < 1_000
            #expect(seen == expected, "\(filter): \(seen) against \(expected)")
        }
    }

    @Test("retry: FAILED and CANCELLED only, attempts keep counting with a fresh allowance; cancel: waiting and running only")
    func retryAndCancel() throws {
        let (store, failed) = try Self.populated()
        defer { store.close() }
        let id = failed[0]
        guard case .changed(let retried) = try store.tasks.retry(id: id) else { Issue.record("retry refused"); return }
        #expect(retried.status == .scheduled && retried.errorMessage == nil && retried.output == nil && retried.attempt == 1)
        guard case .conflict = try store.tasks.retry(id: id) else { Issue.record("retry of a waiting task accepted"); return }
        guard case .notFound = try store.tasks.retry(id: 999_999) else { Issue.record("retry of nothing"); return }

        // The retried task is claimed as attempt 2, and a retryable failure now requeues it:
        // the allowance counts from the retry, not from the first claim.
        let claimed = try #require(try store.tasks.claim(types: ["core:text2text"], limit: 40, claimant: "w", leaseSeconds: 60)
            .first { $0.id == id })
        #expect(claimed.attempt == 2)
        let outcome = try store.tasks.reportResult(
            id: id, result: .retryableFailure(errorMessage: "busy", userFacingErrorMessage: nil), attempt: 2,
            retryPolicy: RetryPolicy(maxAttempts: 2))
        guard case .accepted(let requeued) = outcome else { Issue.record("\(outcome)"); return }
        #expect(requeued.status == .scheduled)
        #expect(try store.tasks.attempts(taskID: id).map(\.outcome) == [.failed, .retried])

        guard case .changed(let cancelled) = try store.tasks.cancel(id: id) else { Issue.record("cancel refused"); return }
        #expect(cancelled.status == .cancelled)
        guard case .conflict = try store.tasks.cancel(id: id) else { Issue.record("cancel of a cancelled task accepted"); return }
    }

    @Test("bulk retry and cancel act on the matching tasks in their applicable states, in batches; a dry run counts only")
    func bulk() throws {
        let (store, _) = try Self.populated()
        defer { store.close() }
        var summaries = TaskFilter()
        summaries.types = ["core:text2text:summary"]
        #expect(try store.tasks.countTasks(matching: summaries, statusesWithin: [.scheduled, .running]) == 20)
        #expect(try store.tasks.cancelAll(matching: summaries, batchSize: 6) == 20)
        #expect(try store.tasks.countTasks(matching: summaries, statusesWithin: [.scheduled, .running]) == 0)

        var cancelledOrFailed = TaskFilter()
        cancelledOrFailed.userID = "bob"
        #expect(try store.tasks.retryAll(matching: cancelledOrFailed, batchSize: 7) == 20)
        var failed = TaskFilter()
        failed.errorContains = "CUDA"
        #expect(try store.tasks.countTasks(matching: failed, statusesWithin: [.failed, .cancelled]) == 3)
        #expect(try store.tasks.retryAll(matching: failed) == 3)
        let scheduled = try #require(try store.query("SELECT count(*) AS n FROM tasks WHERE status = 1").rows.first?.int64("n"))
        #expect(scheduled == Int64(30 + 20 + 3))
    }

    @Test("a paused type is not claimed, not announced as ready, and claimable again once resumed")
    func pause() throws {
        let store = try StoreFixture()
        defer { store.close() }
        try store.schedule()
        _ = try store.tasks.setPaused(type: "core:text2text", true)
        #expect(try store.claimOne() == nil)
        #expect(try store.tasks.hasReadyTask(types: ["core:text2text"]) == false)
        #expect(try store.tasks.readyCounts(types: ["core:text2text"], cap: 10) == [:])
        #expect(try store.tasks.typeSettings()["core:text2text"] == TaskTypeSetting(paused: true))
        _ = try store.tasks.setPaused(type: "core:text2text", false)
        #expect(try store.tasks.typeSettings().isEmpty, "a row that says nothing is removed")
        #expect(try store.claimOne() != nil)
    }

    @Test("32 threads claiming a type limited to 3 never have more than 3 running; every task is claimed once")
    func maxRunningUnderConcurrency() throws {
        let store = try StoreFixture(poolSize: 40)
        defer { store.close() }
        let taskCount = 300
        _ = try store.query("""
            INSERT INTO tasks (type, user_id, app_id, input)
            SELECT 'core:text2text', 'alice', 'app', '{}' FROM generate_series(1, \(taskCount))
            """)
        _ = try store.tasks.setMaxRunning(type: "core:text2text", 3)
        let claims = Mutex<[Int64]>([])
        let errors = Mutex<[String]>([])
        let done = Atomic<Bool>(false)
        let highest = Atomic<Int>(0)
        let samples = Atomic<Int>(0)
        let sampled = DispatchSemaphore(value: 0)
        let sampler = Thread {
            defer { sampled.signal() }
            let connection = try? PostgresConnection(connectionString: store.connectionString, logger: StoreFixture.logger)
            defer { connection?.close() }
            while !done.load(ordering: .relaxed) {
                let running = (try? connection?.query("SELECT count(*) AS n FROM tasks WHERE status = 2").rows.first?.int("n")) ?? nil
                if let running { _ = highest.max(running, ordering: .relaxed); _ = samples.add(1, ordering: .relaxed) }
            }
        }
        sampler.start()
        onThreads(32) { worker in
            var empty = 0
            while empty < 50 {
                do {
                    guard let task = try store.tasks.claim(types: ["core:text2text"], limit: 1, claimant: "w\(worker)", leaseSeconds: 60).first else {
                        empty += 1
                        usleep(2_000)
                        continue
                    }
                    empty = 0
                    claims.withLock { $0.append(task.id) }
                    usleep(1_000)
                    _ = try store.tasks.reportResult(id: task.id, result: .success(output: ["output": "ok"]))
                } catch {
                    errors.withLock { $0.append("\(error)") }
                    return
                }
            }
        }
        done.store(true, ordering: .relaxed)
        sampled.wait()
        let all = claims.withLock { $0 }
        print("maxRunning store: tasks=\(taskCount) claims=\(all.count) distinct=\(Set(all).count) highest running=\(highest.load(ordering: .relaxed)) samples=\(samples.load(ordering: .relaxed))")
        #expect(errors.withLock { $0 } == [])
        #expect(all.count == taskCount && Set(all).count == taskCount)
        #expect(highest.load(ordering: .relaxed) <= 3)
        #expect(highest.load(ordering: .relaxed) == 3, "the limit should also be reached, not just respected")
    }

    @Test("a limit set while tasks run lets none start until they are under it; removing it frees the type")
    func limitChanges() throws {
        let store = try StoreFixture()
        defer { store.close() }
        for _ in 0..<6 { try store.schedule() }
        _ = try store.tasks.claim(types: ["core:text2text"], limit: 3, claimant: "w", leaseSeconds: 60)
        _ = try store.tasks.setMaxRunning(type: "core:text2text", 2)
        #expect(try store.claimOne() == nil)
        #expect(try store.tasks.readyCounts(types: ["core:text2text"], cap: 10) == [:], "a full type is not announced")
        _ = try store.tasks.setMaxRunning(type: "core:text2text", 5)
        #expect(try store.tasks.claim(types: ["core:text2text"], limit: 5, claimant: "w", leaseSeconds: 60).count == 2)
        _ = try store.tasks.setMaxRunning(type: "core:text2text", nil)
        #expect(try store.claimOne() != nil)
    }

    @Test("window statistics and the hourly health figures come from the attempt history")
    func windowStatistics() throws {
        let (store, _) = try Self.populated()
        defer { store.close() }
        let stats = try store.tasks.windowStatistics(windowSeconds: 3600)
        #expect(stats.map(\.type) == ["core:text2text"])
        let text = try #require(stats.first)
        #expect(text.succeeded == 4 && text.failed == 3 && text.finished == 7)
        #expect(abs((text.successRate ?? 0) - 4.0 / 7.0) < 1e-9)
        #expect(text.queueWait != nil && text.runTime != nil && (text.averageInputBytes ?? 0) > 0)
        let hour = try store.tasks.pickupAndFailureCounts(windowSeconds: 3600, lateSeconds: 240)
        #expect(hour == PickupAndFailureCounts(claimed: 10, pickedUpLate: 0, succeeded: 4, failed: 3))
        _ = try store.query("UPDATE tasks SET scheduled_at = scheduled_at - interval '10 minutes' WHERE status = 2")
        #expect(try store.tasks.pickupAndFailureCounts(windowSeconds: 3600, lateSeconds: 240).pickedUpLate == 3)
        _ = try store.query("UPDATE tasks SET last_updated = now() - interval '2 hours', ended_at = now() - interval '2 hours' WHERE status >= 3")
        #expect(try store.tasks.windowStatistics(windowSeconds: 3600).isEmpty)
    }
}

/// Plans on a table large enough that the planner's choice means something: the operator's
/// filters read indexes, never the whole table.
@Suite("Operator list plans")
struct AdminPlanTests {
    static func largeTable() throws -> StoreFixture {
        let store = try StoreFixture()
        _ = try store.query("""
            INSERT INTO tasks (type, user_id, app_id, input, status, ended_at, error_message)
            SELECT 'type' || (n % 50), 'user' || (n % 1000), 'app', '{}',
                   CASE WHEN n % 100 = 0 THEN 4 WHEN n % 10 = 0 THEN 1 ELSE 3 END,
                   CASE WHEN n % 10 <> 0 THEN now() END, CASE WHEN n % 100 = 0 THEN 'boom' END
            FROM generate_series(1, 200000) AS n
            """)
        _ = try store.query("ANALYZE tasks")
        return store
    }

    static func plan(_ store: StoreFixture, _ filter: TaskFilter) throws -> String {
        let query = TaskStore.matchingQuery(filter, statusesWithin: nil, beforeID: 150_000, limit: 100, columns: "tasks.id")
        let plan = try store.pool.withConnection { try $0.query("EXPLAIN \(fragment: query)") }
        return plan.rows.compactMap { $0.string(at: 0) }.joined(separator: "\n")
    }

    @Test("a list page reads each (type, status) range from tasks_type_status_idx and the chosen rows by id, never the table")
    func pagePlan() throws {
        let store = try Self.largeTable()
        defer { store.close() }
        var filter = TaskFilter()
        filter.statuses = [.failed]
        filter.errorContains = "boom"
        let query = TaskStore.byTypeAndStatusPageQuery(
            filter, types: (0..<50).map { "type\($0)" }, statuses: [.failed], before: 150_000, perProbe: 400, limit: 100)
        let plan = try store.pool.withConnection { try $0.query("EXPLAIN \(fragment: query)") }
        let text = plan.rows.compactMap { $0.string(at: 0) }.joined(separator: "\n")
        #expect(text.contains("tasks_type_status_idx"), "\(text)")
        #expect(text.contains("tasks_pkey"), "\(text)")
        #expect(!text.contains("Seq Scan on tasks"), "\(text)")
        let page = try store.tasks.page(matching: filter, limit: 100, beforeID: nil)
        #expect(page.tasks.count == 100 && page.tasks.allSatisfy { $0.status == .failed && $0.errorMessage == "boom" })
    }

    @Test("statuses other than SUCCESSFUL probe tasks_type_status_idx; filters that take SUCCESSFUL rows (dense in id order) walk the primary key; a user filter reads tasks_owner_idx")
    func plans() throws {
        let store = try Self.largeTable()
        defer { store.close() }
        var status = TaskFilter()
        status.statuses = [.failed]
        var typeAndStatus = status
        typeAndStatus.types = ["type7"]
        var type = TaskFilter()
        type.types = ["type7"]
        var failedWithError = status
        failedWithError.errorContains = "boom"
        var user = TaskFilter()
        user.userID = "user7"
        var successful = TaskFilter()
        successful.statuses = [.successful]
        var waiting = TaskFilter()
        waiting.statuses = [.scheduled, .running]
        let cases: [(String, TaskFilter, String)] = [
            ("none", TaskFilter(), "tasks_pkey"), ("status", status, "tasks_type_status_idx"),
            ("type and status", typeAndStatus, "tasks_type_status_idx"), ("type", type, "tasks_pkey"),
            ("successful", successful, "tasks_pkey"), ("waiting", waiting, "tasks_type_status_idx"),
            ("failed with an error text", failedWithError, "tasks_type_status_idx"), ("user", user, "tasks_owner_idx"),
        ]
        for (label, filter, index) in cases {
            let text = try Self.plan(store, filter)
            #expect(text.contains(index), "\(label): \(text)")
            #expect(!text.contains("Seq Scan on tasks"), "\(label): \(text)")
        }
    }
}
