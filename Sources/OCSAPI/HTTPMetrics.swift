import CoreMetrics
import Synchronization

/// Requests by route pattern and status, and their durations by route pattern, through the
/// swift-metrics API. Handles are made once per label set and kept.
final class HTTPMetrics: Sendable {
    static let requestsName = "taskdispatch_http_requests_total"
    static let durationName = "taskdispatch_http_request_duration_seconds"

    private struct Key: Hashable {
        let route: String
        let status: Int
    }

    private let factory: any MetricsFactory
    private let counters = Mutex<[Key: Counter]>([:])
    private let timers = Mutex<[String: Timer]>([:])

    init(factory: any MetricsFactory) {
        self.factory = factory
    }

    func record(route: String, status: Int, seconds: Double) {
        let key = Key(route: route, status: status)
        let counter = counters.withLock { counters in
            if let known = counters[key] { return known }
            let made = Counter(
                label: Self.requestsName, dimensions: [("route", route), ("status", String(status))], factory: factory)
            counters[key] = made
            return made
        }
        counter.increment()
        let timer = timers.withLock { timers in
            if let known = timers[route] { return known }
            let made = Timer(label: Self.durationName, dimensions: [("route", route)], factory: factory)
            timers[route] = made
            return made
        }
        timer.recordNanoseconds(Int64(seconds * 1_000_000_000))
    }
}
