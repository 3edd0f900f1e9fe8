import TaskQueue

extension Benchmark {
    /// 9. Row 2 on a task type with a running limit, in alternating rounds with row 2 on the
    /// same type unlimited. The limit is the number of workers, so it never holds a worker
    /// back: the ratio is what claiming under the type's settings row lock costs.
    func limitedTypeRows() throws -> [BenchResult] {
        let rounds = max(1, min(settings.rounds, settings.tasks))
        var unlimited: [BenchResult] = []
        var limited: [BenchResult] = []
        defer { _ = try? server.tasks.setMaxRunning(type: Self.type, nil) }
        for round in -1..<rounds {
            let tasks = round < 0
                ? min(settings.tasks, 1_000) : settings.tasks / rounds + (round < settings.tasks % rounds ? 1 : 0)
            for withLimit in round % 2 == 0 ? [false, true] : [true, false] {
                _ = try server.tasks.setMaxRunning(type: Self.type, withLimit ? settings.workers : nil)
                let result = try httpSingle(
                    label: withLimit ? "9 HTTP next + result, type limited to \(settings.workers) running" : "9 reference: row 2",
                    tasks: tasks)
                guard round >= 0 else { continue }
                if withLimit { limited.append(result) } else { unlimited.append(result) }
            }
        }
        return [Self.alternated(limited, against: unlimited, referenceName: "row 2 unlimited")]
    }
}
