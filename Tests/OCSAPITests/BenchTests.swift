import Postgres
import TaskDispatchApp
import TaskDispatchBench
import TaskDispatchTesting
import Testing

/// The benchmark program runs every scenario to the end; its numbers are not judged here
/// (no thresholds: timing depends on the machine).
@Suite("taskdispatch bench")
struct BenchTests {
    @Test("--quick sizes: every scenario completes with the expected number of tasks")
    func quickRun() throws {
        let connectionString = try TestDatabase.create(prefix: "bench")
        var settings = BenchSettings.quick
        settings.serverExecutable = requireTaskdispatchExecutable()
        let report = try Benchmark.run(settings: settings, connectionString: connectionString)

        #expect(report.results.allSatisfy { $0.unavailable == nil })
        #expect(report.results.map(\.scenario).map { $0.prefix { $0 != " " } } == ["1", "2", "2", "2", "3", "4", "4", "5", "6", "7", "7", "9", "10", "11", "12", "13", "13", "8"])
        // Row 2 against the server as configured, against one without worker call batching and over TLS,
        // each in the alternating rounds with row 1.
        let singles = report.results.filter { $0.scenario.hasPrefix("2") }
        #expect(singles.map(\.scenario) == [
            "2 HTTP next + result", "2 HTTP next + result, worker calls not batched", "2 HTTPS next + result (TLS, keep-alive)",
        ])
        #expect(singles.last?.ratio?.to == "of 2", "the HTTPS row is a ratio to row 2")
        let alternating = report.results.filter { "23".contains($0.scenario.prefix(1)) }
        #expect(alternating.allSatisfy { $0.note?.contains("\(settings.rounds) rounds alternating with rows 1 to 3") == true })
        for result in report.results {
            #expect(result.errors.isEmpty, "\(result.scenario): \(result.errors)")
            #expect(result.completed, "\(result.scenario)")
        }
        for result in report.results where !"568".contains(result.scenario.prefix(1)) && !result.scenario.hasPrefix("11")
            && !result.scenario.hasPrefix("13")
        {
            #expect(result.expectedTasks == settings.tasks, "\(result.scenario)")
            #expect(result.tasks == settings.tasks, "\(result.scenario)")
            #expect(!result.latencies.isEmpty, "\(result.scenario)")
            // The load generator's threads live inside the phase: their CPU is known and split off.
            #expect(result.loadGeneratorCPUSeconds != nil && result.serverCPUSeconds != nil, "\(result.scenario)")
        }
        // 11: per repeat, the fan-in latency; the tasks are the predecessors of every repeat.
        let fanIn = try #require(report.results.first { $0.scenario.hasPrefix("11") })
        #expect(fanIn.tasks == settings.fanInWidth * settings.fanInRepeats)
        #expect(fanIn.latencies.count == settings.fanInRepeats, "the probe held every successor")
        #expect(fanIn.note?.contains("from the last of \(settings.fanInWidth) results' 200") == true)
        // 5: one latency per task scheduled into the parked fleet.
        let wake = try #require(report.results.first { $0.scenario.hasPrefix("5") })
        #expect(wake.tasks == settings.wakeRounds)
        #expect(wake.latencies.count == settings.wakeRounds)
        // 13: one schedule → result latency per task, long poll then trigger; one call per task.
        let triggerRows = report.results.filter { $0.scenario.hasPrefix("13") }
        #expect(triggerRows.map(\.latencies.count) == [settings.wakeRounds, settings.wakeRounds])
        #expect(triggerRows.last?.note == "trigger calls: \(settings.wakeRounds)", "\(triggerRows.last?.note ?? "")")
        #expect(triggerRows.last?.ratio?.to == "p50 of 13 long poll")
        // 6: statements per second and memory, for the whole parked fleet.
        let idle = try #require(report.results.first { $0.scenario.hasPrefix("6") })
        #expect(idle.note?.contains("statements/s") == true)
        #expect(idle.note?.contains("\(settings.idleWorkers) parked at the end") == true, "\(idle.note ?? "")")
        // 8: the server in its own process, measured alone, with the fleet parked on it.
        let fleet = try #require(report.results.first { $0.scenario.hasPrefix("8") })
        #expect(fleet.latencies.count == settings.wakeRounds)
        for part in ["server RSS", "statements/s", "ordinary request (GET tasktypes) p50"] {
            #expect(fleet.note?.contains(part) == true, "\(fleet.note ?? "")")
        }
        #expect(report.results.filter { $0.scenario.hasPrefix("7") }.map(\.scenario)
            == ["7 backlog, \(settings.smallBacklog) waiting", "7 backlog, \(settings.backlog) waiting + \(settings.finishedRows) finished"])

        let table = report.markdown
        for result in report.results {
            #expect(table.contains("| \(result.scenario)"), "a row for \(result.scenario)")
        }
        #expect(table.contains("| server CPU s/1000 tasks | load generator CPU s/1000 tasks | database CPU s/1000 tasks |"))
        #expect(!table.contains("not available"))
        #expect(!table.contains("INCOMPLETE"))

        let database = try PostgresConnection(connectionString: connectionString, logger: TestServer.silentLogger)
        defer { database.close() }
        #expect(try database.query("SELECT count(*) AS n FROM tasks")[0].int64("n") == 0, "the benchmark leaves no tasks behind")
    }
}
