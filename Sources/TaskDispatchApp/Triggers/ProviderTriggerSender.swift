import BackgroundThreads
import CoreMetrics
import Dispatch
import Foundation
import Logging
import OCSAPI
import Synchronization
import TaskQueue

/// Settings of the trigger sender, from `ServerConfiguration`.
struct ProviderTriggerSettings: Sendable {
    var timeoutSeconds: Double
    var maxAttempts: Int
    var recheckSeconds: Double
    var secretKeyFile: String
}

/// Calls ExApp providers when work arrives for them (Nextcloud 33's provider triggers): every
/// server process runs one, on its own thread (blocking database and network calls never run
/// on Swift's cooperative pool).
///
/// The ready-task listener hands it the types whose tasks became claimable (schedules, batches,
/// retries, delayed and dependent tasks released, leases expired: everything that fires the
/// `taskdispatch_ready` notice, from any process). For each type whose preferred provider
/// belongs to an ExApp with a URL, and that no long poll of that ExApp waits for here, it asks
/// ``ProviderTriggerStore/request(providerIDs:rearm:)``, which keeps one row per provider:
/// that row is the coalescing across requests and processes. Then it claims due rows and makes
/// the calls (`POST <url>/trigger?providerId=…` with AppAPI's headers), at most
/// `maxCallsInFlight` at once, one per provider.
///
/// A sweep every `sweepSeconds` (or `recheckSeconds`, if shorter) re-reads which apps have a
/// URL (so `app set-url` takes effect within that time) and, while some have, requests calls
/// for waiting work no notice announced (a lost notice, a provider that stopped after one
/// task), without restarting requests given up.
final class ProviderTriggerSender: Sendable {
    /// Calls running at once per server process; also the most rows one claim takes.
    static let maxCallsInFlight = 8
    /// Lease beyond the call's timeout, covering name resolution and recording the outcome.
    static let leaseMarginSeconds = 5.0
    /// The longest error text kept on a request row.
    static let maxErrorLength = 500
    /// The longest time between sweeps.
    static let sweepSeconds = 5.0
    /// Claims run at least this often while some ExApp has a URL: rows of other processes come due.
    static let pollSeconds = 1.0
    /// The backoff after failed calls: 1 s doubling, at most this.
    static let maxRetrySeconds = 30.0
    /// The recheck after answered calls doubles, to at most this.
    static let maxRecheckSeconds = 300.0
    /// Sent as `EX-APP-VERSION`: the server does not know the ExApp's version; nc_py_api only
    /// checks that the header is not empty.
    static let exAppVersion = "1.0.0"

    private let store: ProviderTriggerStore
    /// Enabled ExApps with a URL, as the last sweep read them; shared with the claims.
    private let triggeredApps: TriggeredApps
    private let catalog: ProviderCatalog
    private let longPolls: LongPollWaiters
    private let settings: ProviderTriggerSettings
    private let transport: WebhookTransport
    private let logger: Logger
    /// Starts, sleeps and stops the loop (internal, so tests can see its state).
    let thread = BackgroundThread(name: "taskdispatch-triggers")
    private let calls = OutboundCalls(label: "taskdispatch-trigger-calls", limit: ProviderTriggerSender.maxCallsInFlight)
    private let state = Mutex(State())
    private let outcomes: [String: CoreMetrics.Counter]

    private struct State {
        /// Types announced since the loop last looked; `allTypes` when a notice did not say.
        var announced: Set<String> = []
        var allTypes = false
        var sealer: SecretSealer?
    }

