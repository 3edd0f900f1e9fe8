/// A blocking HTTP/1.1 client over one keep-alive TCP connection, for tests and benchmarks on
/// loopback.
///
/// It sends exactly what it is given, which is what a test of a server needs (bodies on GET,
/// percent-encodings that do not decode to UTF-8). One instance is meant for one thread.
public final class LoopbackHTTPClient {
    private let host: String
    private let port: UInt16
    private let timeoutSeconds: Double
    private let maxResponseBytes: Int
    private let tls: TLSClientConfiguration?
    private var connection: LoopbackSocket?

    /// Creates a client; it connects on the first request.
    ///
    /// - Parameters:
    ///   - host: A numeric address such as `"127.0.0.1"` or `"::1"`, or `"localhost"`.
    ///   - timeoutSeconds: The longest one ``send(method:path:headers:body:)`` may take.
    ///   - maxResponseBytes: The largest response accepted (head and body); a larger one is
    ///     a `.malformedResponse` error, so a peer cannot make the client buffer without end.
    ///   - tls: Speak HTTPS, verifying the server as this says; nil for plain HTTP.
    public init(
        host: String = "127.0.0.1", port: UInt16, timeoutSeconds: Double = 30, maxResponseBytes: Int = .max,
        tls: TLSClientConfiguration? = nil
    ) {
        self.host = host
        self.port = port
        self.timeoutSeconds = timeoutSeconds
        self.maxResponseBytes = maxResponseBytes
        self.tls = tls
    }

    deinit {
        close()
    }

    /// Sends one request and reads the full response (framed by Content-Length, chunked, or
    /// delimited by the server closing). Reconnects if the server closed the keep-alive
    /// connection before this request.
    ///
    /// `Host` (unless given in `headers`) is always sent, and so is `Content-Length` when
    /// `body` is not `nil` (unless given in `headers`, so that a test can declare a length
    /// other than the body's), also for GET.
    public func send(
        method: String,
        path: String,
        headers: [(String, String)] = [],
        body: [UInt8]? = nil
    ) throws -> LoopbackHTTPResponse {
        let request = encode(method: method, path: path, headers: headers, body: body)
        let deadline = Deadline(secondsFromNow: timeoutSeconds)

        if let reused = connection, !reused.isUnusable {
            do {
                return try exchange(request, method: method, on: reused, before: deadline)
            } catch let failure {
                // The server may close an idle connection just as the request goes out; only
                // then, with nothing received, is the request sent again.
                guard failure.retryable else { throw failure.error }
            }
        }
        connection = nil
        let fresh = try LoopbackSocket.connect(host: host, port: port)
        if let tls { try fresh.startTLS(tls, before: deadline) }
        connection = fresh
        do {
            return try exchange(request, method: method, on: fresh, before: deadline)
        } catch let failure {
            throw failure.error
        }
    }

    /// Writes raw bytes on a new connection and returns everything the server sends back
    /// until it closes the connection or the timeout passes (for malformed-request tests).
    ///
    /// - Throws: ``LoopbackHTTPError`` only if the connection cannot be made.
    public static func sendRaw(host: String, port: UInt16, bytes: [UInt8], timeoutSeconds: Double) throws -> [UInt8] {
        let socket = try LoopbackSocket.connect(host: host, port: port)
        let deadline = Deadline(secondsFromNow: timeoutSeconds)
        // The server may answer and close before reading everything; its answer still counts.
        try? socket.write(bytes, before: deadline)
        var received: [UInt8] = []
        while (try? socket.read(appendingTo: &received, before: deadline)) ?? 0 > 0 {}
        return received
    }

    /// Closes the connection; the next request opens a new one.
    public func close() {
        connection = nil
    }

    private struct ExchangeFailure: Error {
        let error: LoopbackHTTPError
        let retryable: Bool
    }

    private func exchange(
        _ request: [UInt8],
        method: String,
        on socket: LoopbackSocket,
        before deadline: Deadline
    ) throws(ExchangeFailure) -> LoopbackHTTPResponse {
        var reader = ResponseReader(socket: socket, deadline: deadline, maxResponseBytes: maxResponseBytes)
        do throws(LoopbackHTTPError) {
            var writeError: LoopbackHTTPError?
            do {
                try socket.write(request, before: deadline)
            } catch {
                // A server may refuse a request (413) and close before reading all of it:
                // its response is still worth reading.
                writeError = error
            }
            do {
                let outcome = try reader.read(method: method)
                if !outcome.connectionReusable { connection = nil }
                return outcome.response
            } catch {
                throw writeError ?? error
            }
        } catch {
            connection = nil
            let retryable = !reader.receivedAnything && error.kind != .timedOut
            throw ExchangeFailure(error: error, retryable: retryable)
        }
    }

    private func encode(method: String, path: String, headers: [(String, String)], body: [UInt8]?) -> [UInt8] {
        var request: [UInt8] = []
        request.reserveCapacity(256 + (body?.count ?? 0))
        func line(_ text: String) {
            request.append(contentsOf: text.utf8)
            request.append(contentsOf: [0x0D, 0x0A])
        }
        line("\(method) \(path) HTTP/1.1")
        if !headers.contains(where: { Self.isNamed($0.0, "host") }) {
            line("Host: \(host.contains(":") ? "[\(host)]" : host):\(port)")
        }
        for (name, value) in headers {
            line("\(name): \(value)")
        }
        if let body, !headers.contains(where: { Self.isNamed($0.0, "content-length") }) {
            line("Content-Length: \(body.count)")
        }
        line("")
        request.append(contentsOf: body ?? [])
        return request
    }

    /// Whether a header `name` is `lowercased` (an ASCII name), ignoring case.
    private static func isNamed(_ name: String, _ lowercased: String) -> Bool {
        name.utf8.elementsEqual(lowercased.utf8) { ($0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0) == $1 }
    }
}
