import Dispatch
import Glibc
import Synchronization

/// Tells the long polls of every server process about tasks that the end of their
/// dependencies made claimable, after that end committed, without holding up whoever ended it.
///
/// A NOTIFY holds a database-wide lock from its transaction's commit until the commit is on
/// disk, so notifying transactions commit one at a time, and each is a commit of its own. A
/// notice in every result's transaction capped a chain of tasks at one commit's latency per
/// task, so the results' transactions notify nothing, and the ends are announced here: queued,
/// and sent by one serial queue (never Swift's cooperative pool: the call blocks), everything
/// queued meanwhile in one statement. After a statement that did notify, the next waits
/// `quietMilliseconds`, so that a busy server sends at most about a hundred notices a second
/// (measured: one per released chain task cost row 12 almost half its throughput), while the
/// first release after a quiet spell goes out at once. Workers that poll do not need the
/// notice; it wakes long polls early (a lost one is made up by the backstop check).
public final class ReleaseAnnouncer: Sendable {
    private let store: TaskStore
    /// Predecessors whose ends are still to be announced, and whether a drain is under way.
    private let pending = Mutex<(ids: [Int64], draining: Bool)>(([], false))
    private let queue = DispatchQueue(label: "taskdispatch-release-announcer")

    /// Predecessors per statement at most.
    static let maxBatch = 1000
    /// The pause after a statement that notified.
    static let quietMilliseconds: UInt32 = 10

    public init(store: TaskStore) {
        self.store = store
    }

    /// Queues the announcement of what the end of `predecessors` released; returns at once.
    public func announce(endOf predecessors: [Int64]) {
        guard !predecessors.isEmpty else { return }
        let startsDrain = pending.withLock { state in
            state.ids += predecessors
            defer { state.draining = true }
            return !state.draining
        }
        if startsDrain { queue.async { self.drain() } }
    }

    /// Announces until nothing is queued.
    private func drain() {
        while true {
            let ids = pending.withLock { state in
                let batch = Array(state.ids.prefix(Self.maxBatch))
                state.ids.removeFirst(batch.count)
                if batch.isEmpty { state.draining = false }
                return batch
            }
            guard !ids.isEmpty else { return }
            if (try? store.announceReleasedSuccessors(of: ids)) == true { usleep(Self.quietMilliseconds * 1000) }
        }
    }
}
