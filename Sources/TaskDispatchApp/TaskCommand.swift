import ArgumentParser
import Foundation
import JSON
import OCSAPI
import TaskQueue

/// `taskdispatch task ...`: the admin task API on the command line, against the configured
/// database (what Nextcloud's `occ taskprocessing:task:*` commands do).
struct TaskCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "task", abstract: "Find, inspect, retry and cancel tasks, and read their statistics.",
        subcommands: [List.self, Get.self, Retry.self, Cancel.self, Stats.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tasks matching the filters, newest first.")
        @OptionGroup var filters: TaskFilterOptions
        @Option(help: "At most this many tasks (1 to 500).") var limit = 50
        @Option(help: "Continue after this cursor (printed after a full page).") var cursor: String?
        @Flag(help: "Print the API's JSON instead of a table.") var json = false
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            try withAdministration(database) { administration in
                let page = try administration.tasks(matching: try filters.filter(), limit: limit, cursor: cursor)
                if json {
                    printJSON(["tasks": .array(page.tasks.map(AdminJSON.task)), "nextCursor": page.nextCursor.map(JSONValue.string) ?? .null])
                    return
                }
                printTable(
                    ["ID", "TYPE", "STATUS", "USER", "APP", "ATTEMPT", "SCHEDULED", "ENDED", "ERROR"],
                    page.tasks.map { task in
                        [
                            "\(task.id)", task.type, task.status.adminName, task.userID ?? "-", task.appID, "\(task.attempt)",
                            formatTime(task.scheduledAt), formatTime(task.endedAt), String((task.errorMessage ?? "").prefix(60)),
                        ]
                    })
                if let next = page.nextCursor { print("more: --cursor \(next)") }
            }
        }
    }

    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a task and its attempt history.")
        @Argument(help: "The task id.") var id: Int64
        @Flag(help: "Print the API's JSON.") var json = false
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            try withAdministration(database) { administration in
                let (task, attempts) = try administration.task(id: id)
                if json {
                    printJSON(AdminJSON.task(task, attempts: attempts))
                    return
                }
                let fields: [(String, String)] = [
                    ("id", "\(task.id)"), ("type", task.type), ("status", task.status.adminName), ("user", task.userID ?? "-"),
                    ("app", task.appID), ("custom id", task.customID), ("scheduled", formatTime(task.scheduledAt)),
                    ("started", formatTime(task.startedAt)), ("ended", formatTime(task.endedAt)),
                    ("error", task.errorMessage ?? "-"), ("input", JSONValue.object(task.input).serializedString()),
                    ("output", task.output.map { JSONValue.object($0).serializedString() } ?? "-"),
                ]
                for (name, value) in fields { print("\(name):\t\(value)") }
                print("")
                printTable(
                    ["ATTEMPT", "EXAPP", "PROVIDER", "CLAIMED", "ENDED", "OUTCOME", "ERROR"],
                    attempts.map { attempt in
                        [
                            "\(attempt.attempt)", attempt.exAppID ?? "-", attempt.providerID ?? "-", formatTime(attempt.claimedAt),
                            formatTime(attempt.endedAt), attempt.outcome.rawValue, attempt.errorMessage ?? "",
                        ]
                    })
            }
        }
    }

    struct Retry: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put a FAILED or CANCELLED task back in the queue, or every one matching the filters.")
        @OptionGroup var action: TaskActionOptions

        func run() throws { try action.run(.retry) }
    }

    struct Cancel: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel a SCHEDULED or RUNNING task, or every one matching the filters.")
        @OptionGroup var action: TaskActionOptions

        func run() throws { try action.run(.cancel) }
    }

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Per task type over a time window: finished, success rate, queue wait, run time, sizes.")
        @Option(help: "The window, in seconds back from now.") var windowSeconds = 3600
        @Flag(help: "Print the API's JSON.") var json = false
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            try withAdministration(database) { administration in
                let types = try administration.statistics(windowSeconds: windowSeconds)
                if json {
                    printJSON(["windowSeconds": .int(Int64(windowSeconds)), "types": .array(types.map(AdminJSON.statistics))])
                    return
                }
                func seconds(_ value: Double?) -> String { value.map { String(format: "%.2f", $0) } ?? "-" }
                printTable(
                    ["TYPE", "FINISHED", "SUCCESS", "WAIT P50", "WAIT P95", "WAIT MAX", "RUN P50", "RUN P95", "RUN MAX", "IN B", "OUT B"],
                    types.map { stats in
                        [
                            stats.type, "\(stats.finished)", stats.successRate.map { String(format: "%.1f%%", $0 * 100) } ?? "-",
                            seconds(stats.queueWait?.p50), seconds(stats.queueWait?.p95), seconds(stats.queueWait?.max),
                            seconds(stats.runTime?.p50), seconds(stats.runTime?.p95), seconds(stats.runTime?.max),
                            stats.averageInputBytes.map { "\(Int($0))" } ?? "-", stats.averageOutputBytes.map { "\(Int($0))" } ?? "-",
                        ]
                    })
            }
        }
    }
}

