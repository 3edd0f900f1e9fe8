import Foundation
import Logging

/// Runs the PostgreSQL command-line tools, as another account when this process is root.
///
/// Commands run synchronously on the calling thread; their standard output and error are
/// captured together so a failure can report what the tool said.
struct CommandRunner {
    /// What a finished command reported.
    struct Outcome {
        var status: Int32
        var output: String
    }

    /// How much of a failed command's output an error quotes.
    static let outputTailLength = 2_000

    /// The account to run as through `runuser`, or `nil` to run as this process.
    let account: String?
    let workingDirectory: String
    let logger: Logger

    /// Runs `executable` and returns its outcome, throwing unless its exit status is in `acceptedStatuses`.
    @discardableResult
    func run(_ executable: String, _ arguments: [String], acceptedStatuses: Set<Int32> = [0]) throws(EmbeddedPostgresError) -> Outcome {
        let commandLine = ([executable] + arguments).joined(separator: " ")
        let process = Process()
        if let account {
            process.executableURL = URL(fileURLWithPath: try Self.runuserPath())
            process.arguments = ["-u", account, "--", executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory)
        // libpq variables from the caller's environment must not redirect the tools to another cluster.
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PG") }
        // Output goes to a file, not a pipe: `pg_ctl start` leaves a server running that may
        // inherit the descriptor, and a pipe it holds open would never report end of file.
        let outputFile = FileManager.default.temporaryDirectory
            .appendingPathComponent("taskdispatch-command-\(UUID().uuidString).log")
        guard FileManager.default.createFile(atPath: outputFile.path, contents: nil),
              let output = try? FileHandle(forWritingTo: outputFile)
        else {
            throw .commandFailed(command: commandLine, status: -1, output: "could not create \(outputFile.path) for its output")
        }
        defer { try? FileManager.default.removeItem(at: outputFile) }
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice

        logger.debug("running \(commandLine)")
        do {
            try process.run()
        } catch {
            try? output.close()
            throw .commandFailed(command: commandLine, status: -1, output: "could not launch: \(error)")
        }
        try? output.close()
        let status = Self.waitForExit(of: process)
        let data = (try? Data(contentsOf: outputFile)) ?? Data()
        let outcome = Outcome(status: status, output: String(decoding: data, as: UTF8.self))
        guard acceptedStatuses.contains(outcome.status) else {
            throw .commandFailed(command: commandLine, status: outcome.status, output: String(outcome.output.suffix(Self.outputTailLength)))
        }
        return outcome
    }

    /// Waits for `process` to exit and returns its exit status (128 + signal number if a signal ended it).
    ///
    /// `Process.waitUntilExit()` cannot be used for `pg_ctl start`: Foundation learns that a child
    /// exited when a socket it hands to the child reaches end of file, and the server that
    /// `pg_ctl` leaves running inherits that socket, so the wait would last as long as the server.
    /// `waitid` with `WNOWAIT` observes the exit directly and leaves the child for Foundation to
    /// reap, which it does once the socket closes.
    private static func waitForExit(of process: Process) -> Int32 {
        var info = siginfo_t()
        var result: Int32
        repeat {
            result = waitid(P_PID, id_t(process.processIdentifier), &info, WEXITED | WNOWAIT)
        } while result == -1 && errno == EINTR
        guard result == 0 else {
            // Foundation reaped the child first (its socket closed at once): its own status is ready.
            process.waitUntilExit()
            return process.terminationStatus
        }
        let status = info._sifields._sigchld.si_status
        return info.si_code == CLD_EXITED ? status : 128 + status
    }

    private static func runuserPath() throws(EmbeddedPostgresError) -> String {
        let candidates = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser", "/bin/runuser"]
        guard let path = candidates.first(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw .binariesNotFound("runuser (needed to run PostgreSQL as another account when running as root) is not in \(candidates)")
        }
        return path
    }
}
