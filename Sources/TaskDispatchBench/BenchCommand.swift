import ArgumentParser
import EmbeddedPostgres
import Foundation
import Logging
import TaskDispatchApp

/// `taskdispatch bench`: the benchmark of issue 5, against its own in-process server.
public struct BenchCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure claim, result and schedule throughput against an in-process server; prints a Markdown table.",
        discussion: """
            Without --database-url, a private PostgreSQL cluster is started in a new temporary folder \
            and deleted afterwards. With it, the database's tasks are DELETED: never point it at production.
            """)

    @Option(help: "Concurrent workers (threads).") var workers = 16
    @Option(help: "Tasks per scenario.") var tasks = 20_000
    @Option(help: "Waiting tasks in the large-backlog scenario.") var backlog = 1_000_000
    @Option(help: "Finished tasks in the table during the large-backlog scenario.") var finishedRows = 10_000_000
    @Option(help: "Parked workers in the wake latency scenario (5).") var parkedWorkers = 50
    @Option(help: "Tasks scheduled one at a time in the latency scenarios (5 and 13).") var wakeRounds = 200
    @Option(help: "Parked workers in the idle fleet scenario (6).") var idleWorkers = 500
    @Option(help: "Seconds the idle fleet scenarios (6 and 8) measure.") var idleSeconds = 60
    @Option(help: "Parked workers in the large fleet scenario (8), against a server in its own process.")
    var largeFleetWorkers = 10_000
    @Option(help: "PostgreSQL connection string or URL of a database to use (its tasks are deleted).")
    var databaseURL: String?
    @Option(help: "Rounds that rows 1 to 3 alternate in, their tasks split between the rounds.") var rounds = 6
    @Option(help: "Rows to run, for example 1,2 (a row's reference runs with it).") var rows = BenchSettings.allRows.map(String.init).joined(separator: ",")
    @Flag(help: "Tiny sizes: a smoke test of every scenario.") var quick = false

    var selectedRows: Set<Int>? {
        let numbers = rows.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !numbers.isEmpty, numbers.allSatisfy({ $0.map { BenchSettings.allRows.contains($0) } ?? false }) else { return nil }
        return Set(numbers.compactMap { $0 })
    }

    public func validate() throws {
        guard workers > 0, tasks > 0, backlog > 0 else { throw ValidationError("--workers, --tasks and --backlog must be positive") }
        guard finishedRows >= 0 else { throw ValidationError("--finished-rows must not be negative") }
        guard parkedWorkers > 0, wakeRounds > 0, idleWorkers > 0, idleSeconds > 0, largeFleetWorkers > 0 else {
            throw ValidationError(
                "--parked-workers, --wake-rounds, --idle-workers, --idle-seconds and --large-fleet-workers must be positive")
        }
        guard rounds > 0 else { throw ValidationError("--rounds must be positive") }
        guard selectedRows != nil else { throw ValidationError("--rows takes row numbers from 1 to 8, separated by commas") }
    }

    public init() {}

    public func run() throws {
        var settings = quick ? BenchSettings.quick : BenchSettings()
        settings.rows = selectedRows ?? settings.rows
        if !quick {
            settings.workers = workers
            settings.tasks = tasks
            settings.rounds = rounds
            settings.backlog = backlog
            settings.finishedRows = finishedRows
            settings.parkedWorkers = parkedWorkers
            settings.wakeRounds = wakeRounds
            settings.idleWorkers = idleWorkers
            settings.idleSeconds = Double(idleSeconds)
            settings.largeFleetWorkers = largeFleetWorkers
        }
        var logger = Logger(label: "taskdispatch-bench") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .warning
        if let databaseURL {
            print(try Benchmark.run(settings: settings, connectionString: databaseURL).markdown)
            return
        }
        let folder = FileManager.default.temporaryDirectory.path + "/taskdispatch-bench-\(getpid())-\(UInt32.random(in: .min ... .max))"
        try FileManager.default.createDirectory(
            atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let cluster = EmbeddedPostgres(configuration: EmbeddedPostgresConfiguration(dataDirectory: folder), logger: logger)
        let connectionString = try cluster.start()
        defer { cluster.stop() }
        print(try Benchmark.run(settings: settings, connectionString: connectionString).markdown)
    }
}
