import Postgres
import Synchronization

/// The task types that have a running limit, as this process last read them (at most a few
/// seconds ago), so that a claim knows whether it must lock a type's settings row first.
///
/// Staleness is safe both ways: the claim statement itself reads the settings, and passes over
/// a limited type whose row it did not lock. A type limited since the last read is therefore
/// not claimed here until the next read; one no longer limited costs one needless lock.
final class LimitedTaskTypes: Sendable {
    private struct Cache {
        var types: Set<String> = []
        var readAt: ContinuousClock.Instant?
    }

    private let cache = Mutex(Cache())
    private let maxAge: Duration

    init(maxAge: Duration = .seconds(2)) {
        self.maxAge = maxAge
    }

    /// The limited types, read again on `connection` when the last read is older than `maxAge`.
    func current(on connection: PostgresConnection) throws -> Set<String> {
        let now = ContinuousClock.now
        let cached = cache.withLock { cache -> Set<String>? in
            guard let readAt = cache.readAt, now - readAt < maxAge else { return nil }
            return cache.types
        }
        if let cached { return cached }
        let rows = try connection.query("SELECT type FROM task_type_settings WHERE max_running IS NOT NULL").rows
        let types = Set(rows.compactMap { $0.string("type") })
        cache.withLock { $0 = Cache(types: types, readAt: now) }
        return types
    }

    /// Forgets the last read: this process just changed a limit.
    func invalidate() {
        cache.withLock { $0.readAt = nil }
    }
}
