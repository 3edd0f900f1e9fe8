import Foundation
import JSON
import TaskDispatchApp
import TaskDispatchTesting
import Testing

/// `taskdispatch provider …` and `taskdispatch type …` run as a real process against a database,
/// and a server over that database following what they changed.
@Suite("Provider and type commands")
struct ProviderCommandTests {
    static let echoType = #"""
        {"id":"cli:echo","name":"Echo","description":"Echoes its input",
         "inputShape":{"input":{"name":"Input","description":"The text","type":"Text"}},
         "outputShape":{"output":{"name":"Output","description":"The same text","type":"Text"}}}
        """#

    @Test("type add/list/remove and provider add/list/prefer/remove change what a server over the database does; mistakes exit non-zero and change nothing")
    func commands() throws {
        guard let executable = requireTaskdispatchExecutable() else { return }
        let connectionString = try TestDatabase.create(prefix: "provider_cli")
        let commands = try CommandRunner(executable: executable, connectionString: connectionString, folderPrefix: "td-provider-cli")

        _ = try commands.succeed(["type", "add", Self.echoType])
        #expect(try commands.succeed(["type", "list"]).contains("cli:echo\tEcho"))
        _ = try commands.succeed(["provider", "add", "echo-1", "--type", "cli:echo", "--expected-runtime", "5"])
        _ = try commands.succeed(["provider", "add", "echo-2", "--type", "cli:echo", "--name", "Second echo", "--expected-runtime", "7"])
        #expect(try commands.succeed(["provider", "list"]).contains("echo-1\tcli:echo\t5s\tadmin\t*"))
        _ = try commands.succeed(["provider", "prefer", "cli:echo", "echo-2"])
        let listed = try commands.succeed(["provider", "list"])
        #expect(listed.contains("echo-2\tcli:echo\t7s\tadmin\t*") && !listed.contains("echo-1\tcli:echo\t5s\tadmin\t*"), "\(listed)")

        try commands.refuse(["provider", "prefer", "cli:echo", "nobody"], mentioning: "does not process task type 'cli:echo'")
        try commands.refuse(["provider", "add", "x", "--type", "nope:type"], mentioning: "unknown task type 'nope:type'")
        try commands.refuse(["provider", "add", "x", "--type", "cli:echo", "--expected-runtime", "-1"], mentioning: "--expected-runtime")
        try commands.refuse(["provider", "remove", "nobody"], mentioning: "no provider 'nobody'")
        try commands.refuse(["provider", "add", "x", "--type", "cli:echo", "--app", "no-such-app"], mentioning: "no ExApp 'no-such-app'")
        try commands.refuse(["type", "remove", "cli:echo"], mentioning: "still has providers (echo-1, echo-2)")
        try commands.refuse(["type", "add", #"{"id":"core:text2text","name":"n","description":"d"}"#], mentioning: "core task type")
        try commands.refuse(["type", "add", "not json"], mentioning: "JSON object")
        try commands.refuse(
            ["type", "add", #"{"id":"cli:bad","name":"n","description":"d","inputShape":{"x":{"name":"x","description":"d","type":"Blob"}}}"#],
            mentioning: "'inputShape.x'")
        #expect(try commands.succeed(["type", "list"]) == "cli:echo\tEcho\n")

        // A server over the database schedules the type with the preferred provider's runtime
        // and hands its tasks to that provider only.
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.databaseURL = connectionString
        let server = TaskDispatchServer(configuration: configuration, connectionString: connectionString, logger: TestServer.silentLogger)
        try server.start()
        defer { server.stop() }
        let app = APIClient(port: server.port, caller: .user("alice", try server.accounts.addUser(name: "alice", isAdmin: false).appPassword))
        let worker = APIClient(port: server.port, caller: .exApp("w", try server.accounts.addApp(appID: "w"), user: ""))
        let task = try #require(try app.call(
            "POST", "schedule", json: ["type": "cli:echo", "input": ["input": "hi"], "appId": "a"]).task)
        #expect(task["completionExpectedAt"]?.int64Value == task["scheduledAt"]?.int64Value.map { $0 + 7 })
        #expect(try worker.next(types: ["cli:echo"], providers: ["echo-1"]).status == 204)
        let claimed = try worker.next(types: ["cli:echo"], providers: ["echo-2"])
        #expect(claimed.taskID == task["id"]?.int64Value && claimed.data?["provider"] == ["name": "echo-2"], "\(claimed.bodyText)")

        _ = try commands.succeed(["provider", "remove", "echo-1"])
        _ = try commands.succeed(["provider", "remove", "echo-2"])
        _ = try commands.succeed(["type", "remove", "cli:echo"])
        #expect(try commands.succeed(["type", "list"]) == "")
        #expect(try commands.succeed(["provider", "list"]) == "")
        // The claimed task outlives its type and provider.
        #expect(try app.call("GET", "task/\(claimed.taskID ?? 0)").task?["status"] == "STATUS_RUNNING")
    }
}
