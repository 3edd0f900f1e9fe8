import Synchronization
import TaskDispatchTesting
import Testing
@testable import TaskQueue

@Suite("Idempotent scheduling")
struct IdempotencyTests {
    func task(_ text: String = "x") -> NewTask {
        NewTask(type: "core:text2text", input: ["input": .string(text)], userID: "alice", appID: "app")
    }

    @Test("a retry with the same key and request gets the original task; another request under the key is refused")
    func replay() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let key = IdempotencyKey(scope: "user:alice", key: "k-1")
        guard case .created(let original) = try store.tasks.schedule(task(), idempotencyKey: key) else {
            Issue.record("first schedule not created")
            return
        }
        #expect(try store.tasks.schedule(task(), idempotencyKey: key) == .replayed(original))
        #expect(try store.tasks.schedule(task("other"), idempotencyKey: key) == .keyReused)
        // The same key from another caller is another key.
        guard case .created(let other) = try store.tasks.schedule(task(), idempotencyKey: IdempotencyKey(scope: "user:bob", key: "k-1"))
        else {
            Issue.record("another caller's key collided")
            return
        }
        #expect(other.id != original.id)
        #expect(try store.query("SELECT count(*) AS n FROM tasks")[0].int64("n") == 2)
    }

    @Test("50 concurrent schedules with one key create one task")
    func concurrent() throws {
        let store = try StoreFixture(poolSize: 50)
        defer { store.close() }
        let key = IdempotencyKey(scope: "user:alice", key: "race")
        let ids = Mutex<[Int64]>([])
        let created = Atomic<Int>(0)
        onThreads(50) { _ in
            switch try? store.tasks.schedule(task(), idempotencyKey: key) {
            case .created(let record):
                created.add(1, ordering: .relaxed)
                ids.withLock { $0.append(record.id) }
            case .replayed(let record):
                ids.withLock { $0.append(record.id) }
            case .keyReused, nil:
                break
            }
        }
        let answered = ids.withLock { $0 }
        print("idempotency (store): requests=50 answered=\(answered.count) created=\(created.load(ordering: .relaxed)) distinct=\(Set(answered).count)")
        #expect(answered.count == 50)
        #expect(created.load(ordering: .relaxed) == 1)
        #expect(Set(answered).count == 1)
        #expect(try store.query("SELECT count(*) AS n FROM tasks")[0].int64("n") == 1)
    }

    @Test("a key is forgotten after the retention window, or when its task is deleted")
    func expiry() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let key = IdempotencyKey(scope: "user:alice", key: "old")
        guard case .created(let first) = try store.tasks.schedule(task(), idempotencyKey: key) else { return }
        #expect(try store.tasks.expireIdempotencyKeys(retentionSeconds: 3600) == 0)
        _ = try store.query("UPDATE idempotency_keys SET created_at = now() - interval '2 hours'")
        #expect(try store.tasks.expireIdempotencyKeys(retentionSeconds: 3600) == 1)
        guard case .created(let second) = try store.tasks.schedule(task("new body"), idempotencyKey: key) else {
            Issue.record("expired key still held")
            return
        }
        #expect(second.id != first.id)
        #expect(try store.tasks.delete(id: second.id, userID: "alice"))
        guard case .created = try store.tasks.schedule(task(), idempotencyKey: key) else {
            Issue.record("the key outlived its deleted task")
            return
        }
    }
}
