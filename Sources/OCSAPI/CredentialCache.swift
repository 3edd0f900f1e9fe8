import Crypto
import Foundation
import Synchronization

/// Remembers recently verified credentials for a short time, so a busy worker does not cost a
/// database lookup per request. Keys are SHA-256 digests of the credential material, so no
/// secret is kept in memory. A revoked credential stops working within `ttl`.
final class CredentialCache: Sendable {
    private struct Entry {
        let principal: Principal
        let expires: ContinuousClock.Instant
    }

    private let entries = Mutex<[Data: Entry]>([:])
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
