/// A worker's claim as a front end read it: which ExApp, which of its providers, which types,
/// how many tasks, and the lease it asks for.
public struct ClaimRequest: Sendable {
    public var claimant: String
    public var providerIDs: Set<String>
    public var taskTypes: [String]
    public var count: Int
    public var askedLeaseSeconds: Int?

    public init(claimant: String, providerIDs: Set<String>, taskTypes: [String], count: Int = 1, askedLeaseSeconds: Int? = nil) {
        self.claimant = claimant
        self.providerIDs = providerIDs
        self.taskTypes = taskTypes
        self.count = count
        self.askedLeaseSeconds = askedLeaseSeconds
    }
}

/// The types a claim may take, with the provider serving each: the requested types whose
/// preferred provider is among the caller's (Nextcloud's selection). Empty when nothing the
/// caller asked for could ever be claimed by it.
public struct ClaimableTypes: Sendable {
    /// The provider id for each claimable type.
    public let providers: [String: String]
    /// The claimable types, in the order asked.
    public let types: [String]
}

/// What one claim took.
public struct ClaimOutcome: Sendable {
    /// The claimed tasks, in claim order (priority, then age); empty when none was ready.
    public let tasks: [TaskRecord]
    /// What the claim was for.
    public let claimable: ClaimableTypes
    /// For a batch claim, whether a ready task of those types remained after it.
    public let hasMore: Bool

    /// How many tasks of each type were claimed.
    public var countsByType: [String: Int] { tasks.reduce(into: [:]) { $0[$1.type, default: 0] += 1 } }
}

/// Claims tasks for workers: which types a caller may claim, the lease each claim gets, and
/// the claim itself (single claims that arrive together share one statement).
public struct TaskClaimer: Sendable {
    let store: TaskStore
    let catalog: ProviderCatalog
    let rules: TaskRules
    let batcher: WorkerCallBatcher?
    let metrics: TaskMetrics

    /// A long poll's wait in seconds, capped at the configured maximum; 0 when not asked.
    public func waitSeconds(asked: Int?) -> Int {
        min(asked ?? 0, rules.maxWaitSeconds)
    }

    /// For each requested type whose preferred provider is among the caller's, that provider's
    /// id. When some requested type is left out, the database is asked again before it stays
    /// out, so a registration or preference just made through another process counts.
    public func claimableTypes(_ request: ClaimRequest) throws -> ClaimableTypes {
        let types = request.taskTypes
        guard !types.isEmpty, !request.providerIDs.isEmpty else { return ClaimableTypes(providers: [:], types: []) }
        func select(_ snapshot: ProviderSnapshot) -> [String: String] {
            var selected: [String: String] = [:]
            for type in types {
                if let provider = snapshot.preferred[type], snapshot.types[type] != nil, request.providerIDs.contains(provider.id) {
                    selected[type] = provider.id
                }
            }
            return selected
        }
        let complete = try catalog.lookup { snapshot -> [String: String]? in
            let selected = select(snapshot)
            return selected.count == Set(types).count ? selected : nil
        }
        // lookup has just checked the snapshot against the database: its partial answer is final.
        let providers = try complete ?? select(try catalog.snapshot())
        return ClaimableTypes(providers: providers, types: types.filter { providers[$0] != nil })
    }

    /// Claims up to `request.count` tasks of `claimable`'s types in one statement, leased for
    /// what the worker asked (capped), else for its type's lease, else the default.
    /// `probeMore`: also tell whether a ready task of those types remained.
    public func claim(_ request: ClaimRequest, _ claimable: ClaimableTypes, probeMore: Bool = false) throws -> ClaimOutcome {
        guard !claimable.types.isEmpty else { return ClaimOutcome(tasks: [], claimable: claimable, hasMore: false) }
        let asked = request.askedLeaseSeconds.map { min($0, rules.maxLeaseSeconds) }
        let leaseSeconds = asked ?? rules.leaseSeconds
        let leaseSecondsByType = asked == nil ? rules.leaseSecondsByType : [:]
        let tasks: [TaskRecord]
        if request.count == 1, let batcher {
            tasks = try batcher.claimOne(
                types: claimable.types, claimant: request.claimant, leaseSeconds: leaseSeconds,
                leaseSecondsByType: leaseSecondsByType, providers: claimable.providers
            ).map { [$0] } ?? []
        } else {
            tasks = try store.claim(
                types: claimable.types, limit: request.count, claimant: request.claimant, leaseSeconds: leaseSeconds,
                leaseSecondsByType: leaseSecondsByType, providers: claimable.providers)
        }
        if !tasks.isEmpty {
            store.workerActivity.claimed(by: request.claimant)
            metrics.claimed(tasks)
        } else if store.triggeredApps.contains(request.claimant) {
            // Best effort: should it fail, the recheck ends the coalescing instead.
            try? ProviderTriggerStore(tasks: store).providersFoundNothing(Array(Set(claimable.providers.values)).sorted())
        }
        let hasMore = probeMore && !tasks.isEmpty ? try store.hasReadyTask(types: claimable.types) : false
        return ClaimOutcome(tasks: tasks, claimable: claimable, hasMore: hasMore)
    }
}

extension TaskClaimer {
    /// Scheduled and running tasks of `types` (all types when empty), from the maintained counters.
    public func queueCounts(types: [String]) throws -> QueueCounts {
        try store.queueCounts(types: types)
    }
}
