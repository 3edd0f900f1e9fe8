import Foundation
import Glibc
import JSON
import LoopbackHTTPClient
import Postgres
import Testing

/// Helpers shared by the endpoint suites (tasks, provider, admin, authentication, bad input).
enum EndpointSupport {
    static let v1 = "/ocs/v1.php/taskprocessing"
    static let v2 = APIClient.v2

    // MARK: Stored state

    /// The number of rows in `tasks`.
    static func taskCount(_ server: TestServer) throws -> Int64 {
        let connection = try server.database()
        defer { connection.close() }
        guard let count = try connection.query("SELECT count(*)::bigint AS n FROM tasks").rows.first?.int64("n") else {
            throw TestFailure("count(*) returned no row")
        }
        return count
    }

    /// Every column of every task, as one text: equal snapshots mean nothing in `tasks` changed.
    static func tableSnapshot(_ server: TestServer) throws -> String {
        let connection = try server.database()
        defer { connection.close() }
        return try connection.query(
            "SELECT coalesce(string_agg(row_to_json(t)::text, E'\\n' ORDER BY t.id), '') AS rows FROM tasks t"
        ).rows.first?.string("rows") ?? ""
    }

    /// Every column of one task as JSON text, or nil if there is no such row.
    static func storedRow(_ server: TestServer, id: Int64) throws -> String? {
        let connection = try server.database()
        defer { connection.close() }
        return try connection.query("SELECT row_to_json(t)::text AS row FROM tasks t WHERE id = $1", [id])
            .rows.first?.string("row")
    }

    /// The stored numeric status of a task, or nil if there is no such row.
    static func storedStatus(_ server: TestServer, id: Int64) throws -> Int? {
        let connection = try server.database()
        defer { connection.close() }
        return try connection.query("SELECT status FROM tasks WHERE id = $1", [id]).rows.first?.int("status")
    }

    // MARK: Expectations

