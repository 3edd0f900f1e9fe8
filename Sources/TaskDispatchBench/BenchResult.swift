/// One row of the benchmark table.
public struct BenchResult: Sendable {
    public let scenario: String
    /// Tasks the scenario was meant to process (0 for scenarios that did not run).
    public let expectedTasks: Int
    /// Tasks it processed.
    public let tasks: Int
    public let seconds: Double
    /// Per-request latencies in milliseconds (HTTP requests, or SQL statements for the ceiling).
    public let latencies: [Double]
    /// Write transactions (transaction ids assigned) during the measured phase.
    public let writeTransactions: Int64?
    /// CPU seconds (user + system) of this process during the measured phase.
    public let processCPUSeconds: Double
    /// The part of ``processCPUSeconds`` the load generator's threads used, when known.
    public let loadGeneratorCPUSeconds: Double?
    /// CPU seconds of the database's backends during the measured phase, when readable.
    public let databaseCPUSeconds: Double?
    /// Failures of requests or statements; empty when the scenario ran cleanly.
    public let errors: [String]
    /// Why the scenario did not run, if it did not.
    public let unavailable: String?
    /// The ratio to another row, with that row's label.
    public var ratio: (value: Double, to: String)?
    /// What the row measures besides tasks (statements per second, memory), if anything.
    public var note: String?

    /// This result with `note`.
    func with(note: String) -> BenchResult {
        var result = self
        result.note = note
        return result
    }

    /// The server's CPU seconds: this process's, less its load generator's, when that is known.
    public var serverCPUSeconds: Double? { loadGeneratorCPUSeconds.map { max(processCPUSeconds - $0, 0) } }

    public var completed: Bool { unavailable == nil && errors.isEmpty && tasks == expectedTasks }
    public var tasksPerSecond: Double { seconds > 0 ? Double(tasks) / seconds : 0 }

    /// The rounds of one scenario as one row: totals of tasks, time, transactions and CPU,
    /// and every latency.
    static func combining(_ rounds: [BenchResult]) -> BenchResult {
        let first = rounds[0]
        let transactions = rounds.map(\.writeTransactions)
        let databaseCPU = rounds.map(\.databaseCPUSeconds)
        return BenchResult(
            scenario: first.scenario, expectedTasks: rounds.map(\.expectedTasks).reduce(0, +),
            tasks: rounds.map(\.tasks).reduce(0, +), seconds: rounds.map(\.seconds).reduce(0, +),
            latencies: rounds.flatMap(\.latencies),
            writeTransactions: transactions.contains(nil) ? nil : transactions.compactMap { $0 }.reduce(0, +),
            processCPUSeconds: rounds.map(\.processCPUSeconds).reduce(0, +),
            loadGeneratorCPUSeconds: rounds.contains { $0.loadGeneratorCPUSeconds == nil }
                ? nil : rounds.compactMap(\.loadGeneratorCPUSeconds).reduce(0, +),
            databaseCPUSeconds: databaseCPU.contains(nil) ? nil : databaseCPU.compactMap { $0 }.reduce(0, +),
            errors: rounds.flatMap(\.errors), unavailable: nil)
    }

    static func notAvailable(_ scenario: String, _ reason: String) -> BenchResult {
        BenchResult(
            scenario: scenario, expectedTasks: 0, tasks: 0, seconds: 0, latencies: [], writeTransactions: nil,
            processCPUSeconds: 0, loadGeneratorCPUSeconds: nil, databaseCPUSeconds: nil, errors: [], unavailable: reason)
    }

    /// The `fraction` percentile of the latencies (nearest rank), nil without latencies.
    public func percentile(_ fraction: Double) -> Double? {
        Self.percentile(fraction, of: latencies)
    }

    static func percentile(_ fraction: Double, of latencies: [Double]) -> Double? {
        guard !latencies.isEmpty else { return nil }
        let sorted = latencies.sorted()
        let rank = Int((fraction * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }
}
