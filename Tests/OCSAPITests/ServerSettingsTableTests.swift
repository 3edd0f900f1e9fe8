import Foundation
@testable import TaskDispatchApp
import Testing

/// The settings table: the README's table, `--help`, deprecated spellings and messages all
/// come from it.
@Suite("Server settings table (no I/O)")
struct ServerSettingsTableTests {
    static let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../README.md")
    static let begin = "<!-- settings-table:begin -->\n"
    static let end = "<!-- settings-table:end -->"

    /// Fails when the README's table differs from the descriptors; with
    /// `TASKDISPATCH_UPDATE_README=1` it rewrites the table (and still fails, to be reviewed).
    @Test("the README's settings table is the one the descriptors write")
    func readmeTable() throws {
        let text = try String(contentsOf: Self.readme, encoding: .utf8)
        let start = try #require(text.range(of: Self.begin), "README.md lacks \(Self.begin)")
        let stop = try #require(text.range(of: Self.end, range: start.upperBound..<text.endIndex))
        let current = String(text[start.upperBound..<stop.lowerBound])
        let expected = ServerSettings.markdownTable + "\n"
        if current != expected, ProcessInfo.processInfo.environment["TASKDISPATCH_UPDATE_README"] == "1" {
            try (text[..<start.upperBound] + expected + text[stop.lowerBound...]).write(to: Self.readme, atomically: true, encoding: .utf8)
        }
        #expect(current == expected, "README.md's settings table is stale: run TASKDISPATCH_UPDATE_README=1 swift test --filter ServerSettingsTable")
    }

    @Test("flags and variables are unique, and settings in seconds say so in both names")
    func names() {
        let flags = ServerSettings.all.flatMap { [$0.flag] + $0.oldFlags }
        let variables = ServerSettings.all.flatMap { [$0.environment] + $0.oldEnvironment }
        #expect(Set(flags).count == flags.count)
        #expect(Set(variables).count == variables.count)
        for setting in ServerSettings.all where setting.valueName == "SECONDS" {
            #expect(setting.flag.hasSuffix("-seconds"), "--\(setting.flag)")
            #expect(setting.environment.hasSuffix("_SECONDS"), "\(setting.environment)")
        }
        for setting in ServerSettings.all {
            #expect(ServerSettings.helpText.contains("--\(setting.flag) "), "--help lacks --\(setting.flag)")
        }
    }

    @Test("an earlier spelling still works, from a flag or the environment, with a warning naming the new one")
    func deprecatedSpellings() throws {
        let (fromFlag, flagWarnings) = try ServerConfiguration.resolveWithWarnings(flags: ["retention": "60"], environment: [:])
        #expect(fromFlag.retentionSeconds == 60)
        #expect(flagWarnings == ["--retention is deprecated; use --retention-seconds"])
        let (fromEnvironment, environmentWarnings) = try ServerConfiguration.resolveWithWarnings(
            flags: [:], environment: ["TASKDISPATCH_CONNECTION_TIMEOUT": "7"])
        #expect(fromEnvironment.connectionTimeoutSeconds == 7)
        #expect(environmentWarnings == ["TASKDISPATCH_CONNECTION_TIMEOUT is deprecated; use TASKDISPATCH_CONNECTION_TIMEOUT_SECONDS"])
        let (current, none) = try ServerConfiguration.resolveWithWarnings(
            flags: ["connection-timeout-seconds": "8"], environment: ["TASKDISPATCH_CONNECTION_TIMEOUT": "7"])
        #expect(current.connectionTimeoutSeconds == 8, "the new flag wins over the old variable")
        #expect(none.isEmpty)
    }

    @Test("a value out of range names the flag, the variable and what is allowed")
    func outOfRange() {
        #expect {
            try ServerConfiguration.resolve(flags: [:], environment: ["TASKDISPATCH_MAX_ATTEMPTS": "0"])
        } throws: { error in
            "\(error)" == "invalid value '0' for TASKDISPATCH_MAX_ATTEMPTS (--max-attempts / TASKDISPATCH_MAX_ATTEMPTS): "
                + "expected a whole number from 1 to 1000"
        }
        #expect(throws: (any Error).self) { try ServerConfiguration.resolve(flags: ["no-such-setting": "1"], environment: [:]) }
    }

    @Test("the command line: --name value, --name=value, and a switch alone")
    func commandLine() throws {
        let flags = try ServerSettings.flags(from: [
            "--port", "0", "--lease-seconds=90", "--webhook-allow-private-targets", "--retention", "5",
        ])
        #expect(flags == ["port": "0", "lease-seconds": "90", "webhook-allow-private-targets": "true", "retention": "5"])
        #expect(throws: (any Error).self) { try ServerSettings.flags(from: ["--port"]) }
        #expect(throws: (any Error).self) { try ServerSettings.flags(from: ["--bogus", "1"]) }
        #expect(throws: (any Error).self) { try ServerSettings.flags(from: ["stray"]) }
    }
}
