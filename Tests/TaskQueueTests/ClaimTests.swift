import Foundation
import JSON
import Postgres
import Synchronization
import TaskDispatchTesting
import Testing
@testable import TaskQueue

@Suite("Claiming")
struct ClaimTests {
    @Test("a claim takes the oldest task, sets startedAt, the attempt, the lease and the claimant")
    func claimFields() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let first = try store.schedule(text: "first")
        try store.schedule(text: "second")
        let claimed = try #require(try store.claimOne())
        #expect(claimed.id == first.id)
        #expect(claimed.status == .running)
        #expect(claimed.startedAt != nil)
        #expect(claimed.attempt == 1)
        #expect(claimed.claimedBy == "worker")
        let lease = try #require(claimed.leaseExpiresAt)
        let started = try #require(claimed.startedAt)
        #expect((59...61).contains(lease - started))
    }

    @Test("higher priority first, then oldest; only the asked types; never more than the limit")
    func orderAndLimit() throws {
        let store = try StoreFixture()
        defer { store.close() }
        var ids: [Int64] = []
        for index in 0..<6 {
            ids.append(try store.schedule(index % 2 == 0 ? "core:text2text" : "core:text2text:summary").id)
        }
        let other = try store.schedule("core:text2image")
        _ = try store.query("UPDATE tasks SET priority = 5 WHERE id = $1", [ids[4]])

        let batch = try store.tasks.claim(
            types: ["core:text2text", "core:text2text:summary", "core:text2text"], limit: 4, claimant: "w", leaseSeconds: 60)
        #expect(batch.map(\.id) == [ids[4], ids[0], ids[1], ids[2]])
        let rest = try store.tasks.claim(types: ["core:text2text", "core:text2text:summary"], limit: 10, claimant: "w", leaseSeconds: 60)
        #expect(rest.map(\.id) == [ids[3], ids[5]])
        #expect(try store.tasks.task(id: other.id, userID: nil)?.status == .scheduled)
        #expect(try store.tasks.claim(types: [], limit: 1, claimant: "w", leaseSeconds: 60).isEmpty)
        #expect(try store.tasks.claim(types: ["core:text2text"], limit: 0, claimant: "w", leaseSeconds: 60).isEmpty)
    }

    @Test("16 threads claiming batches of 1 to 5 take each of 1,200 tasks exactly once")
    func concurrentClaims() throws {
        let store = try StoreFixture()
        defer { store.close() }
        _ = try store.query("""
            INSERT INTO tasks (type, user_id, app_id, input)
            SELECT CASE WHEN n % 3 = 0 THEN 'core:text2text:summary' ELSE 'core:text2text' END, 'alice', 'app', '{}'
            FROM generate_series(1, 1200) AS n
            """)
        let claims = Mutex<[Int64]>([])
        let errors = Mutex<[String]>([])
        onThreads(16) { worker in
            var empty = 0
            while empty < 3 {
                do {
                    let batch = try store.tasks.claim(
                        types: ["core:text2text", "core:text2text:summary"], limit: 1 + worker % 5,
                        claimant: "w\(worker)", leaseSeconds: 60)
                    if batch.count > 1 + worker % 5 { errors.withLock { $0.append("batch over the limit") } }
                    empty = batch.isEmpty ? empty + 1 : 0
                    claims.withLock { $0.append(contentsOf: batch.map(\.id)) }
                } catch {
                    errors.withLock { $0.append("\(error)") }
                    return
                }
            }
        }
        let all = claims.withLock { $0 }
        print("store claims: tasks=1200 claims=\(all.count) distinct=\(Set(all).count)")
        #expect(errors.withLock { $0 } == [])
        #expect(all.count == 1200)
        #expect(Set(all).count == 1200)
        let left = try store.query("SELECT count(*) AS n FROM tasks WHERE status <> 2 OR attempt <> 1")
        #expect(left[0].int64("n") == 0)
    }

    /// A queue being drained: most rows finished, at the start of the table, the waiting ones after.
    private static func drainedQueue() throws -> StoreFixture {
        let store = try StoreFixture()
        _ = try store.query("""
            INSERT INTO tasks (type, user_id, app_id, input, status)
            SELECT 'core:text2text', 'alice', 'app', '{}', CASE WHEN n > 18000 THEN 1 ELSE 3 END
            FROM generate_series(1, 20000) AS n
            """)
        _ = try store.query("ANALYZE tasks")
        return store
    }

    private static func plan(_ store: StoreFixture, _ query: PostgresQuery) throws -> String {
        let plan = try store.pool.withConnection { connection in
            try connection.transaction { connection in try connection.query("EXPLAIN \(fragment: query)") }
        }
        return plan.rows.compactMap { $0.string(at: 0) }.joined(separator: "\n")
    }

    @Test("the claim and the ready probes read the partial claim index, not the table", arguments: ["claim", "hasReady", "readyCounts"])
    func readsTheClaimIndex(statement: String) throws {
        let store = try Self.drainedQueue()
        defer { store.close() }
        let types = ["core:text2text"]
        let text = switch statement {
        case "claim":
            try Self.plan(store, TaskStore.claimQuery(.init(types: types, providers: [nil], limit: 1, claimant: "w", leaseSeconds: 60), holdsLimitLocks: false))
        case "hasReady": try Self.plan(store, TaskStore.hasReadyTaskQuery(types: types))
        default: try Self.plan(store, TaskStore.readyCountsQuery(types: types, cap: 100))
        }
        #expect(text.contains("tasks_claim_idx"), "\(text)")
        #expect(!text.contains("Seq Scan on tasks"), "\(text)")
    }
}
