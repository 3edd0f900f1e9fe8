import Foundation
import Synchronization
import TaskDispatchTesting
import Testing
@testable import TaskQueue

@Suite("Worker call batching")
struct WorkerCallBatcherTests {
    /// A batch runner that records its batches and answers each call with its own value.
    final class Recorder: Sendable {
        let batches = Mutex<[(key: Int, calls: [Int])]>([])
        /// Before answering the first batch, waits (up to 10 s) until this many calls wait.
        let holdFirstBatchUntil: Int
        let coalescer = Mutex<Coalescer<Int, Int, Int>?>(nil)

        init(holdFirstBatchUntil: Int) { self.holdFirstBatchUntil = holdFirstBatchUntil }

        func run(key: Int, calls: [Int]) -> [Result<Int, StoreError>] {
            let isFirst = batches.withLock { batches in
                batches.append((key, calls))
                return batches.count == 1
            }
            if isFirst, let coalescer = coalescer.withLock({ $0 }) {
                let deadline = Date().addingTimeInterval(10)
                while coalescer.waitingCount(key: key) < holdFirstBatchUntil && Date() < deadline { usleep(1000) }
            }
            return calls.map { .success($0 * 10) }
        }
    }

    @Test("calls waiting behind a running batch go together in the next one, each answered its own outcome")
    func followersShareTheNextBatch() throws {
        let recorder = Recorder(holdFirstBatchUntil: 16)
        let coalescer = Coalescer<Int, Int, Int>(maxBatch: 10) { key, calls in recorder.run(key: key, calls: calls) }
        recorder.coalescer.withLock { $0 = coalescer }
        let answers = Mutex<[Int: Int]>([:])
        onThreads(16) { index in
            if let answer = try? coalescer.run(index, key: 7) { answers.withLock { $0[index] = answer } }
        }
        #expect(answers.withLock { $0 } == Dictionary(uniqueKeysWithValues: (0..<16).map { ($0, $0 * 10) }))
        let batches = recorder.batches.withLock { $0 }
        // The first batch is whoever had queued when the first caller took it (usually itself
        // alone); everyone else queued while it ran and went in full batches of 10, then the rest.
        let sizes = batches.map(\.calls.count)
        let followers = 16 - sizes[0]
        let expected = stride(from: 0, to: followers, by: 10).map { min(10, followers - $0) }
        #expect(Array(sizes.dropFirst()) == expected, "\(sizes)")
        #expect(batches.flatMap(\.calls).sorted() == Array(0..<16), "every call once")
        #expect(coalescer.waitingCount(key: 7) == 0)
    }

    @Test("keys never share a batch, and every call of many threads is answered once")
    func keysStayApart() throws {
        let recorder = Recorder(holdFirstBatchUntil: 0)
        let coalescer = Coalescer<Int, Int, Int>(maxBatch: 4) { key, calls in recorder.run(key: key, calls: calls) }
        let wrong = Atomic<Int>(0)
        onThreads(16) { thread in
            for round in 0..<300 {
                let call = thread * 1000 + round
                if (try? coalescer.run(call, key: call % 3)) != call * 10 { wrong.add(1, ordering: .relaxed) }
            }
        }
        #expect(wrong.load(ordering: .relaxed) == 0)
        let batches = recorder.batches.withLock { $0 }
        #expect(batches.allSatisfy { batch in batch.calls.allSatisfy { $0 % 3 == batch.key } })
        #expect(batches.allSatisfy { (1...4).contains($0.calls.count) })
        let calls = batches.flatMap(\.calls)
        #expect(calls.count == 16 * 300 && Set(calls).count == calls.count, "every call in exactly one batch")
    }

    @Test("16 workers claiming and reporting through the batcher: every task once, none lost")
    func exactlyOnceThroughTheBatcher() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let total = 2000
        _ = try store.query(
            "INSERT INTO tasks (type, user_id, app_id, input) SELECT 'core:text2text', 'alice', 'app', '{}' FROM generate_series(1, $1)",
            [total])
        let batcher = WorkerCallBatcher(store: store.tasks, retryPolicy: RetryPolicy(), maxBatch: 100)
        let firstXID = try store.query("SELECT txid_current() AS xid")[0].int64("xid") ?? 0
        let claimed = Mutex<[Int64: Int]>([:])
        let accepted = Atomic<Int>(0)
        let failures = Mutex<[String]>([])
        onThreads(16) { _ in
            do {
                while let task = try batcher.claimOne(types: ["core:text2text"], claimant: "worker", leaseSeconds: 60) {
                    claimed.withLock { $0[task.id, default: 0] += 1 }
                    let outcome = try batcher.reportResult(
                        TaskReport(taskID: task.id, result: .success(output: ["output": "done"]), attempt: task.attempt))
                    if case .accepted = outcome { accepted.add(1, ordering: .relaxed) }
                }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        let lastXID = try store.query("SELECT txid_current() AS xid")[0].int64("xid") ?? 0
        let counts = claimed.withLock { $0 }
        let left = try store.query("SELECT count(*) AS n FROM tasks WHERE status <> \(TaskStatus.successful.rawValue)")[0].int64("n")
        #expect(failures.withLock { $0 } == [])
        #expect(counts.count == total, "every task claimed")
        #expect(counts.values.allSatisfy { $0 == 1 }, "no task claimed twice")
        #expect(accepted.load(ordering: .relaxed) == total, "every result recorded")
        #expect(left == 0, "no task left unfinished")
        print(
            "batched worker calls: tasks=\(total) claimed=\(counts.count) duplicates=\(counts.values.filter { $0 > 1 }.count) "
                + "recorded=\(accepted.load(ordering: .relaxed)) write transactions=\(lastXID - firstXID - 1)")
    }

    @Test("a batch the database refuses as a whole is retried report by report")
    func refusedBatchFallsBackToSingleReports() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let good = try store.schedule()
        let other = try store.schedule()
        _ = try store.claimOne()
        _ = try store.claimOne()
        // An attempt beyond PostgreSQL's integer fails the batch's statement, and only its own
        // statement when alone.
        let outcomes = WorkerCallBatcher.record(
            [
                TaskReport(taskID: good.id, result: .success(output: ["output": "kept"]), attempt: 1),
                TaskReport(taskID: other.id, result: .success(output: ["output": "refused"]), attempt: 3_000_000_000),
            ],
            store: store.tasks, retryPolicy: RetryPolicy())
        let stored = try #require(try store.tasks.task(id: good.id, userID: nil))
        #expect(try outcomes[0].get() == .accepted(stored))
        #expect(stored.output == ["output": "kept"])
        #expect(throws: StoreError.self) { try outcomes[1].get() }
        #expect(try store.tasks.task(id: other.id, userID: nil)?.status == .running)
    }
}