    init(
        store: ProviderTriggerStore, triggeredApps: TriggeredApps, catalog: ProviderCatalog, longPolls: LongPollWaiters, settings: ProviderTriggerSettings,
        metrics: any MetricsFactory = NOOPMetricsHandler.instance, logger: Logger
    ) {
        outcomes = Dictionary(uniqueKeysWithValues: ["answered", "retry", "failed"].map { outcome in
            (outcome, CoreMetrics.Counter(label: MetricFamilies.triggerCalls, dimensions: [("outcome", outcome)], factory: metrics))
        })
        self.store = store
        self.triggeredApps = triggeredApps
        self.catalog = catalog
        self.longPolls = longPolls
        self.settings = settings
        // Redirects are never followed; the URL is an administrator's, so any address is allowed.
        self.transport = WebhookTransport(timeoutSeconds: settings.timeoutSeconds)
        self.logger = logger
    }

    func start() {
        thread.start { [self] in run() }
    }

    /// Asks the sender to end and waits for calls in flight (each bounded by the timeout).
    func stop() {
        thread.stop()
    }

    /// Tasks of `types` became claimable (nil: of types the notice did not name). Cheap: the
    /// loop does the rest.
    func tasksBecameClaimable(types: [String]?) {
        guard !triggeredApps.isEmpty else { return }
        state.withLock { state in
            if let types { state.announced.formUnion(types) } else { state.allTypes = true }
        }
        thread.wakeUp()
    }

    private func run() {
        var nextSweep = ContinuousClock.now
        while !thread.shouldStop {
            let sweeping = ContinuousClock.now >= nextSweep
            if sweeping {
                nextSweep = .now + .milliseconds(Int(min(settings.recheckSeconds, Self.sweepSeconds) * 1000))
                do {
                    triggeredApps.replace(with: try store.appsWithURL())
                } catch {
                    logger.warning("trigger sender cannot read the ExApps", metadata: ["error": "\(error)"])
                }
            }
            let active = !triggeredApps.isEmpty
            let (announced, allTypes) = state.withLock { state in
                defer { state.announced = []; state.allTypes = false }
                return (state.announced, state.allTypes)
            }
            if active {
                do {
                    if allTypes || !announced.isEmpty {
                        try store.request(providerIDs: providersToCall(types: allTypes ? nil : announced), rearm: true)
                    }
                    if sweeping { try store.request(providerIDs: providersToCall(types: nil), rearm: false) }
                    try claimAndCall()
                } catch {
                    logger.warning("trigger sender failed", metadata: ["error": "\(error)"])
                }
            }
            let untilSweep = ContinuousClock.now.duration(to: nextSweep)
            _ = thread.sleep(for: active ? min(.milliseconds(Int(Self.pollSeconds * 1000)), untilSweep) : untilSweep)
        }
        calls.waitForAll()
    }

    /// The preferred providers of `types` (all types when nil) whose ExApp has a URL and has no
    /// long poll waiting here for the type.
    private func providersToCall(types: Set<String>?) throws -> [String] {
        let apps = triggeredApps.all
        let preferred = try catalog.current().preferred
        return preferred.compactMap { type, provider in
            guard types?.contains(type) ?? true, let appID = provider.appID, apps.contains(appID),
                !longPolls.isWaiting(appID: appID, forType: type)
            else { return nil }
            return provider.id
        }.sorted()
    }

    private func claimAndCall() throws {
        while true {
            let free = calls.freeSlots
            guard free > 0 else { return }
            let due = try store.claimDue(limit: free, leaseSeconds: settings.timeoutSeconds + Self.leaseMarginSeconds)
            for call in due { startCall(call) }
            // A full claim may have left more due: claim again while slots are free.
            if due.count < free { return }
        }
    }

    private func startCall(_ call: ProviderTriggerCall) {
        calls.start({ [self] in makeCall(call) }, finished: { [self] in thread.wakeUp() })
    }

