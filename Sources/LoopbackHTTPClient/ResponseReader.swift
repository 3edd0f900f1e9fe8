/// Reads one HTTP/1.x response from a socket, however the bytes are split across reads.
struct ResponseReader {
    /// A response and whether its connection can carry another request.
    struct Outcome {
        let response: LoopbackHTTPResponse
        let connectionReusable: Bool
    }

    private static let maxHeadBytes = 1 << 20
    private let socket: LoopbackSocket
    private let deadline: Deadline
    /// The most bytes a response (head and body) may have; more is an error.
    private let maxResponseBytes: Int
    private var buffer: [UInt8] = []
    private var position = 0

    /// Whether any byte of the response has arrived: a connection closed before that may be
    /// a stale keep-alive connection, and the request is worth sending again.
    var receivedAnything: Bool { !buffer.isEmpty }

    init(socket: LoopbackSocket, deadline: Deadline, maxResponseBytes: Int = .max) {
        self.socket = socket
        self.deadline = deadline
        self.maxResponseBytes = maxResponseBytes
    }

    /// Reads a response to a request with `method`, skipping interim 1xx responses.
    mutating func read(method: String) throws(LoopbackHTTPError) -> Outcome {
        while true {
            let (status, version, headers) = try readHead()
            if (100...199).contains(status) { continue }
            let response = { (body: [UInt8]) in LoopbackHTTPResponse(status: status, headers: headers, body: body) }
            let connectionHeader = headers.first { $0.name.lowercased() == "connection" }?.value.lowercased()
            let keepAlive = version == "HTTP/1.1" ? connectionHeader != "close" : connectionHeader == "keep-alive"

            if method == "HEAD" || status == 204 || status == 304 {
                return Outcome(response: response([]), connectionReusable: keepAlive)
            }
            if let encoding = Self.value("transfer-encoding", in: headers), encoding.lowercased().contains("chunked") {
                return Outcome(response: response(try readChunkedBody()), connectionReusable: keepAlive)
            }
            if let lengthText = Self.value("content-length", in: headers) {
                guard let length = Int(lengthText.trimmingSpaces), length >= 0 else {
                    throw LoopbackHTTPError(.malformedResponse, "bad Content-Length \(lengthText)")
                }
                return Outcome(response: response(try readBytes(length)), connectionReusable: keepAlive)
            }
            return Outcome(response: response(try readUntilClose()), connectionReusable: false)
        }
    }

    private mutating func readHead() throws(LoopbackHTTPError) -> (Int, String, [(name: String, value: String)]) {
        let statusLine = try readLine()
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]), (100...999).contains(status) else {
            throw LoopbackHTTPError(.malformedResponse, "bad status line \(statusLine.debugDescription)")
        }
        var headers: [(name: String, value: String)] = []
        while true {
            let line = try readLine()
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else {
                throw LoopbackHTTPError(.malformedResponse, "header line without colon")
            }
            headers.append((name: String(line[..<colon]), value: String(line[line.index(after: colon)...]).trimmingSpaces))
        }
        return (status, String(parts[0]), headers)
    }

    private mutating func readChunkedBody() throws(LoopbackHTTPError) -> [UInt8] {
        var body: [UInt8] = []
        while true {
            let sizeLine = try readLine()
            let sizeText = sizeLine.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
            guard let size = Int(sizeText.trimmingSpaces, radix: 16), size >= 0 else {
                throw LoopbackHTTPError(.malformedResponse, "bad chunk size \(sizeLine.debugDescription)")
            }
            if size == 0 {
                while try !readLine().isEmpty {}  // trailers
                return body
            }
            body += try readBytes(size)
            guard try readLine().isEmpty else {
                throw LoopbackHTTPError(.malformedResponse, "chunk not followed by CRLF")
            }
        }
    }

    /// A line without its CRLF (a bare LF is accepted too).
    private mutating func readLine() throws(LoopbackHTTPError) -> String {
        while true {
            if let newline = buffer[position...].firstIndex(of: UInt8(ascii: "\n")) {
                var end = newline
                if end > position, buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let line = String(decoding: buffer[position..<end], as: UTF8.self)
                position = newline + 1
                return line
            }
            guard buffer.count - position < Self.maxHeadBytes else {
                throw LoopbackHTTPError(.malformedResponse, "line longer than \(Self.maxHeadBytes) bytes")
            }
            try fill()
        }
    }

    private mutating func readBytes(_ count: Int) throws(LoopbackHTTPError) -> [UInt8] {
        while buffer.count - position < count {
            try fill()
        }
        defer { position += count }
        return Array(buffer[position..<position + count])
    }

    private mutating func readUntilClose() throws(LoopbackHTTPError) -> [UInt8] {
        while try socket.read(appendingTo: &buffer, before: deadline) > 0 {
            try checkSize()
        }
        defer { position = buffer.count }
        return Array(buffer[position...])
    }

    private mutating func fill() throws(LoopbackHTTPError) {
        guard try socket.read(appendingTo: &buffer, before: deadline) > 0 else {
            throw LoopbackHTTPError(.receiveFailed, "connection closed before the response was complete")
        }
        try checkSize()
    }

    private func checkSize() throws(LoopbackHTTPError) {
        guard buffer.count <= maxResponseBytes else {
            throw LoopbackHTTPError(.malformedResponse, "response larger than \(maxResponseBytes) bytes")
        }
    }

    private static func value(_ lowercasedName: String, in headers: [(name: String, value: String)]) -> String? {
        headers.first { $0.name.lowercased() == lowercasedName }?.value
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var text = Substring(self)
        while text.first == " " || text.first == "\t" { text.removeFirst() }
        while text.last == " " || text.last == "\t" { text.removeLast() }
        return String(text)
    }
}
