import Dispatch
import Foundation
import Glibc
import LoopbackHTTPClient

/// Just enough socket code for what the client under test cannot show: that a server closed an
/// idle connection, and a peer that sends a response in pieces.
enum RawSockets {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// A TCP socket connected to 127.0.0.1:`port`, from the loopback address `source`
    /// (127.0.0.`source`), so that tests can act as several clients.
    static func connect(port: UInt16, source: UInt8 = 1) throws -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "socket: \(errno)") }
        if source != 1 {
            var local = loopback(port: 0, host: source)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else {
                close(descriptor)
                throw Failure(description: "bind 127.0.0.\(source): \(errno)")
            }
        }
        var address = loopback(port: port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            close(descriptor)
            throw Failure(description: "connect: \(errno)")
        }
        return descriptor
    }

    /// Waits (up to `seconds`) for the peer to close the connection without sending anything.
    static func peerCloses(_ descriptor: Int32, withinSeconds seconds: Int32) -> Bool {
        var descriptorPoll = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptorPoll, 1, seconds * 1000) == 1 else { return false }
        var byte: UInt8 = 0
        let received = recv(descriptor, &byte, 1, 0)
        return received == 0 || (received < 0 && errno == ECONNRESET)
    }

    /// A listening socket on 127.0.0.1 and the port it got.
    static func listen() throws -> (descriptor: Int32, port: UInt16) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && Glibc.listen(descriptor, 4) == 0
                    && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard descriptor >= 0, bound else {
            close(descriptor)
            throw Failure(description: "listen: \(errno)")
        }
        return (descriptor, UInt16(bigEndian: address.sin_port))
    }

    /// Accepts one connection, reads one request head, and writes `pieces` one by one with a
    /// short pause between them so that they arrive in separate reads; then closes.
    static func serveOnce(listening descriptor: Int32, pieces: [[UInt8]]) {
        let connection = accept(descriptor, nil, nil)
        guard connection >= 0 else { return }
        defer { close(connection) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var descriptorPoll = pollfd(fd: connection, events: Int16(POLLIN), revents: 0)
        while !received.ends(with: Array("\r\n\r\n".utf8)), poll(&descriptorPoll, 1, 10_000) == 1 {
            let count = recv(connection, &buffer, buffer.count, 0)
            guard count > 0 else { return }
            received += buffer[..<count]
        }
        for piece in pieces {
            _ = piece.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            usleep(20_000)
        }
    }

    /// Serves `pieces` once (as ``serveOnce(listening:pieces:)``) on a fresh port and returns what
    /// `send` made of them; `send` gets the port.
    static func receiveServedOnce<Response>(_ pieces: [String], send: (UInt16) throws -> Response) throws -> Response {
        let (listener, port) = try listen()
        defer { close(listener) }
        let served = DispatchGroup()
        served.enter()
        Thread {
            defer { served.leave() }
            serveOnce(listening: listener, pieces: pieces.map { Array($0.utf8) })
        }.start()
        defer { _ = served.wait(timeout: .now() + 20) }
        return try send(port)
    }

    /// POSTs `chunks` to `path` as a chunked body (one chunk each, then the last chunk) on a
    /// connection the client closes, and returns the raw reply.
    static func postChunked(port: UInt16, path: String, chunks: [String]) throws -> [UInt8] {
        let body = chunks.map { "\(String($0.utf8.count, radix: 16))\r\n\($0)\r\n" }.joined() + "0\r\n\r\n"
        let request = "POST \(path) HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + body
        return try LoopbackHTTPClient.sendRaw(host: "127.0.0.1", port: port, bytes: Array(request.utf8), timeoutSeconds: 10)
    }

    private static func loopback(port: UInt16, host: UInt8 = 1) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = (UInt32(0x7f00_0000) | UInt32(host)).bigEndian
        return address
    }
}

extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool {
        count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix
    }

    /// The status code of the first HTTP response in raw bytes, if they start with one.
    var httpStatus: Int? {
        let text = String(decoding: prefix(64), as: UTF8.self)
        let parts = text.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1.") else { return nil }
        return Int(parts[1])
    }

    var text: String { String(decoding: self, as: UTF8.self) }
}