    /// One call and its outcome recorded.
    private func makeCall(_ call: ProviderTriggerCall) {
        var metadata: Logger.Metadata = [
            "provider": "\(call.providerID)", "app": "\(call.appID)", "attempt": "\(call.attempt)",
        ]
        do throws(StoreError) {
            if call.attempt > settings.maxAttempts {
                return try record(
                    call, failure: "the ExApp answered \(settings.maxAttempts) calls but did not take the waiting tasks of "
                        + "\(call.taskType)", retry: false, &metadata)
            }
            let secret: String
            let target: WebhookTarget
            let addresses: [WebhookAddress]
            do {
                guard let sealed = call.sealedSecret else {
                    return try record(
                        call, failure: "the app's secret is not sealed: run `taskdispatch app set-url \(call.appID) URL --secret-stdin`",
                        retry: false, &metadata)
                }
                secret = try sealer().open(sealed, appID: call.appID)
                target = try ExAppBaseURL(call.baseURL).triggerTarget(providerID: call.providerID)
                addresses = try WebhookResolver.permittedAddresses(of: target.host, allowPrivateTargets: true)
            } catch let failure as WebhookResolver.Failure {
                return try record(call, failure: "\(failure)", retry: true, &metadata)
            } catch {
                return try record(call, failure: "\(error)", retry: false, &metadata)
            }
            let status: Int
            do {
                status = try transport.send(target, addresses: addresses, headers: Self.headers(call, secret: secret), body: [])
            } catch {
                return try record(call, failure: error.description, retry: true, &metadata)
            }
            metadata["status"] = "\(status)"
            guard (200..<300).contains(status) else {
                return try record(call, failure: "answered HTTP \(status)", retry: true, &metadata)
            }
            let recheck = min(settings.recheckSeconds * pow(2, Double(call.attempt - 1)), Self.maxRecheckSeconds)
            try store.markAnswered(call, recheckSeconds: recheck)
            outcomes["answered"]?.increment()
            logger.debug("ExApp triggered", metadata: metadata)
        } catch {
            logger.warning("trigger outcome not recorded", metadata: metadata.merging(["error": "\(error)"]) { $1 })
        }
    }

    /// A failed call: due again after a backoff (if `retry` and attempts remain), else given up.
    private func record(
        _ call: ProviderTriggerCall, failure: String, retry: Bool, _ metadata: inout Logger.Metadata
    ) throws(StoreError) {
        metadata["error"] = "\(failure)"
        let error = String(failure.prefix(Self.maxErrorLength))
        guard retry, call.attempt < settings.maxAttempts else {
            try store.markFailed(call, error: error, retrySeconds: nil)
            outcomes["failed"]?.increment()
            logger.error("ExApp trigger given up", metadata: metadata)
            return
        }
        let delay = min(pow(2, Double(call.attempt - 1)), Self.maxRetrySeconds) * Double.random(in: 0.5...1)
        try store.markFailed(call, error: error, retrySeconds: delay)
        outcomes["retry"]?.increment()
        metadata["retry.seconds"] = "\(delay)"
        logger.info("ExApp trigger call failed; will retry", metadata: metadata)
    }

    /// The key file's sealer, read once (and created if missing).
    private func sealer() throws -> SecretSealer {
        if let sealer = state.withLock({ $0.sealer }) { return sealer }
        let sealer = try SecretKeyFile.sealer(path: settings.secretKeyFile)
        state.withLock { $0.sealer = sealer }
        return sealer
    }

    /// AppAPI's `requestToExApp` headers (`buildAppAPIAuthHeaders` with no user, no HaRP).
    static func headers(_ call: ProviderTriggerCall, secret: String) -> [(String, String)] {
        [
            ("User-Agent", "TaskDispatch/\(TaskDispatchVersion.current)"),
            ("AA-VERSION", AppAPIEndpoints.appAPIVersion),
            ("EX-APP-ID", call.appID),
            ("EX-APP-VERSION", exAppVersion),
            ("AUTHORIZATION-APP-API", Data(":\(secret)".utf8).base64EncodedString()),
            ("AA-REQUEST-ID", "trigger-" + String(UInt64.random(in: .min ... .max), radix: 16)),
            ("Accept-Language", "en"),
        ]
    }
}
