import Foundation
import LoopbackHTTPClient
import Testing

import Glibc

// Helpers for tests that run the real `taskdispatch` binary as child processes, and for tests
// that need throwaway folders and free ports. Children are started with `posix_spawn` directly
// and reaped with `waitpid`: Foundation's `Process.waitUntilExit` does not reliably notice a
// child's exit inside this test process.

/// How a child process ended.
enum ChildExit: Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    /// Decodes a `waitpid` status (the `WIFEXITED`/`WTERMSIG` macros are not imported into Swift).
    init(waitStatus status: Int32) {
        let signal = status & 0x7f
        self = signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
    }

    var description: String {
        switch self {
        case .exited(let code): "exited with status \(code)"
        case .signaled(let signal): "killed by signal \(signal)"
        }
    }
}

struct ChildProcessError: Error, CustomStringConvertible {
    let description: String
}

/// A child process whose stdout and stderr go to a log file. Not thread-safe: one test owns it.
///
/// Whoever starts one must end it with ``terminate(timeoutSeconds:)`` or ``kill()`` (usually in
/// a `defer`), so that no child outlives its test.
final class ChildProcess {
    let pid: pid_t
    let name: String
    let logPath: String
    private(set) var exitStatus: ChildExit?

    private init(pid: pid_t, name: String, logPath: String) {
        self.pid = pid
        self.name = name
        self.logPath = logPath
    }

    /// Starts `executable` with `arguments`, in this process's environment, output appended to `logPath`.
    static func spawn(_ executable: String, _ arguments: [String], name: String, logPath: String) throws -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        closeInheritedDescriptors(&actions)

        // The child starts with default signal handling and nothing blocked, as from a shell:
        // the test runner may ignore SIGPIPE or block signals, and both are inherited.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard status == 0 else {
            throw ChildProcessError(description: "could not start \(executable): \(String(cString: strerror(status)))")
        }
        return ChildProcess(pid: pid, name: name, logPath: logPath)
    }

    /// Runs `executable` to completion (bounded) and returns how it ended and what it printed.
    static func run(_ executable: String, _ arguments: [String], logPath: String, timeoutSeconds: Double = 60) throws -> (ChildExit, String) {
        let child = try spawn(executable, arguments, name: (executable as NSString).lastPathComponent, logPath: logPath)
        guard let exit = child.waitForExit(timeoutSeconds: timeoutSeconds) else {
            child.kill()
            throw ChildProcessError(description: "\(executable) \(arguments.joined(separator: " ")) did not finish within \(timeoutSeconds) s")
        }
        return (exit, child.output)
    }

    /// Reaps the child if it has ended, without waiting.
    var hasExited: Bool {
        reap(options: WNOHANG)
        return exitStatus != nil
    }

    /// Waits up to `timeoutSeconds` for the child to end; nil if it is still running.
    func waitForExit(timeoutSeconds: Double) -> ChildExit? {
        let deadline = ContinuousClock.now + .milliseconds(Int(timeoutSeconds * 1000))
        while !hasExited && ContinuousClock.now < deadline {
            usleep(20_000)
        }
        return exitStatus
    }

    /// Sends SIGTERM and waits for the child to end; after `timeoutSeconds` it is killed.
    /// Returns how it ended (a SIGKILL shows as `.signaled(9)`).
    @discardableResult
    func terminate(timeoutSeconds: Double = 20) -> ChildExit {
        if let exitStatus { return exitStatus }
        Glibc.kill(pid, SIGTERM)
        if let exit = waitForExit(timeoutSeconds: timeoutSeconds) { return exit }
        kill()
        return exitStatus ?? .signaled(SIGKILL)
    }

    /// Kills the child with SIGKILL and reaps it. Harmless when it has already ended.
    func kill() {
        guard exitStatus == nil else { return }
        Glibc.kill(pid, SIGKILL)
        reap(options: 0)
    }

    /// Waits (bounded) until the child's output contains `text`; false if it did not, or the child ended first.
    func waitForOutput(containing text: String, timeoutSeconds: Double = 30) -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(timeoutSeconds * 1000))
        while ContinuousClock.now < deadline {
            if output.contains(text) { return true }
            if hasExited { return output.contains(text) }
            usleep(500)
        }
        return false
    }

    /// Everything the child wrote so far.
    var output: String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
    }

    /// The last lines the child wrote, for failure messages.
    var outputTail: String {
        output.split(separator: "\n", omittingEmptySubsequences: false).suffix(30).joined(separator: "\n")
    }

    private func reap(options: Int32) {
        guard exitStatus == nil else { return }
        var status: Int32 = 0
        var result: pid_t
        repeat {
            result = waitpid(pid, &status, options)
        } while result == -1 && errno == EINTR
        if result == pid { exitStatus = ChildExit(waitStatus: status) }
    }

    /// Closes every descriptor above stderr in the child. Other tests in this process open sockets
    /// without close-on-exec; a child holding a copy would keep their connections open after
    /// they close them. glibc has `posix_spawn_file_actions_addclosefrom_np` since 2.34, but
    /// Swift's Glibc module does not import it, so it is looked up at run time.
    private static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
        typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return }
        _ = unsafeBitCast(symbol, to: AddCloseFrom.self)(&actions, 3)
    }
}

