import Foundation
import TaskQueue
import Testing

/// The README's transcribe-then-summarize example, run as written (bash and curl) against a
/// real server: the example cannot go stale.
@Suite("README dependency example")
struct DependencyExampleTests {
    static let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../README.md")

    /// The shell lines between the README's markers.
    static func exampleBlock() throws -> String {
        let text = try String(contentsOf: readme, encoding: .utf8)
        let start = try #require(text.range(of: "<!-- dependencies-example:begin -->\n```sh\n"))
        let end = try #require(text.range(of: "```\n<!-- dependencies-example:end -->", range: start.upperBound..<text.endIndex))
        return String(text[start.upperBound..<end.lowerBound])
    }

    @Test("the README's curl lines schedule a transcription and a summary that waits for it and gets the transcript")
    func readmeExample() throws {
        let server = try TestServer(providers: false)
        defer { server.stop() }
        let password = try server.server.accounts.addUser(name: "admin", isAdmin: true).appPassword
        let secret = try server.server.accounts.addApp(appID: "demo_worker")
        let providers = server.server.catalog.store
        for (id, type) in [("transcriber", "core:audio2text"), ("summarizer", "core:text2text:summary")] {
            try providers.register(TaskProvider(id: id, appID: "demo_worker", displayName: id, taskType: type, expectedRuntimeSeconds: 30))
            try providers.setPreferred(taskType: type, providerID: id)
        }
        server.server.catalog.invalidate()

        let folder = try makeTemporaryFolder(prefix: "td-readme-example")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let script = """
            set -eu
            cd '\(folder)'
            export PW='\(password)' APPAPI='\(Data(":\(secret)".utf8).base64EncodedString())'
            export BASE=http://127.0.0.1:\(server.port)/ocs/v2.php/taskprocessing OCS='OCS-APIRequest: true'
            \(try Self.exampleBlock())
            echo
            echo "T=$T S=$S"
            """
        try script.write(toFile: "\(folder)/example.sh", atomically: true, encoding: .utf8)
        let (exit, output) = try ChildProcess.run("/bin/bash", ["\(folder)/example.sh"], logPath: "\(folder)/example.log")
        #expect(exit == .exited(0), "\(output)")
        let ids = try #require(output.split(separator: "\n").last { $0.hasPrefix("T=") }, "\(output)")
        let parts = ids.split(separator: " ").map { $0.split(separator: "=").last.map(String.init) ?? "" }
        let (transcription, summary) = (parts[0], parts[1])
        #expect(output.contains("\"id\":\(summary),\"type\":\"core:text2text:summary\""), "\(output)")
        #expect(output.contains("\"waitingFor\":[\(transcription)]"), "the summary waits for the transcription: \(output)")
        // The last `next` hands out the summary with the transcript as its input.
        let lastNext = try #require(output.split(separator: "\n").dropLast().last, "\(output)")
        #expect(lastNext.contains("\"id\":\(summary)"), "\(lastNext)")
        #expect(lastNext.contains("\"input\":{\"input\":\"We ship on Friday, after the review.\"}"), "\(lastNext)")
    }
}
