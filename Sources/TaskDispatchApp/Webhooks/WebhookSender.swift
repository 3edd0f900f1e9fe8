import CoreMetrics
import BackgroundThreads
import Dispatch
import Foundation
import Logging
import OCSAPI
import Synchronization
import TaskQueue

/// Settings of the webhook sender, from `ServerConfiguration`.
struct WebhookSenderSettings: Sendable {
    var timeoutSeconds: Double
    var retryPolicy: WebhookRetryPolicy
    var pollSeconds: Double
    var allowPrivateTargets: Bool
    var secret: String?
    /// Certificate authorities (PEM) trusted for https receivers besides the system's.
    var trustFile: String?
}

/// Delivers the webhook outbox: every server process runs one, on its own thread (blocking
/// database and network calls never run on Swift's cooperative pool).
///
/// The sender thread claims due deliveries (a lease: the attempt is counted and the row pushed
/// past the call's timeout, so other senders skip it) as long as fewer than `maxCallsInFlight`
/// calls are running, and hands each to a call of its own, so one slow receiver does not hold
/// up the others. Each call runs outside any transaction, then records
/// the outcome: delivered on a 2xx, else a retry after an exponential backoff with jitter, or
/// given up after the retry limit. A target that resolves to a refused address is given up at
/// once. A sender that dies mid-call leaves the row to come due again: delivery is at least
/// once, always with the same delivery id.
///
/// Idle cost: one claim statement per poll interval (default 2 s). A request of this process that
/// finishes a task with a webhook wakes the sender at once (`nudge`), and the sender wakes itself
/// when a retry it scheduled comes due, so neither waits for the poll.
final class WebhookSender: Sendable {
    /// Calls running at once per server process; also the most rows one claim takes.
    static let maxCallsInFlight = 8
    /// Lease beyond the call's timeout, covering name resolution and recording the outcome.
    static let leaseMarginSeconds = 10.0
    /// The longest error text kept on a delivery row.
    static let maxErrorLength = 500

    private let store: WebhookDeliveryStore
    private let settings: WebhookSenderSettings
    private let transport: WebhookTransport
    private let logger: Logger
    /// Starts, sleeps and stops the loop (internal, so tests can see its state).
    let thread = BackgroundThread(name: "taskdispatch-webhooks")
    private let calls = OutboundCalls(label: "taskdispatch-webhook-calls", limit: WebhookSender.maxCallsInFlight)
    /// When the retries this process scheduled come due, so the sender wakes for each of them
    /// instead of waiting for the poll. An entry is dropped once a claim ran after it.
    private let retryTimes = Mutex<[DispatchTime]>([])

    /// Calls by outcome (`delivered`, `retry`, `failed`), for the metrics.
    private let outcomes: [String: CoreMetrics.Counter]

    init(
        store: WebhookDeliveryStore, settings: WebhookSenderSettings, metrics: any MetricsFactory = NOOPMetricsHandler.instance,
        logger: Logger
    ) {
        outcomes = Dictionary(uniqueKeysWithValues: ["delivered", "retry", "failed"].map { outcome in
            (outcome, CoreMetrics.Counter(label: MetricFamilies.webhookDeliveries, dimensions: [("outcome", outcome)], factory: metrics))
        })
        self.store = store
        self.settings = settings
        self.transport = WebhookTransport(timeoutSeconds: settings.timeoutSeconds, trustFile: settings.trustFile)
        self.logger = logger
    }

    /// Starts the sender's thread; later calls do nothing.
    func start() {
        thread.start { [self] in run() }
    }

    /// Wakes the sender now (a task with a webhook was just finished here). Cheap; nudges that
    /// arrive while one is pending are merged.
    func nudge() {
        thread.wakeUp()
    }

    /// Asks the sender to end and waits for calls in flight (each bounded by the timeout);
    /// returns at once if it never started or has stopped. Deliveries not yet claimed stay due.
    func stop() {
        thread.stop()
    }

    private func run() {
        while !thread.shouldStop {
            let now = DispatchTime.now()
            retryTimes.withLock { $0.removeAll { $0 <= now } }
            let free = calls.freeSlots
            if free > 0 {
                do {
                    let deliveries = try store.claimDue(
                        limit: free, leaseSeconds: settings.timeoutSeconds + Self.leaseMarginSeconds)
                    for delivery in deliveries { startCall(delivery) }
                    // A full claim may have left more due: claim again (once calls free a slot).
                    if deliveries.count == free { continue }
                } catch {
                    logger.warning("webhook sender failed", metadata: ["error": "\(error)"])
                }
            }
            var wakeAt = DispatchTime.now() + settings.pollSeconds
            if let retry = retryTimes.withLock({ $0.min() }), retry < wakeAt { wakeAt = retry }
            _ = thread.sleep(until: wakeAt)
        }
        calls.waitForAll()
    }

