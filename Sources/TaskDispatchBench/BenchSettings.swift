import Foundation
import TaskDispatchApp

/// The sizes of one benchmark run.
public struct BenchSettings: Sendable {
    /// Concurrent workers (threads) in every measured phase.
    public var workers = 16
    /// Tasks per scenario (and claims measured in the backlog scenario).
    public var tasks = 20_000
    /// Rounds that rows 1 to 3 alternate in (each with `tasks / rounds` tasks, in the order
    /// 1 2 2' 3, then 3 2' 2 1, ...), so that a machine growing slower or faster during the run
    /// shifts them all alike and their ratios hold.
    public var rounds = 6
    /// Tasks waiting in the large-backlog half of scenario 7.
    public var backlog = 1_000_000
    /// Finished tasks in the table during the large-backlog half of scenario 7: the table a
    /// long-running deployment has, which the claim must not notice.
    public var finishedRows = 10_000_000
    /// Tasks waiting in the small-backlog half of scenario 7.
    public var smallBacklog = 10_000
    /// Tasks per `next_batch` claim and per batched results call (scenario 3).
    public var claimBatch = 50
    /// Tasks per `schedule/batch` call (scenario 4).
    public var scheduleBatch = 100
    /// Parked workers in scenario 5.
    public var parkedWorkers = 50
    /// Tasks scheduled one at a time in scenarios 5 and 13.
    public var wakeRounds = 200
    /// Parked workers in scenario 6.
    public var idleWorkers = 500
    /// Parked workers in scenario 8, against a server in its own process.
    public var largeFleetWorkers = 10_000
    /// The `taskdispatch` binary that scenario 8 runs its server with: this one, when the
    /// benchmark runs as `taskdispatch bench`.
    public var serverExecutable: String? = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        .flatMap { $0.hasSuffix("/taskdispatch") ? $0 : nil }
    /// Seconds scenarios 6 and 8 measure the statements of an idle fleet.
    public var idleSeconds: Double = 60
    /// Seconds scenario 6 waits before each reading of the database's counters, for idle
    /// backends to report theirs.
    public var statisticsSettleSeconds: Double = 11
    /// Tasks one successor depends on in scenario 11.
    public var fanInWidth = 1_000
    /// Measured repeats of scenario 11 (each with its reference).
    public var fanInRepeats = 20
    /// Tasks per chain in scenario 12.
    public var chainLength = 10
    /// Every row there is.
    public static let allRows = 1...13
    /// The rows to run; a row's reference runs with it, so every ratio is measured.
    public var rows: Set<Int> = Set(allRows)

    public init() {}

    /// Tiny sizes, for the test: every scenario runs, in seconds.
    public static var quick: BenchSettings {
        var settings = BenchSettings()
        settings.workers = 4
        settings.tasks = 300
        settings.rounds = 2
        settings.backlog = 3_000
        settings.smallBacklog = 300
        settings.finishedRows = 3_000
        settings.parkedWorkers = 8
        settings.wakeRounds = 10
        settings.idleWorkers = 20
        settings.largeFleetWorkers = 30
        settings.idleSeconds = 2
        settings.statisticsSettleSeconds = 0.5
        settings.fanInWidth = 30
        settings.fanInRepeats = 2
        return settings
    }
}
