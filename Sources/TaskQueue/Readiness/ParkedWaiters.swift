/// What ``ParkedWaiters`` needs to know of a waiter.
protocol ParkableWaiter {
    /// Increasing with parking order; a waiter keeps its id when it parks again.
    var id: UInt64 { get }
    var types: Set<String> { get }
    var deadline: ContinuousClock.Instant { get }
}

/// Parked long polls, indexed so that waking k of them, or expiring those past their deadline,
/// costs O(k log n) rather than a pass over all n: with 10,000 parked, every pass over all of
/// them (and the copies it made) was milliseconds under the lock that every wake needs.
///
/// Per type, the ids of the waiters wanting it in ascending order (oldest first); and the
/// deadlines in ascending order. The deadline list is lazy: an entry whose waiter has left
/// (woken, forgotten) stays until it comes up, and is skipped then.
struct ParkedWaiters<Waiter: ParkableWaiter> {
    private var byID: [UInt64: Waiter] = [:]
    private var idsByType: [String: [UInt64]] = [:]
    private var deadlines: [(deadline: ContinuousClock.Instant, id: UInt64)] = []

    var count: Int { byID.count }

    /// Every parked waiter, in no order.
    var all: Dictionary<UInt64, Waiter>.Values { byID.values }

    /// The types some parked waiter wants.
    var wantedTypes: [String] { idsByType.keys.sorted() }

    /// The waiters parked for `type`, oldest first.
    func waiters(wanting type: String) -> [Waiter] {
        (idsByType[type] ?? []).compactMap { byID[$0] }
    }

    mutating func insert(_ waiter: Waiter) {
        byID[waiter.id] = waiter
        for type in waiter.types {
            idsByType[type, default: []].insertSorted(waiter.id)
        }
        let entry = (deadline: waiter.deadline, id: waiter.id)
        let index = deadlines.partitioningIndex { ($0.deadline, $0.id) > (entry.deadline, entry.id) }
        deadlines.insert(entry, at: index)
    }

    /// Takes the waiter out, if it is parked.
    @discardableResult
    mutating func remove(_ id: UInt64) -> Waiter? {
        guard let waiter = byID.removeValue(forKey: id) else { return nil }
        for type in waiter.types {
            idsByType[type]?.removeSorted(id)
            if idsByType[type]?.isEmpty == true { idsByType[type] = nil }
        }
        return waiter
    }

    /// Takes out up to `count` of the oldest waiters wanting `type`.
    mutating func takeOldest(wanting type: String, count: Int) -> [Waiter] {
        let ids = (idsByType[type] ?? []).prefix(count)
        return ids.compactMap { remove($0) }
    }

    /// Takes out every waiter, oldest first.
    mutating func takeAll() -> [Waiter] {
        let all = byID.values.sorted { $0.id < $1.id }
        self = ParkedWaiters()
        return all
    }

    /// Takes out the waiters whose deadline is at or before `now`.
    mutating func takeExpired(at now: ContinuousClock.Instant) -> [Waiter] {
        var expired: [Waiter] = []
        var consumed = 0
        for entry in deadlines {
            guard entry.deadline <= now else { break }
            consumed += 1
            if byID[entry.id]?.deadline == entry.deadline, let waiter = remove(entry.id) { expired.append(waiter) }
        }
        deadlines.removeFirst(consumed)
        return expired
    }

    /// The earliest deadline of a parked waiter; drops the entries of waiters that have left.
    mutating func earliestDeadline() -> ContinuousClock.Instant? {
        var stale = 0
        defer { deadlines.removeFirst(stale) }
        for entry in deadlines {
            if byID[entry.id]?.deadline == entry.deadline { return entry.deadline }
            stale += 1
        }
        return nil
    }
}

extension Array {
    /// The first index whose element satisfies `belongsAfter`, for an array partitioned by it.
    func partitioningIndex(where belongsAfter: (Element) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if belongsAfter(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}

extension Array where Element == UInt64 {
    mutating func insertSorted(_ id: UInt64) {
        let index = partitioningIndex { $0 >= id }
        if index == count || self[index] != id { insert(id, at: index) }
    }

    mutating func removeSorted(_ id: UInt64) {
        let index = partitioningIndex { $0 >= id }
        if index < count, self[index] == id { remove(at: index) }
    }
}
extension ParkedWaiters: Sendable where Waiter: Sendable {}
