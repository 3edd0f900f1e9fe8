import Synchronization

/// What one read of the providers tables says: the known task types (core and custom) and
/// each type's preferred provider.
public struct ProviderSnapshot: Sendable {
    public let types: TaskTypeCatalog
    /// The preferred provider of each task type that has one.
    public let preferred: [String: TaskProvider]

    public init(core: TaskTypeCatalog, customTypes: [TaskType], preferredProviders: [TaskProvider]) {
        var preferred: [String: TaskProvider] = [:]
        for provider in preferredProviders { preferred[provider.taskType] = provider }
        self.preferred = preferred
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
/// `ProviderStore`, reloaded when older than `maxAge` and right after a change made through
/// this process. Other processes' changes reach it within `maxAge`, and at once where it
/// matters: `lookup` re-reads the database before answering "no" (an unknown type, a type
/// without a provider, a provider that is not preferred), so a registration made through any
/// process is honoured by the next request. Only positive answers can be up to `maxAge` old.
public final class ProviderCatalog: Sendable {
    public let store: ProviderStore
    public let core: TaskTypeCatalog
    private let maxAge: Duration
    private struct Cached {
        var snapshot: ProviderSnapshot?
        var loadedAt: ContinuousClock.Instant
        /// Bumped by `invalidate`, so a load that started before a change is not kept.
        var generation: Int
    }
    private let cached: Mutex<Cached>

    public init(store: ProviderStore, core: TaskTypeCatalog = .core, maxAge: Duration = .seconds(2)) {
        self.store = store
        self.core = core
        self.maxAge = maxAge
        cached = Mutex(Cached(snapshot: nil, loadedAt: .now, generation: 0))
    }

    /// The snapshot, reloaded first when older than `maxAge` or invalidated.
    public func snapshot() throws(ProviderStoreError) -> ProviderSnapshot {
        let current = cached.withLock { cached -> ProviderSnapshot? in
            guard let snapshot = cached.snapshot, ContinuousClock.now - cached.loadedAt < maxAge else { return nil }
            return snapshot
        }
        if let current { return current }
        return try reload()
    }

    /// A snapshot read from the database now.
    @discardableResult
    public func reload() throws(ProviderStoreError) -> ProviderSnapshot {
        let generation = cached.withLock { $0.generation }
        let fresh = try store.snapshot(core: core)
        cached.withLock { cached in
            if cached.generation == generation {
                cached.snapshot = fresh
                cached.loadedAt = .now
            }
        }
        return fresh
    }

    /// Forgets the snapshot after a change made through this process.
    public func invalidate() {
        cached.withLock { cached in
            cached.snapshot = nil
            cached.generation += 1
        }
    }

    /// `answer` from the snapshot; when it says nil (a miss), from a fresh read of the
    /// database, so that a negative answer is never stale.
    public func lookup<T>(_ answer: (ProviderSnapshot) -> T?) throws(ProviderStoreError) -> T? {
        if let hit = answer(try snapshot()) { return hit }
        return answer(try reload())
    }
}