/// What `task retry` and `task cancel` take: one task, or every task matching the filters
/// (refused without any unless `--all`).
struct TaskActionOptions: ParsableArguments {
    @Argument(help: "The task id (or give filters instead).") var id: Int64?
    @OptionGroup var filters: TaskFilterOptions
    @Flag(help: "Only count the tasks that would change.") var dryRun = false
    @Flag(help: "Act on every task when no filter is given.") var all = false
    @OptionGroup var database: DatabaseOptions

    func run(_ action: TaskAdministration.BulkAction) throws {
        let filter = try filters.filter()
        try withAdministration(database) { administration in
            if let id {
                guard filter == TaskFilter(), !dryRun, !all else { throw ValidationError("give a task id or filters, not both") }
                let task = action == .retry ? try administration.retry(id: id) : try administration.cancel(id: id)
                print("task \(task.id) is \(task.status.wireName)")
                return
            }
            guard all || filter != TaskFilter() else {
                throw ValidationError("give a task id, at least one filter, or --all to act on every task")
            }
            let count = try administration.apply(action, matching: filter, dryRun: dryRun)
            let tasks = count == 1 ? "task" : "tasks"
            print(dryRun ? "\(count) \(tasks) match" : "\(count) \(tasks) changed")
        }
    }
}

/// The filters of the admin task API, as options.
struct TaskFilterOptions: ParsableArguments {
    @Option(help: "Status (STATUS_FAILED, failed or 4); repeat for several.") var status: [String] = []
    @Option(help: "Task type; repeat for several.") var type: [String] = []
    @Option var userId: String?
    @Option var appId: String?
    @Option var customId: String?
    @Option(help: "The provider of the current or last claim.") var providerId: String?
    @Option(help: "Unix seconds or an ISO 8601 time.") var scheduledAfter: String?
    @Option(help: "Unix seconds or an ISO 8601 time.") var scheduledBefore: String?
    @Option(help: "Unix seconds or an ISO 8601 time.") var endedAfter: String?
    @Option(help: "Unix seconds or an ISO 8601 time.") var endedBefore: String?
    @Option(help: "Text the error message contains (any case).") var errorContains: String?

    func filter() throws -> TaskFilter {
        var filter = TaskFilter()
        filter.statuses = try status.map { text in
            guard let status = TaskStatus(operatorName: text) else {
                throw ValidationError("unknown status '\(text)'; use STATUS_SCHEDULED, STATUS_RUNNING, STATUS_SUCCESSFUL, STATUS_FAILED or STATUS_CANCELLED")
            }
            return status
        }
        filter.types = type
        (filter.userID, filter.appID, filter.customID, filter.providerID) = (userId, appId, customId, providerId)
        filter.scheduledAfter = try scheduledAfter.map { try Self.time($0, "--scheduled-after") }
        filter.scheduledBefore = try scheduledBefore.map { try Self.time($0, "--scheduled-before") }
        filter.endedAfter = try endedAfter.map { try Self.time($0, "--ended-after") }
        filter.endedBefore = try endedBefore.map { try Self.time($0, "--ended-before") }
        filter.errorContains = errorContains
        return filter
    }

    static func time(_ text: String, _ option: String) throws -> Int64 {
        if let seconds = Int64(text), seconds >= 0 { return seconds }
        if let date = ISO8601DateFormatter().date(from: text) { return Int64(date.timeIntervalSince1970) }
        throw ValidationError("\(option) must be unix seconds or an ISO 8601 time such as 2026-12-05T10:00:00Z")
    }
}

/// Runs `body` with the operator's service over the configured, migrated database.
func withAdministration(_ options: DatabaseOptions, _ body: (TaskAdministration) throws -> Void) throws {
    try withMigratedPool(options) { pool, _ in
        try body(TaskAdministration(store: TaskStore(pool: pool), catalog: ProviderCatalog(store: ProviderStore(pool: pool))))
    }
}

func printJSON(_ value: JSONValue) {
    print(value.serializedString())
}

/// Columns padded to their widest cell, two spaces apart.
func printTable(_ header: [String], _ rows: [[String]]) {
    let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
    for row in [header] + rows {
        let cells = row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }
        print(cells.joined(separator: "  "))
    }
}

/// Unix seconds as UTC ISO 8601, "-" for none.
func formatTime(_ seconds: Int64?) -> String {
    guard let seconds else { return "-" }
    return ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
}
