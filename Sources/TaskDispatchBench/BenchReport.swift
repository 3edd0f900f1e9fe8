import Foundation
import TaskDispatchApp

/// The results of a benchmark run, rendered as a Markdown table.
public struct BenchReport: Sendable {
    public let settings: BenchSettings
    public let results: [BenchResult]
    public let machine: String

    public var markdown: String {
        var lines = [
            "Machine: \(machine)",
            "Settings: \(settings.workers) workers, \(settings.tasks) tasks per scenario, backlog \(settings.backlog)",
            "",
            "| scenario | tasks | seconds | tasks/s | ratio | p50 ms | p95 ms | p99 ms | commits/task | server CPU s/1000 tasks | load generator CPU s/1000 tasks | database CPU s/1000 tasks |",
            "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for result in results {
            if let reason = result.unavailable {
                lines.append("| \(result.scenario) | \(reason) | | | | | | | | | | |")
                continue
            }
            let tasks = Double(result.tasks)
            func perThousand(_ seconds: Double) -> String { tasks > 0 ? Self.format(seconds * 1000 / tasks, 3) : "n/a" }
            func perTask(_ count: Int64) -> String { tasks > 0 ? Self.format(Double(count) / tasks, 3) : "n/a" }
            func milliseconds(_ fraction: Double) -> String { result.percentile(fraction).map { Self.format($0, 2) } ?? "" }
            let ratio: String = result.ratio.map { "\(Self.format($0.value, 2))× \($0.to)" } ?? ""
            let name: String = result.completed
                ? result.scenario
                : result.scenario + " (INCOMPLETE: \(result.errors.first ?? "\(result.tasks) of \(result.expectedTasks)"))"
            let cells: [String] = [
                name, String(result.tasks), Self.format(result.seconds, 2), Self.format(result.tasksPerSecond, 0), ratio,
                milliseconds(0.50), milliseconds(0.95), milliseconds(0.99),
                result.writeTransactions.map(perTask) ?? "n/a",
                result.serverCPUSeconds.map(perThousand) ?? "n/a",
                result.loadGeneratorCPUSeconds.map(perThousand) ?? "n/a",
                result.databaseCPUSeconds.map(perThousand) ?? "n/a",
            ]
            lines.append("| " + cells.joined(separator: " | ") + " |")
        }
        for result in results {
            if let note = result.note { lines += ["", "\(result.scenario): \(note)"] }
        }
        lines.append("")
        lines.append(
            "commits/task: write transactions (transaction ids assigned) per task. Server CPU: this process's CPU less its "
                + "load-generating threads' (n/a where those run outside the measured phase); database CPU: its processes', from /proc.")
        return lines.joined(separator: "\n")
    }

    static func format(_ value: Double, _ decimals: Int) -> String {
        String(format: "%.\(decimals)f", value)
    }

    /// `uname -m`, cores and memory.
    static func describeMachine() -> String {
        var names = utsname()
        uname(&names)
        let architecture = withUnsafeBytes(of: &names.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let memory = Double(ProcessInfo.processInfo.physicalMemory) / Double(1 << 30)
        return "\(architecture), \(ProcessInfo.processInfo.activeProcessorCount) cores, \(format(memory, 1)) GiB memory"
    }
}
