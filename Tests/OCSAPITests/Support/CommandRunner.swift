import Foundation
import Testing

/// Runs `taskdispatch` commands against one database, each with its own log file, and checks
/// how they end: what the command tests share.
final class CommandRunner {
    let executable: String
    let connectionString: String
    let folder: String
    private var runs = 0

    init(executable: String, connectionString: String, folderPrefix: String) throws {
        self.executable = executable
        self.connectionString = connectionString
        folder = try makeTemporaryFolder(prefix: folderPrefix)
    }

    deinit { try? FileManager.default.removeItem(atPath: folder) }

    func run(_ arguments: [String]) throws -> (ChildExit, String) {
        runs += 1
        return try ChildProcess.run(
            executable, arguments + ["--database-url", connectionString, "--log-level", "warning"],
            logPath: "\(folder)/run-\(runs).log")
    }

    /// Runs a command that must exit 0; returns its output.
    @discardableResult
    func succeed(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let (exit, output) = try run(arguments)
        #expect(exit == .exited(0), "\(arguments.joined(separator: " ")): \(output)", sourceLocation: sourceLocation)
        return output
    }

    /// Runs a command that must fail, saying `fragment`.
    func refuse(_ arguments: [String], mentioning fragment: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let (exit, output) = try run(arguments)
        #expect(exit != .exited(0), "\(arguments.joined(separator: " ")) should fail", sourceLocation: sourceLocation)
        #expect(output.contains(fragment), "\(arguments.joined(separator: " ")): \(output)", sourceLocation: sourceLocation)
    }
}
