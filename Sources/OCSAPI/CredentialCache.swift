import Crypto
import Foundation
import Synchronization
import TaskQueue

/// Remembers recently verified credentials for a short time, so a busy worker does not cost a
/// database lookup per request. Keys are SHA-256 digests of the credential material, so no
/// secret is kept in memory. A revoked credential stops working within `ttl`.
final class CredentialCache: Sendable {
    private struct Entry {
        let principal: Principal
        let expires: ContinuousClock.Instant
    }

    private let entries = Mutex<[Data: Entry]>([:])
    private let lookups = LookupGate()
    private let ttl: Duration
    private let capacity: Int

    init(ttl: Duration, capacity: Int = 10_000) {
        self.ttl = ttl
        self.capacity = capacity
    }

    static func key(_ parts: String...) -> Data {
        var hasher = SHA256()
        for part in parts {
            hasher.update(data: Array(part.utf8))
            hasher.update(data: [0])  // separator: ("ab","c") and ("a","bc") must differ
        }
        return Data(hasher.finalize())
    }

    /// The cached principal for `key`, else the one `lookUp` finds (remembered). One lookup
    /// per key at a time: requests arriving together with the same credentials (a fleet of
    /// workers of one ExApp whose long polls end together, as the entry expires) wait for the
    /// first one's lookup instead of each costing the database a statement.
    func principal(for key: Data, lookUp: () throws(OCSError) -> Principal) throws(OCSError) -> Principal {
        if let cached = principal(for: key) { return cached }
        guard ttl > .zero else { return try lookUp() }
        let ownsLookup = lookups.enter(key)
        defer { if ownsLookup { lookups.leave(key) } }
        // Another request looked it up while this one waited; after a failed lookup each
        // request tries its own.
        if !ownsLookup, let cached = principal(for: key) { return cached }
        let principal = try lookUp()
        remember(principal, for: key)
        return principal
    }

    func principal(for key: Data) -> Principal? {
        guard ttl > .zero else { return nil }
        let now = ContinuousClock.now
        return entries.withLock { entries in
            guard let entry = entries[key] else { return nil }
            if entry.expires < now {
                entries[key] = nil
                return nil
            }
            return entry.principal
        }
    }

    func remember(_ principal: Principal, for key: Data) {
        guard ttl > .zero else { return }
        let expires = ContinuousClock.now + ttl
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = Entry(principal: principal, expires: expires)
        }
    }
}

/// Lets one lookup per key run at a time. The others wait (at most a few seconds, so that a
/// stuck lookup delays them rather than blocking them for good), then read the cache.
private final class LookupGate: @unchecked Sendable {
    /// Guards `running`, and wakes the waiters when a lookup ends.
    private let condition = NSCondition()
    private var running: Set<Data> = []

    /// Waits while a lookup for `key` runs; true when the caller now owns the lookup, false
    /// when another one ended (or the wait timed out) and the cache should be read first.
    func enter(_ key: Data) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard running.contains(key) else {
            running.insert(key)
            return true
        }
        let deadline = Date().addingTimeInterval(5)
        while running.contains(key), condition.wait(until: deadline) {}
        return false
    }

    func leave(_ key: Data) {
        condition.lock()
        running.remove(key)
        condition.broadcast()
        condition.unlock()
    }
}
