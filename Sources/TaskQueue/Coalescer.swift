import Dispatch
import Synchronization

/// Runs concurrent calls that share a key as one batch: group commit, done by the server.
///
/// The first caller of a key leads: it runs the batch of every call queued behind it (up to
/// `maxBatch`), hands each follower its outcome, and makes the next waiting caller the leader.
/// Callers queued while a batch runs go in the next one, so a lone call runs at once, without
/// waiting for company, and under load each statement and each commit serves many calls.
final class Coalescer<Key: Hashable & Sendable, Call: Sendable, Outcome: Sendable>: Sendable {
    /// Runs a batch; answers one outcome per call, in order.
    typealias Batch = @Sendable (Key, [Call]) -> [Result<Outcome, StoreError>]

    private let maxBatch: Int
    private let runBatch: Batch
    /// Per key, the callers waiting, the leader first.
    private let queues = Mutex<[Key: [Waiter]]>([:])

    init(maxBatch: Int, runBatch: @escaping Batch) {
        self.maxBatch = max(1, maxBatch)
        self.runBatch = runBatch
    }

    /// Runs `call` in a batch with the calls of the same key that wait with it.
    func run(_ call: Call, key: Key) throws(StoreError) -> Outcome {
        let waiter = Waiter(call)
        let leads = queues.withLock { queues in
            queues[key, default: []].append(waiter)
            return queues[key]!.count == 1
        }
        if !leads {
            waiter.wake.wait()
            // Woken with an outcome when a leader ran this call; without one, to lead.
            if let outcome = waiter.outcome { return try outcome.get() }
        }
        let batch = queues.withLock { Array($0[key]!.prefix(maxBatch)) }
        var outcomes = runBatch(key, batch.map(\.call))
        if outcomes.count != batch.count {
            outcomes = Array(repeating: .failure(.corruptRow("a batch answered \(outcomes.count) of \(batch.count) calls")), count: batch.count)
        }
        let nextLeader = queues.withLock { queues -> Waiter? in
            var waiting = queues[key]!
            waiting.removeFirst(batch.count)
            queues[key] = waiting.isEmpty ? nil : waiting
            return waiting.first
        }
        for (follower, outcome) in zip(batch, outcomes).dropFirst() {
            follower.outcome = outcome
            follower.wake.signal()
        }
        nextLeader?.wake.signal()
        return try outcomes[0].get()
    }

    /// How many calls of `key` wait or run now (for tests).
    func waitingCount(key: Key) -> Int {
        queues.withLock { $0[key]?.count ?? 0 }
    }

    /// One waiting call. `outcome` is written by the leader before it signals `wake` and read
    /// by the caller after waking, so the semaphore orders the two.
    private final class Waiter: @unchecked Sendable {
        let call: Call
        var outcome: Result<Outcome, StoreError>?
        let wake = DispatchSemaphore(value: 0)

        init(_ call: Call) { self.call = call }
    }
}
