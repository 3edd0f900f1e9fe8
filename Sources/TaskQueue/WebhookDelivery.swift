/// One webhook call owed for a finished task, as claimed by a sender.
public struct WebhookDelivery: Sendable, Equatable {
    /// The row id, for recording the outcome.
    public var rowID: Int64
    /// Sent as `X-TaskDispatch-Delivery`, the same on every attempt, so receivers can drop repeats.
    public var deliveryID: String
    public var uri: String
    /// `HTTP:POST` etc., as given on schedule.
    public var method: String
    /// This attempt's number, from 1.
    public var attempt: Int
    /// The finished task: the payload.
    public var task: TaskRecord
}

/// How failed webhook calls are retried: exponential backoff with jitter, capped, up to a limit.
public struct WebhookRetryPolicy: Sendable, Equatable {
    /// Calls in all; after the last failed one the delivery is recorded as failed.
    public var maxAttempts: Int
    /// Backoff after the first failed call, in seconds; doubling with each further one.
    public var baseDelaySeconds: Double
    /// The longest backoff, in seconds.
    public var maxDelaySeconds: Double

    public init(maxAttempts: Int = 10, baseDelaySeconds: Double = 10, maxDelaySeconds: Double = 3600) {
        self.maxAttempts = maxAttempts
        self.baseDelaySeconds = baseDelaySeconds
        self.maxDelaySeconds = maxDelaySeconds
    }

    /// The wait after failed call number `attempt` (from 1): `base * 2^(attempt-1)`, capped,
    /// times a factor in [0.5, 1] picked by `jitter` in [0, 1], so that receivers that were down
    /// together are not called again all at the same moment.
    public func delaySeconds(afterAttempt attempt: Int, jitter: Double) -> Double {
        let exponent = Double(min(max(attempt - 1, 0), 62))
        let backoff = min(maxDelaySeconds, baseDelaySeconds * pow2(exponent))
        return backoff * (0.5 + min(max(jitter, 0), 1) / 2)
    }

    private func pow2(_ exponent: Double) -> Double {
        var value = 1.0
        for _ in 0..<Int(exponent) { value *= 2 }
        return value
    }
}

/// Webhook deliveries still owed and given up, for the status endpoint.
public struct WebhookDeliveryCounts: Sendable, Equatable {
    public var pending: Int64
    public var failed: Int64

    public init(pending: Int64, failed: Int64) {
        self.pending = pending
        self.failed = failed
    }
}

/// Where a webhook delivery stands.
public enum WebhookDeliveryState: String, Sendable, CaseIterable {
    /// Owed: not called yet, or failed and due again at `nextAttemptAt`.
    case pending
    case delivered
    /// Given up: the retry limit was reached or the target was refused.
    case failed
}

/// A webhook delivery as operators read it.
public struct WebhookDeliveryRecord: Sendable, Equatable {
    public var id: Int64
    public var deliveryID: String
    public var taskID: Int64
    public var uri: String
    public var method: String
    public var state: WebhookDeliveryState
    /// Calls made so far.
    public var attempts: Int
    /// Unix seconds; for a pending delivery, when it is called next.
    public var nextAttemptAt: Int64
    /// The HTTP status and the error of the last failed call.
    public var lastStatus: Int?
    public var lastError: String?
    public var createdAt: Int64
    public var deliveredAt: Int64?
}
