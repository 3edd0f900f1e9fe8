import Glibc

/// One task type as operators see it.
public struct TaskTypeOverview: Sendable {
    public var type: String
    /// Whether the type is in the catalog (core, or custom); a type with tasks may no longer be.
    public var known: Bool
    public var counts: [TaskStatus: Int64]
    public var oldestScheduledAgeSeconds: Int64?
    public var setting: TaskTypeSetting
    public var providers: [ProviderOverview]

    public struct ProviderOverview: Sendable {
        public var id: String
        public var appID: String?
        public var preferred: Bool
        /// The ExApp's last request to any process, unix seconds.
        public var appLastSeenAt: Int64?
    }
}

/// Something an operator should look at, with a code for machines.
public struct OperatorWarning: Sendable, Equatable {
    public var code: String
    public var message: String
    /// The task type concerned, if one is.
    public var type: String?
}

extension TaskAdministration {
    /// Every type the catalog knows, that has tasks, or that has a setting, by name.
    public func types() throws -> [TaskTypeOverview] {
        let statistics = try store.statistics()
        let settings = try store.typeSettings()
        let snapshot = try catalog.current()
        let providers = try catalog.store.providers()
        let lastSeen = try Dictionary(store.workers().map { ($0.appID, $0.lastRequestAt) }, uniquingKeysWith: { $1 })
        let names = Set(snapshot.types.types.keys).union(statistics.counts.keys).union(settings.keys)
        return names.sorted().map { name in
            TaskTypeOverview(
                type: name, known: snapshot.types[name] != nil, counts: statistics.counts[name] ?? [:],
                oldestScheduledAgeSeconds: statistics.oldestScheduledAgeByType[name], setting: settings[name] ?? TaskTypeSetting(),
                providers: providers.filter { $0.taskType == name }.map { provider in
                    .init(
                        id: provider.id, appID: provider.appID, preferred: snapshot.preferred[name]?.id == provider.id,
                        appLastSeenAt: provider.appID.flatMap { lastSeen[$0] ?? nil })
                })
        }
    }

    /// Pauses or resumes a type the server knows (catalog, tasks or setting); 404 otherwise.
    public func setPaused(type: String, _ paused: Bool) throws -> TaskTypeSetting {
        try requireKnown(type)
        return try store.setPaused(type: type, paused)
    }

    /// Sets or removes a known type's running limit (1...100000).
    public func setMaxRunning(type: String, _ maxRunning: Int?) throws -> TaskTypeSetting {
        if let maxRunning, !Self.maxRunningRange.contains(maxRunning) {
            throw ServiceError.invalid(
                "maxRunning must be between \(Self.maxRunningRange.lowerBound) and \(Self.maxRunningRange.upperBound), or null")
        }
        try requireKnown(type)
        return try store.setMaxRunning(type: type, maxRunning)
    }

    public static let maxRunningRange = 1...100_000

    private func requireKnown(_ type: String) throws {
        if try catalog.current().types[type] != nil { return }
        if try store.statistics().counts[type] != nil || store.typeSettings()[type] != nil { return }
        throw ServiceError.notFound("unknown task type '\(type)'")
    }

    /// Per type, the attempts that ended in the last `windowSeconds` (1 s to 31 days).
    public func statistics(windowSeconds: Int) throws -> [TypeWindowStatistics] {
        guard Self.statisticsWindow.contains(windowSeconds) else {
            throw ServiceError.invalid("parameter 'windowSeconds' must be between 1 and \(Self.statisticsWindow.upperBound)")
        }
        return try store.windowStatistics(windowSeconds: windowSeconds)
    }

    public static let statisticsWindow = 1...(31 * 86_400)

    /// The ExApps with their activity, and their providers' trigger requests.
    public func workers() throws -> [WorkerSummary] {
        let triggers = Dictionary(grouping: try ProviderTriggerStore(tasks: store).states()) { $0.appID ?? "" }
        return try store.workers().map { worker in
            var worker = worker
            worker.triggers = triggers[worker.appID] ?? []
            return worker
        }
    }

    /// Nextcloud's three setup checks (slow pickup, failures, types nobody serves), then paused
    /// types with waiting tasks and catalog rows that cannot be read.
    public func warnings() throws -> [OperatorWarning] {
        var warnings: [OperatorWarning] = []
        let hour = try store.pickupAndFailureCounts(windowSeconds: 3600, lateSeconds: Self.latePickupSeconds)
        if hour.claimed > 0, hour.pickedUpLate * 5 >= hour.claimed {
            warnings.append(.init(
                code: "slow_pickup",
                message: "\(hour.pickedUpLate) of \(hour.claimed) tasks that ended in the last hour or run now waited more than "
                    + "\(Self.latePickupSeconds / 60) minutes for a worker"))
        }
        if hour.succeeded + hour.failed > 0, hour.failed * 5 >= hour.succeeded + hour.failed {
            warnings.append(.init(
                code: "failures",
                message: "\(hour.failed) of \(hour.succeeded + hour.failed) results in the last hour were failures"))
        }
        let now = Int64(Glibc.time(nil))
        for overview in try types() where (overview.counts[.scheduled] ?? 0) > 0 {
            let waiting = overview.counts[.scheduled] ?? 0
            if overview.setting.paused {
                warnings.append(.init(
                    code: "paused_type_waiting", message: "\(waiting) tasks of paused type \(overview.type) are waiting",
                    type: overview.type))
            }
            let lastPoll = overview.providers.compactMap(\.appLastSeenAt).max()
            if lastPoll.map({ now - $0 > Self.workerSilenceSeconds }) ?? true {
                warnings.append(.init(
                    code: "no_worker",
                    message: "\(waiting) tasks of type \(overview.type) are waiting and no ExApp serving it has polled "
                        + "in the last \(Self.workerSilenceSeconds / 60) minutes",
                    type: overview.type))
            }
        }
        for trigger in try ProviderTriggerStore(tasks: store).states() where trigger.lastError != nil {
            let target = "ExApp \(trigger.appID ?? "?") for provider \(trigger.providerID)"
            if trigger.givenUpAt != nil {
                warnings.append(.init(
                    code: "trigger_given_up",
                    message: "trigger calls to \(target) were given up after \(trigger.attempts) attempts: \(trigger.lastError ?? "")",
                    type: trigger.taskType))
            } else {
                warnings.append(.init(
                    code: "trigger_failing",
                    message: "trigger calls to \(target) are failing (attempt \(trigger.attempts)): \(trigger.lastError ?? "")",
                    type: trigger.taskType))
            }
        }
        for row in try catalog.current().unreadable {
            warnings.append(.init(code: "unreadable_definition", message: "\(row.kind.rawValue) \(row.id) cannot be read: \(row.reason)"))
        }
        return warnings
    }

    /// Nextcloud's thresholds: a pickup later than 4 minutes, no poll in 5 minutes.
    public static let latePickupSeconds = 240
    public static let workerSilenceSeconds: Int64 = 300
}
