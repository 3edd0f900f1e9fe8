/// Tells the long polls of every server process about tasks that the end of their
/// dependencies made claimable, after that end committed.
///
/// A NOTIFY holds a database-wide lock from its transaction's commit until the commit is on
/// disk, so notifying transactions commit one at a time; a notice in every result's
/// transaction capped a chain of tasks at one commit's latency per task. Announcements that
/// arrive together share one statement instead (``Coalescer``), and the results' transactions
/// notify nothing. Workers that poll do not need the notice; it only wakes long polls early
/// (the backstop check would find the tasks anyway).
public struct ReleaseAnnouncer: Sendable {
    private let coalescer: Coalescer<Int, [Int64], Void>

    /// Tasks announced per statement at most.
    static let maxBatch = 256

    public init(store: TaskStore) {
        coalescer = Coalescer(maxBatch: Self.maxBatch) { _, calls in
            let outcome = Result { () throws(StoreError) in try store.announceReleasedSuccessors(of: calls.flatMap { $0 }) }
            return calls.map { _ in outcome }
        }
    }

    /// Announces what the end of `predecessors` released; returns once it is sent.
    public func announce(endOf predecessors: [Int64]) throws(StoreError) {
        guard !predecessors.isEmpty else { return }
        try coalescer.run(predecessors, key: 0)
    }
}
