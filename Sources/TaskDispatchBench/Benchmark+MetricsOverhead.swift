extension Benchmark {
    /// 10. Row 2 against the benchmark's server (metrics on, the default) in alternating rounds
    /// with row 2 against a second server over the same database with metrics off: what
    /// counting every claim, result and request costs.
    func metricsOverheadRows() throws -> [BenchResult] {
        let unmetered = Self.server(connectionString: connectionString, batchWorkerCalls: true, metrics: false, logger: logger)
        try unmetered.start()
        defer { unmetered.stop() }
        let rounds = max(1, min(settings.rounds, settings.tasks))
        var metered: [BenchResult] = []
        var reference: [BenchResult] = []
        for round in -1..<rounds {
            let tasks = round < 0
                ? min(settings.tasks, 1_000) : settings.tasks / rounds + (round < settings.tasks % rounds ? 1 : 0)
            for withMetrics in round % 2 == 0 ? [true, false] : [false, true] {
                let result = try httpSingle(
                    label: withMetrics ? "10 HTTP next + result, metrics on" : "10 reference: metrics off", tasks: tasks,
                    port: withMetrics ? server.port : unmetered.port)
                guard round >= 0 else { continue }
                if withMetrics { metered.append(result) } else { reference.append(result) }
            }
        }
        return [Self.alternated(metered, against: reference, referenceName: "metrics off")]
    }

    /// The measured rounds combined, with their ratio to the reference rounds run alternately.
    static func alternated(_ rounds: [BenchResult], against references: [BenchResult], referenceName: String) -> BenchResult {
        var result = BenchResult.combining(rounds)
        let reference = BenchResult.combining(references)
        result.ratio = (result.tasksPerSecond / max(reference.tasksPerSecond, 1e-9), "of \(referenceName)")
        result.note = "\(rounds.count) rounds alternating with \(referenceName) (\(BenchReport.format(reference.tasksPerSecond, 0)) tasks/s); "
            + "each round's ratio: "
            + zip(rounds, references).map { BenchReport.format($0.tasksPerSecond / max($1.tasksPerSecond, 1e-9), 2) }.joined(separator: ", ")
        return result
    }
}