/// The `taskdispatch` binary that `swift build --build-tests` puts next to the test bundle, or
/// nil (with the path looked at) when it is not there.
func taskdispatchExecutable() -> (path: String?, lookedAt: String) {
    let bundle = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
    let candidate = (bundle as NSString).deletingLastPathComponent + "/taskdispatch"
    return (FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil, candidate)
}

/// The `taskdispatch` binary, or nil after recording a test issue that says where it was looked for.
func requireTaskdispatchExecutable() -> String? {
    let located = taskdispatchExecutable()
    if located.path == nil {
        Issue.record(
            "the taskdispatch binary is not at \(located.lookedAt): build it together with the tests (`swift build --build-tests`)")
    }
    return located.path
}

/// A loopback port that was free a moment ago: bound to 127.0.0.1:0, read back, closed.
/// Another process could take it before the caller binds it; that race is accepted here.
func freeLoopbackPort() throws -> UInt16 {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw ChildProcessError(description: "socket() failed: errno \(errno)") }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
            bind(descriptor, socketAddress, length) == 0 && getsockname(descriptor, socketAddress, &length) == 0
        }
    }
    guard bound else { throw ChildProcessError(description: "could not bind 127.0.0.1:0: errno \(errno)") }
    return UInt16(bigEndian: address.sin_port)
}

/// Waits (bounded) until a server answers HTTP on `port`; any HTTP status counts.
/// Gives up early if `process` ends, with its output in the error.
func waitUntilAnswering(port: UInt16, process: ChildProcess? = nil, timeoutSeconds: Double = 30) throws {
    let deadline = ContinuousClock.now + .milliseconds(Int(timeoutSeconds * 1000))
    while ContinuousClock.now < deadline {
        if let process, process.hasExited {
            throw ChildProcessError(description: "\(process.name) \(process.exitStatus!) before answering HTTP:\n\(process.outputTail)")
        }
        let client = LoopbackHTTPClient(port: port, timeoutSeconds: 2)
        if (try? client.send(method: "GET", path: "/ocs/v2.php/taskprocessing/tasktypes")) != nil { return }
        usleep(50_000)
    }
    let output = process.map { ":\n\($0.outputTail)" } ?? ""
    throw ChildProcessError(description: "nothing answered HTTP on 127.0.0.1:\(port) within \(timeoutSeconds) s\(output)")
}

/// Creates a new, empty folder under the temporary directory and returns its path.
/// `mode` 0755 lets PostgreSQL's account enter it when tests run as root.
func makeTemporaryFolder(prefix: String, mode: Int = 0o700) throws -> String {
    let suffix = String(UInt32.random(in: .min ... .max), radix: 16)
    let folder = "\(FileManager.default.temporaryDirectory.path)/\(prefix)-\(getpid())-\(suffix)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: mode])
    return folder
}