    /// Runs one call; when it ends, notes its retry time and wakes the sender (a slot is free,
    /// and more may be due).
    private func startCall(_ delivery: WebhookDelivery) {
        calls.start({ [self] in
            if let delay = deliver(delivery) { retryTimes.withLock { $0.append(DispatchTime.now() + delay) } }
        }, finished: { [self] in nudge() })
    }

    /// One call and its outcome recorded. Returns the backoff if a retry was scheduled.
    private func deliver(_ delivery: WebhookDelivery) -> Double? {
        var metadata: Logger.Metadata = [
            "task.id": "\(delivery.task.id)", "delivery": "\(delivery.deliveryID)", "attempt": "\(delivery.attempt)",
        ]
        do throws(StoreError) {
            if delivery.attempt > settings.retryPolicy.maxAttempts {
                // The sender of the last allowed call died during it.
                return try giveUp(delivery, status: nil, error: "retry limit reached", &metadata)
            }
            let target: WebhookTarget
            let addresses: [WebhookAddress]
            do {
                target = try WebhookTarget(
                    uri: delivery.uri, method: delivery.method, allowPrivateTargets: settings.allowPrivateTargets)
                addresses = try WebhookResolver.permittedAddresses(
                    of: target.host, allowPrivateTargets: settings.allowPrivateTargets)
            } catch let failure as WebhookResolver.Failure {
                if case .unresolved = failure { return try failed(delivery, status: nil, error: "\(failure)", &metadata) }
                return try giveUp(delivery, status: nil, error: "\(failure)", &metadata)
            } catch {
                return try giveUp(delivery, status: nil, error: "refused: \(error)", &metadata)
            }
            let body = WebhookPayload.body(for: delivery.task)
            let status: Int
            do {
                status = try transport.send(target, addresses: addresses, headers: headers(delivery, body: body), body: body)
            } catch {
                return try failed(delivery, status: nil, error: error.description, &metadata)
            }
            metadata["status"] = "\(status)"
            guard (200..<300).contains(status) else {
                return try failed(delivery, status: status, error: "answered HTTP \(status)", &metadata)
            }
            try store.markDelivered(delivery, httpStatus: status)
            outcomes["delivered"]?.increment()
            logger.debug("webhook delivered", metadata: metadata)
            return nil
        } catch {
            logger.warning("webhook outcome not recorded", metadata: metadata.merging(["error": "\(error)"]) { $1 })
            return nil
        }
    }

    /// A failed call: retried after the backoff, or given up after the last allowed attempt.
    private func failed(
        _ delivery: WebhookDelivery, status: Int?, error: String, _ metadata: inout Logger.Metadata
    ) throws(StoreError) -> Double? {
        let policy = settings.retryPolicy
        guard delivery.attempt < policy.maxAttempts else {
            return try giveUp(delivery, status: status, error: error, &metadata)
        }
        let delay = policy.delaySeconds(afterAttempt: delivery.attempt, jitter: Double.random(in: 0...1))
        try store.scheduleRetry(delivery, afterSeconds: delay, httpStatus: status, error: String(error.prefix(Self.maxErrorLength)))
        outcomes["retry"]?.increment()
        metadata["error"] = "\(error)"
        metadata["retry.seconds"] = "\(delay)"
        logger.info("webhook call failed; will retry", metadata: metadata)
        return delay
    }

    private func giveUp(
        _ delivery: WebhookDelivery, status: Int?, error: String, _ metadata: inout Logger.Metadata
    ) throws(StoreError) -> Double? {
        try store.markFailed(delivery, httpStatus: status, error: String(error.prefix(Self.maxErrorLength)))
        outcomes["failed"]?.increment()
        metadata["error"] = "\(error)"
        logger.warning("webhook given up", metadata: metadata)
        return nil
    }

    /// The delivery's headers; the signature when a secret is configured.
    private func headers(_ delivery: WebhookDelivery, body: [UInt8]) -> [(String, String)] {
        let timestamp = Int64(Date().timeIntervalSince1970)
        var headers: [(String, String)] = [
            ("User-Agent", "TaskDispatch/\(TaskDispatchVersion.current)"),
            ("X-TaskDispatch-Delivery", delivery.deliveryID),
            ("X-TaskDispatch-Event", "task.finished"),
            ("X-TaskDispatch-Task", String(delivery.task.id)),
            ("X-TaskDispatch-Attempt", String(delivery.attempt)),
            ("X-TaskDispatch-Timestamp", String(timestamp)),
        ]
        if !body.isEmpty { headers.append(("Content-Type", "application/json")) }
        if let secret = settings.secret {
            headers.append(("X-TaskDispatch-Signature", WebhookSignature.sign(secret: secret, timestamp: timestamp, body: body)))
        }
        return headers
    }
}
