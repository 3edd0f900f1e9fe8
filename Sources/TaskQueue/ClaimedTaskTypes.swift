import Synchronization

/// The types of tasks this process claimed recently, so that a worker's result can have its
/// output checked without reading the task's type back from the database.
///
/// A task's type never changes, so a remembered type is never stale, whichever process later
/// updates the task; a miss (the claim happened in another server process, or long ago) just
/// means one query. Bounded: the oldest entries are forgotten first.
final class ClaimedTaskTypes: Sendable {
    private struct Entries {
        var types: [Int64: String] = [:]
        /// Ids in insertion order; `next` is where the following id goes.
        var ring: [Int64?]
        var next = 0
    }

    private let entries: Mutex<Entries>

    init(capacity: Int = 65_536) {
        entries = Mutex(Entries(ring: Array(repeating: nil, count: max(capacity, 1))))
    }

    func remember(_ tasks: [TaskRecord]) {
        guard !tasks.isEmpty else { return }
        entries.withLock { entries in
            for task in tasks where entries.types.updateValue(task.type, forKey: task.id) == nil {
                if let evicted = entries.ring[entries.next] { entries.types[evicted] = nil }
                entries.ring[entries.next] = task.id
                entries.next = (entries.next + 1) % entries.ring.count
            }
        }
    }

    /// The remembered types of `ids`, and the ids not remembered.
    func lookUp(_ ids: [Int64]) -> (known: [Int64: String], unknown: [Int64]) {
        entries.withLock { entries in
            var known: [Int64: String] = [:]
            var unknown: [Int64] = []
            for id in ids {
                if let type = entries.types[id] { known[id] = type } else { unknown.append(id) }
            }
            return (known, unknown)
        }
    }
}
