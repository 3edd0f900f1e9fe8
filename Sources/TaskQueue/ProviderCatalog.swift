import Logging
import Synchronization

/// What one read of the providers tables says: the known task types (core and custom, each
/// with its preferred provider's additions) and each type's preferred provider.
public struct ProviderSnapshot: Sendable {
    public let types: TaskTypeCatalog
    /// The preferred provider of each task type that has one.
    public let preferred: [String: TaskProvider]
    /// `ProviderStore.version()` when it was read.
    public let version: Int64
    /// Rows left out because they could not be decoded.
    public let unreadable: [UnreadableDefinition]

    public init(
        core: TaskTypeCatalog, customTypes: [TaskType], preferredProviders: [TaskProvider], version: Int64,
        unreadable: [UnreadableDefinition] = []
    ) {
        var preferred: [String: TaskProvider] = [:]
        for provider in preferredProviders { preferred[provider.taskType] = provider }
        self.preferred = preferred
        self.version = version
        self.unreadable = unreadable
        // Core types win should a custom row ever carry a core id (the store refuses that).
        // Each type carries its preferred provider's additions, as Nextcloud lists them.
        types = TaskTypeCatalog((customTypes + core.types.values).map { type in
            preferred[type.id].map { type.adding($0.shapes) } ?? type
        })
    }

    /// The type and its preferred provider, when the type is known and has a provider:
    /// what scheduling needs.
    public func available(_ typeID: String) -> (type: TaskType, provider: TaskProvider)? {
        guard let type = types[typeID], let provider = preferred[typeID] else { return nil }
        return (type, provider)
    }

    /// The known types that have a provider, as `tasktypes` lists them.
    public var availableTypes: [TaskType] {
        types.sortedIDs.compactMap { id in preferred[id] != nil ? types[id] : nil }
    }
}

/// The task types and providers for the request path: a process-local snapshot of
/// `ProviderStore`. Every change to those tables bumps one version row, so the snapshot is
/// re-validated with one row read: when it is older than `maxAge`, and before any negative
/// answer (`lookup` on a miss: an unknown type, a type without a provider, a provider that is
/// not preferred). A registration made through any server process is therefore honoured by
/// the next request here; only positive answers can be up to `maxAge` old. A change made
/// through this process drops the snapshot at once (`invalidate`). An unreadable row is
/// logged once per process, when a snapshot first leaves it out.
public final class ProviderCatalog: Sendable {
    public let store: ProviderStore
    public let core: TaskTypeCatalog
    private let maxAge: Duration
    private let logger: Logger
    private struct Cached {
        var snapshot: ProviderSnapshot?
        var checkedAt: ContinuousClock.Instant
        /// Bumped by `invalidate`, so a load that started before a change is not kept.
        var generation: Int
        /// Full reads so far (tests check that a current snapshot is not read again).
        var loads: Int
        /// Unreadable rows already logged.
        var reported: Set<UnreadableDefinition> = []
    }
    private let cached: Mutex<Cached>

    public init(
        store: ProviderStore, core: TaskTypeCatalog = .core, maxAge: Duration = .seconds(2),
        logger: Logger = Logger(label: "taskdispatch.providers")
    ) {
        self.store = store
        self.core = core
        self.maxAge = maxAge
        self.logger = logger
        cached = Mutex(Cached(snapshot: nil, checkedAt: .now, generation: 0, loads: 0))
    }

    /// The snapshot, re-validated first when older than `maxAge`.
    public func snapshot() throws(StoreError) -> ProviderSnapshot {
        let (current, fresh) = cached.withLock { cached in
            (cached.snapshot, ContinuousClock.now - cached.checkedAt < maxAge)
        }
        guard let current else { return try reload() }
        return fresh ? current : try revalidated(current)
    }

    /// The snapshot as of now: kept when the database's version still matches, else read again.
    public func current() throws(StoreError) -> ProviderSnapshot {
        guard let snapshot = cached.withLock({ $0.snapshot }) else { return try reload() }
        return try revalidated(snapshot)
    }

    /// `answer` from the snapshot; when it says nil (a miss), from the snapshot as of now, so
    /// that a negative answer is never stale.
    public func lookup<T>(_ answer: (ProviderSnapshot) -> T?) throws(StoreError) -> T? {
        let snapshot = try snapshot()
        if let hit = answer(snapshot) { return hit }
        let now = try revalidated(snapshot)
        return now.version == snapshot.version ? nil : answer(now)
    }

    /// Registers (or updates) a provider, with its custom type if it brings one, and forgets the
    /// snapshot so this process sees the change at once (others within `maxAge`, or at once
    /// on a miss).
    public func register(_ provider: TaskProvider, customType: TaskType? = nil) throws(StoreError) {
        try store.register(provider, customType: customType)
        invalidate()
    }

    /// Removes a provider of `appID` (nil: the administrator's), and forgets the snapshot.
    public func unregister(providerID: String, appID: String?) throws(StoreError) {
        try store.unregister(providerID: providerID, appID: appID)
        invalidate()
    }

    /// Forgets the snapshot after a change made through this process.
    public func invalidate() {
        cached.withLock { cached in
            cached.snapshot = nil
            cached.generation += 1
        }
    }

    /// How many times the snapshot was read in full.
    var loads: Int { cached.withLock { $0.loads } }

    private func revalidated(_ snapshot: ProviderSnapshot) throws(StoreError) -> ProviderSnapshot {
        let generation = cached.withLock { $0.generation }
        guard try store.version() == snapshot.version else { return try reload() }
        cached.withLock { cached in
            if cached.generation == generation, cached.snapshot?.version == snapshot.version { cached.checkedAt = .now }
        }
        return snapshot
    }

    private func reload() throws(StoreError) -> ProviderSnapshot {
        let generation = cached.withLock { $0.generation }
        let fresh = try store.snapshot(core: core)
        let newlyUnreadable = cached.withLock { cached in
            cached.loads += 1
            if cached.generation == generation {
                cached.snapshot = fresh
                cached.checkedAt = .now
            }
            return fresh.unreadable.filter { cached.reported.insert($0).inserted }
        }
        for row in newlyUnreadable {
            logger.error(
                "skipping an unreadable row: every other task type keeps working",
                metadata: ["kind": "\(row.kind.rawValue)", "id": "\(row.id)", "reason": "\(row.reason)"])
        }
        return fresh
    }
}
