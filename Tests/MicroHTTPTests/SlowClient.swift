import Glibc

/// A client on one raw connection that can send as slowly as an attacker would, and tell
/// whether the server has closed the connection.
final class SlowClient {
    let descriptor: Int32

    init(port: UInt16, source: UInt8 = 1) throws {
        descriptor = try RawSockets.connect(port: port, source: source)
    }

    deinit {
        close(descriptor)
    }

    /// Sends `bytes` at once; false if the server has closed the connection.
    func send(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    /// Sends `bytes` one at a time, `interval` seconds apart, until they run out or the server
    /// closes the connection; returns whether it did, and after how many seconds.
    func trickle(_ bytes: [UInt8], interval: Double) -> (closed: Bool, seconds: Double) {
        let start = Self.now()
        for byte in bytes {
            guard send([byte]), !peerClosed(waitingSeconds: interval) else {
                return (true, Self.now() - start)
            }
        }
        return (false, Self.now() - start)
    }

    /// Reads one response with a `Content-Length` body (all the test server sends), for up to
    /// `seconds`; `nil` if the server closed the connection or the time ran out first.
    func readResponse(withinSeconds seconds: Double) -> [UInt8]? {
        let deadline = Self.now() + seconds
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Self.now() < deadline {
            if let length = Self.expectedLength(received), received.count >= length {
                return Array(received.prefix(length))
            }
            var descriptorPoll = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptorPoll, 1, 100) >= 0 else { return nil }
            guard descriptorPoll.revents != 0 else { continue }
            let count = recv(descriptor, &buffer, buffer.count, 0)
            guard count > 0 else { return nil }
            received += buffer[..<count]
        }
        return nil
    }

    /// Whether the server closes (or resets) the connection within `seconds`, sending nothing.
    func peerClosed(waitingSeconds seconds: Double) -> Bool {
        var descriptorPoll = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptorPoll, 1, Int32(seconds * 1000)) == 1 else { return false }
        var byte: UInt8 = 0
        let received = recv(descriptor, &byte, 1, Int32(MSG_DONTWAIT))
        return received == 0 || (received < 0 && errno == ECONNRESET)
    }

    /// The length of head plus body once the head is complete.
    private static func expectedLength(_ received: [UInt8]) -> Int? {
        let separator = Array("\r\n\r\n".utf8)
        guard received.count >= separator.count,
              let end = (0...(received.count - separator.count)).first(where: {
                  Array(received[$0..<($0 + separator.count)]) == separator
              })
        else { return nil }
        let head = String(decoding: received[..<end], as: UTF8.self).lowercased()
        let length = head.split(separator: "\r\n")
            .first { $0.hasPrefix("content-length:") }
            .flatMap { Int($0.dropFirst("content-length:".count).trimmingPrefix(" ")) } ?? 0
        return end + separator.count + length
    }

    private static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