    /// Checks an OCS v2 error answer: the HTTP status, the envelope, a JSON content type, and a
    /// message (the same in `meta.message` and `data.message`) containing every fragment.
    static func expectOCSError(
        _ response: APIResponse, status: Int, mentioning fragments: [String] = [],
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(response.status == status, "HTTP status; body: \(response.bodyText)", sourceLocation: sourceLocation)
        #expect(
            response.header("Content-Type")?.hasPrefix("application/json") == true,
            "Content-Type \(response.header("Content-Type") ?? "none")", sourceLocation: sourceLocation)
        #expect(response.meta?["status"] == "failure", "meta.status; body: \(response.bodyText)", sourceLocation: sourceLocation)
        #expect(
            response.meta?["statuscode"]?.int64Value == Int64(status), "meta.statuscode; body: \(response.bodyText)",
            sourceLocation: sourceLocation)
        let message = response.message ?? ""
        #expect(!message.isEmpty, "data.message is empty; body: \(response.bodyText)", sourceLocation: sourceLocation)
        #expect(response.meta?["message"]?.stringValue == message, "meta.message differs from data.message", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(message.contains(fragment), "message '\(message)' does not mention '\(fragment)'", sourceLocation: sourceLocation)
        }
    }

    /// Checks that the server still serves a normal authenticated request.
    static func expectStillServing(_ server: TestServer, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let response = try server.client(server.alice).call("GET", "tasktypes")
            #expect(response.status == 200, "after the bad input: \(response.bodyText)", sourceLocation: sourceLocation)
            #expect(response.data?["types"]?["core:text2text"] != nil, sourceLocation: sourceLocation)
        } catch {
            Issue.record("the server stopped answering: \(error)", sourceLocation: sourceLocation)
        }
    }

    /// Polls `condition` until it holds or `seconds` pass; returns whether it held.
    static func waitUntil(seconds: Double, pollEvery interval: Double = 0.05, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if try condition() { return true }
            if Date() >= deadline { return false }
            Thread.sleep(forTimeInterval: interval)
        }
    }

    // MARK: Task shortcuts

    /// Schedules a task as `app`, claims it as `worker` and returns its id (it is then RUNNING).
    static func runningTask(_ app: APIClient, _ worker: APIClient, type: String = "core:text2text") throws -> Int64 {
        let id = try app.schedule(type: type)
        let claimed = try worker.next(types: [type])
        guard claimed.status == 200, claimed.taskID == id else {
            throw TestFailure("claim answered \(claimed.status): \(claimed.bodyText)")
        }
        return id
    }

    /// Schedules, claims and finishes a task with `output`; returns its id (SUCCESSFUL).
    static func successfulTask(_ app: APIClient, _ worker: APIClient, output: JSONValue = ["output": "done"]) throws -> Int64 {
        let id = try runningTask(app, worker)
        let result = try worker.call("POST", "tasks_provider/\(id)/result", json: ["output": output])
        guard result.status == 200 else { throw TestFailure("result answered \(result.status): \(result.bodyText)") }
        return id
    }

    /// Schedules, claims and fails a task; returns its id (FAILED).
    static func failedTask(_ app: APIClient, _ worker: APIClient) throws -> Int64 {
        let id = try runningTask(app, worker)
        let result = try worker.call("POST", "tasks_provider/\(id)/result", json: ["errorMessage": "model crashed"])
        guard result.status == 200 else { throw TestFailure("result answered \(result.status): \(result.bodyText)") }
        return id
    }

    /// Schedules and cancels a task; returns its id (CANCELLED).
    static func cancelledTask(_ app: APIClient) throws -> Int64 {
        let id = try app.schedule()
        let cancel = try app.call("POST", "tasks/\(id)/cancel")
        guard cancel.status == 200 else { throw TestFailure("cancel answered \(cancel.status): \(cancel.bodyText)") }
        return id
    }

    // MARK: Raw HTTP

    /// A raw response: status line, header lines and the body framed by Content-Length.
    struct RawResponse {
        let status: Int?
        let headers: [(name: String, value: String)]
        let body: [UInt8]

        init(_ bytes: [UInt8]) {
            let separator = Array("\r\n\r\n".utf8)
            var headEnd = bytes.count
            if bytes.count >= separator.count {
                for index in 0...(bytes.count - separator.count) where Array(bytes[index..<index + separator.count]) == separator {
                    headEnd = index
                    break
                }
            }
            let head = String(decoding: bytes[..<headEnd], as: UTF8.self).components(separatedBy: "\r\n")
            let statusParts = head.first?.split(separator: " ", maxSplits: 2) ?? []
            status = statusParts.count >= 2 && statusParts[0].hasPrefix("HTTP/1.") ? Int(statusParts[1]) : nil
            headers = head.dropFirst().compactMap { line in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
            }
            var body = Array(bytes[min(headEnd + separator.count, bytes.count)...])
            if let length = headers.first(where: { $0.name.lowercased() == "content-length" }).flatMap({ Int($0.value) }) {
                body = Array(body.prefix(length))
            }
            self.body = body
        }

        var json: JSONValue? { try? JSONValue.parse(body) }
        var message: String? { json?["ocs"]?["data"]?["message"]?.stringValue }
    }

    /// Writes `bytes` on a new connection and reads until the server closes it or `seconds` pass.
    static func sendRaw(_ server: TestServer, _ bytes: [UInt8], timeoutSeconds: Double = 10) throws -> RawResponse {
        RawResponse(try LoopbackHTTPClient.sendRaw(host: "127.0.0.1", port: server.port, bytes: bytes, timeoutSeconds: timeoutSeconds))
    }

    /// A bare TCP connection to a test server, for the slow-client test.
    final class RawConnection {
        let descriptor: Int32

        init(port: UInt16) throws {
            descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard descriptor >= 0 else { throw TestFailure("socket: errno \(errno)") }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard result == 0 else {
                Glibc.close(descriptor)
                throw TestFailure("connect: errno \(errno)")
            }
        }

        deinit { Glibc.close(descriptor) }

        func send(_ text: String) throws {
            let bytes = Array(text.utf8)
            let sent = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent == bytes.count else { throw TestFailure("send: errno \(errno)") }
        }

        /// Waits up to `seconds` for the server to close the connection; true when it did
        /// (end of stream or reset), false when the connection was still open at the end.
        /// Bytes the server sends first (such as an error response) are read and skipped.
        func closedByServer(withinSeconds seconds: Double) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let remaining = Int32(max(0, deadline.timeIntervalSinceNow * 1000))
                var descriptorPoll = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                let ready = poll(&descriptorPoll, 1, remaining)
                if ready == 0 { return false }
                if ready < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                let received = recv(descriptor, &buffer, buffer.count, 0)
                if received == 0 { return true }
                if received < 0 { return errno == ECONNRESET }
            }
        }
    }

    /// Collects values from several threads.
    final class Collector<Value>: @unchecked Sendable {
        private let lock = NSLock()
        private var storage: [Value] = []

        func append(_ value: Value) { lock.withLock { storage.append(value) } }
        var values: [Value] { lock.withLock { storage } }
    }
}
