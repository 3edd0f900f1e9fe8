import Synchronization

/// The enabled ExApps with a trigger URL, as this process's trigger sender last read them
/// (every few seconds). Shared by the copies of a ``TaskStore``: a claim by one of these apps
/// that finds nothing ends the coalescing of its providers' answered trigger calls; other
/// apps' claims pay nothing for triggers.
public final class TriggeredApps: Sendable {
    private let apps = Mutex<Set<String>>([])

    public init() {}

    public var isEmpty: Bool { apps.withLock { $0.isEmpty } }

    public func contains(_ appID: String) -> Bool { apps.withLock { $0.contains(appID) } }

    public func replace(with apps: Set<String>) { self.apps.withLock { $0 = apps } }

    public var all: Set<String> { apps.withLock { $0 } }
}
