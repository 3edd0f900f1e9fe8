import Foundation
import JSON
import Postgres
import TaskDispatchTesting
import TaskQueue
import Testing

/// `taskdispatch task …` and `type pause|resume|limit` run as a real process against a database.
@Suite("Task and type operator commands")
struct TaskCommandTests {
    @Test("task list/get/retry/cancel/stats and type pause/resume/limit do what the admin API does; mistakes exit non-zero")
    func commands() throws {
        guard let executable = requireTaskdispatchExecutable() else { return }
        let connectionString = try TestDatabase.create(prefix: "task_cli")
        let pool = PostgresConnectionPool(
            configuration: PostgresPoolConfiguration(connectionString: connectionString, maxConnections: 2),
            logger: TestServer.silentLogger)
        defer { pool.close() }
        _ = try pool.withConnection { try SchemaMigrator(logger: TestServer.silentLogger).migrate($0) }
        let store = TaskStore(pool: pool)
        var ids: [Int64] = []
        for n in 0..<5 {
            ids.append(try store.schedule(NewTask(type: "core:text2text", input: ["input": .string("t\(n)")], userID: "alice", appID: "app")).id)
        }
        let claimed = try store.claim(types: ["core:text2text"], limit: 2, claimant: "ex-app", leaseSeconds: 60)
        for task in claimed {
            _ = try store.reportResult(id: task.id, result: .failure(errorMessage: "GPU fell over", userFacingErrorMessage: nil))
        }

        let commands = try CommandRunner(executable: executable, connectionString: connectionString, folderPrefix: "td-task-cli")
        func json(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> JSONValue {
            let output = try commands.succeed(arguments + ["--json"], sourceLocation: sourceLocation)
            let line = output.split(separator: "\n").last.map(String.init) ?? ""
            return try JSONValue.parse(line)
        }

        let table = try commands.succeed(["task", "list", "--status", "failed"])
        #expect(table.hasPrefix("ID"), "\(table)")
        #expect(table.split(separator: "\n").count == 3 && table.contains("GPU fell over"), "\(table)")
        let listed = try json(["task", "list", "--type", "core:text2text", "--limit", "2"])
        #expect(listed["tasks"]?.arrayValue?.map { $0["id"]?.int64Value } == [ids[4], ids[3]])
        #expect(listed["nextCursor"] == .string(String(ids[3])))

        let failedID = claimed[0].id
        let detail = try json(["task", "get", String(failedID)])
        #expect(detail["attempts"]?.arrayValue?.first?["outcome"] == "failed", "\(detail)")
        #expect(try commands.succeed(["task", "get", String(failedID)]).contains("GPU fell over"))

        #expect(try commands.succeed(["task", "retry", "--error-contains", "gpu", "--dry-run"]).contains("2 tasks match"))
        #expect(try commands.succeed(["task", "retry", String(failedID)]).contains("STATUS_SCHEDULED"))
        #expect(try commands.succeed(["task", "retry", "--status", "STATUS_FAILED"]).contains("1 task changed"))
        try commands.refuse(["task", "retry", String(failedID)], mentioning: "only a task in STATUS_FAILED or STATUS_CANCELLED")
        try commands.refuse(["task", "cancel"], mentioning: "--all")
        #expect(try commands.succeed(["task", "cancel", "--all"]).contains("5 tasks changed"))
        try commands.refuse(["task", "list", "--status", "done"], mentioning: "unknown status 'done'")
        try commands.refuse(["task", "list", "--ended-after", "yesterday"], mentioning: "ISO 8601")
        try commands.refuse(["task", "get", "999999"], mentioning: "Task not found")

        let stats = try json(["task", "stats", "--window-seconds", "600"])
        #expect(stats["types"]?.arrayValue?.first?["cancelled"] == 5, "\(stats)")
        #expect(try commands.succeed(["task", "stats"]).contains("core:text2text"))

        _ = try commands.succeed(["type", "pause", "core:text2text"])
        #expect(try store.typeSettings()["core:text2text"] == TaskTypeSetting(paused: true))
        _ = try commands.succeed(["type", "limit", "core:text2text", "3"])
        #expect(try store.typeSettings()["core:text2text"] == TaskTypeSetting(paused: true, maxRunning: 3))
        _ = try commands.succeed(["type", "resume", "core:text2text"])
        _ = try commands.succeed(["type", "limit", "core:text2text", "none"])
        #expect(try store.typeSettings().isEmpty)
        try commands.refuse(["type", "limit", "core:text2text", "0"], mentioning: "between 1 and 100000")
        try commands.refuse(["type", "limit", "core:text2text", "lots"], mentioning: "from 1 to 100000")
        try commands.refuse(["type", "pause", "core:nope"], mentioning: "unknown task type 'core:nope'")
        #expect(try store.typeSettings().isEmpty, "refused commands changed nothing")
    }
}
