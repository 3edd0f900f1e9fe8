import Synchronization

/// Whether this server process can do its work, for `/readyz`: the database answers, its
/// schema is the one this build migrates to, and the ready-task listener is connected.
///
/// The answer is kept for a second: load balancers probe every few seconds, and an anonymous
/// client asking in a loop must not become a load on the database.
public final class ServiceReadiness: Sendable {
    private let store: TaskStore
    private let isListening: @Sendable () -> Bool
    private let cached = Mutex<(reason: String?, at: ContinuousClock.Instant)?>(nil)
    private static let keptFor: Duration = .seconds(1)

    public init(store: TaskStore, isListening: @escaping @Sendable () -> Bool) {
        self.store = store
        self.isListening = isListening
    }

    /// Nil when ready; else why not, in words safe to show anyone (no addresses, no errors' details).
    public func unreadyReason() -> String? {
        let now = ContinuousClock.now
        if let last = cached.withLock({ $0 }), now - last.at < Self.keptFor { return last.reason }
        let reason = check()
        cached.withLock { $0 = (reason, now) }
        return reason
    }

    private func check() -> String? {
        let version: Int
        do {
            version = try store.schemaVersion()
        } catch {
            return "the database does not answer"
        }
        let latest = SchemaMigrations.all.last?.version ?? 0
        guard version == latest else { return "the database schema is at version \(version), this server needs \(latest)" }
        guard isListening() else { return "not listening for ready tasks" }
        return nil
    }
}

extension TaskStore {
    /// The newest migration applied to the database; 0 before the first.
    public func schemaVersion() throws(StoreError) -> Int {
        try withConnection { connection in
            try connection.query("SELECT coalesce(max(version), 0)::integer AS version FROM schema_migrations").rows.first?.int("version") ?? 0
        }
    }
}
