import CoreMetrics
import OCSAPI
import Prometheus
import Synchronization

/// The exporter: swift-prometheus's registry behind the swift-metrics API, with each family's
/// help text and buckets from ``MetricFamilies``, and the `/metrics` text. Gauges that describe
/// the database (task counts, the oldest waiting task, owed webhooks) and this process (long
/// polls, pooled connections) are read when scraped, by the `scrape` closure the server sets.
final class PrometheusExporter: MetricsFactory, MetricsExposition, Sendable {
    /// One gauge value read at scrape time.
    struct Sample: Hashable {
        let name: String
        let labels: [String]
        let labelNames: [String]
        let value: Double

        init(_ name: String, _ value: Double) {
            self.init(name, [], value)
        }

        init(_ name: String, _ labels: [(String, String)], _ value: Double) {
            self.name = name
            self.labelNames = labels.map(\.0)
            self.labels = labels.map(\.1)
            self.value = value
        }

        var key: SeriesKey { SeriesKey(name: name, labels: labels) }
    }

    struct SeriesKey: Hashable {
        let name: String
        let labels: [String]
    }

    let registry = PrometheusCollectorRegistry()
    private let scrapeState = Mutex<ScrapeState>(ScrapeState())

    private struct ScrapeState: Sendable {
        var scrape: (@Sendable () -> [Sample])?
        /// The gauges the last scrape set, to drop those no longer there (a type with no tasks left).
        var gauges: [SeriesKey: Prometheus.Gauge] = [:]
    }

    /// What the scrape reads; set once the server's parts exist.
    func setScrape(_ scrape: @escaping @Sendable () -> [Sample]) {
        scrapeState.withLock { $0.scrape = scrape }
    }

    private func help(_ label: String) -> String { MetricFamilies.all[label]?.help ?? "" }

    private func buckets(_ label: String) -> [Double] {
        MetricFamilies.all[label]?.buckets.nilIfEmpty ?? MetricFamilies.secondsBuckets
    }

    // MARK: MetricsFactory

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(name: label, labels: dimensions, help: help(label))
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(name: label, labels: dimensions, help: help(label))
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else { return registry.makeGauge(name: label, labels: dimensions, help: help(label)) }
        return registry.makeValueHistogram(name: label, labels: dimensions, buckets: buckets(label), help: help(label))
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(name: label, labels: dimensions, help: help(label))
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        registry.makeDurationHistogram(
            name: label, labels: dimensions, buckets: buckets(label).map { Duration.nanoseconds(Int64($0 * 1e9)) }, help: help(label))
    }

    func destroyCounter(_ handler: any CounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    func destroyRecorder(_ handler: any RecorderHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
        if let histogram = handler as? Histogram<Double> { registry.unregisterValueHistogram(histogram) }
    }

    func destroyMeter(_ handler: any MeterHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
    }

    func destroyTimer(_ handler: any TimerHandler) {
        if let histogram = handler as? Histogram<Duration> { registry.unregisterDurationHistogram(histogram) }
    }

    // MARK: MetricsExposition

    func render(openMetrics: Bool) -> [UInt8] {
        refreshGauges()
        var text = registry.emitToString() + ProcessMetrics.exposition()
        if openMetrics { text = Self.openMetrics(fromPrometheusText: text) }
        return Array(text.utf8)
    }

    /// Sets the scraped gauges, and drops those the scrape no longer reports.
    private func refreshGauges() {
        scrapeState.withLock { state in
            let samples = state.scrape?() ?? []
            var current: [SeriesKey: Prometheus.Gauge] = [:]
            for sample in samples {
                let gauge = state.gauges[sample.key]
                    ?? registry.makeGauge(name: sample.name, labels: Array(zip(sample.labelNames, sample.labels)), help: help(sample.name))
                gauge.set(sample.value)
                current[sample.key] = gauge
            }
            for (key, gauge) in state.gauges where current[key] == nil { registry.unregisterGauge(gauge) }
            state.gauges = current
        }
    }

    /// The OpenMetrics 1.0 form of a Prometheus 0.0.4 text: a counter family is named without
    /// its `_total` suffix in its HELP and TYPE lines (its samples keep it), and the text ends
    /// with `# EOF`.
    static func openMetrics(fromPrometheusText text: String) -> String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        var counters = Set<Substring>()
        for line in lines where line.hasPrefix("# TYPE ") && line.hasSuffix(" counter") {
            let name = line.dropFirst(7).prefix { $0 != " " }
            if name.hasSuffix("_total") { counters.insert(name) }
        }
        var output = ""
        for line in lines {
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") {
                let keyword = line.prefix(7)
                let rest = line.dropFirst(7)
                let name = rest.prefix { $0 != " " }
                if counters.contains(name) {
                    output += keyword + name.dropLast(6) + rest.dropFirst(name.count) + "\n"
                    continue
                }
            }
            output += line + "\n"
        }
        return output + "# EOF\n"
    }
}

extension Array {
    var nilIfEmpty: Self? { isEmpty ? nil : self }
}
