import Foundation
import Glibc
import MicroHTTP
import Testing

/// Idle sockets, however many, lock nobody out: past a limit the oldest connection still
/// waiting for a request makes room, and when none can, the newcomer gets 503 at once.
@Suite("Connection limits", .serialized)
struct ConnectionLimitTests {
    static let plainRequest = Array("GET /plain HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)

    /// A well-behaved client from `source`: connects, asks, and must be answered within a
    /// second (a bound for an answer that should be immediate, not a measurement).
    static func expectServedPromptly(_ server: TestServer, source: UInt8, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let client = try SlowClient(port: server.port, source: source)
        #expect(client.send(plainRequest), sourceLocation: sourceLocation)
        let response = client.readResponse(withinSeconds: 1)
        #expect(response?.httpStatus == 200, "from 127.0.0.\(source): \(response?.text ?? "no answer within a second")",
                sourceLocation: sourceLocation)
    }

    /// `count` connections from 127.0.0.`source` that never send a byte.
    static func idleSockets(_ server: TestServer, count: Int, source: UInt8) throws -> [Int32] {
        try (0..<count).map { _ in try RawSockets.connect(port: server.port, source: source) }
    }

    /// How many of `sockets` the server has closed (read end-of-file or a reset), waiting up to
    /// `seconds` for the count to reach `atLeast`.
    static func closedByServer(_ sockets: [Int32], atLeast: Int, withinSeconds seconds: Double) -> Int {
        let deadline = Date().addingTimeInterval(seconds)
        var closed = 0
        repeat {
            closed = sockets.filter { descriptor in
                var probe = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                return poll(&probe, 1, 0) == 1
            }.count
            if closed >= atLeast { break }
            usleep(50_000)
        } while Date() < deadline
        return closed
    }

    static func closeAll(_ sockets: [Int32]) {
        for descriptor in sockets { close(descriptor) }
    }

    @Test("1,500 idle sockets from one address: a client from another address and one from the same address are still answered at once")
    func idleSocketsFromOneAddress() throws {
        try TestServer.with(TestServer.configuration()) { server in
            let idle = try Self.idleSockets(server, count: 1500, source: 1)
            defer { Self.closeAll(idle) }
            try Self.expectServedPromptly(server, source: 2)
            try Self.expectServedPromptly(server, source: 1)
            // The per-address limit (1,000) closed the oldest idle ones to make room.
            #expect(Self.closedByServer(idle, atLeast: 501, withinSeconds: 5) >= 501)
            let evicted = server.logs.all.filter { $0.message.contains("closing a connection that sent no request") }
            #expect(evicted.count >= 501)
            #expect(evicted.first?.metadata["remote.address"]?.hasPrefix("127.0.0.1:") == true)
        }
    }

    @Test("idle sockets from several addresses up to the global limit: a new client is still answered at once, the oldest idle one made room")
    func idleSocketsUpToTheGlobalLimit() throws {
        // One libmicrohttpd thread accepts in the order the clients connected, so "oldest" is
        // the first socket; with several, their notices may interleave.
        var configuration = TestServer.configuration(threads: 1)
        configuration.connectionLimit = 300
        configuration.perAddressConnectionLimit = 100
        try TestServer.with(configuration) { server in
            var idle: [Int32] = []
            defer { Self.closeAll(idle) }
            for source: UInt8 in 3...5 { idle += try Self.idleSockets(server, count: 100, source: source) }
            #expect(Self.closedByServer(idle, atLeast: 1, withinSeconds: 0.5) == 0, "300 fit exactly")
            try Self.expectServedPromptly(server, source: 6)
            #expect(Self.closedByServer([idle[0]], atLeast: 1, withinSeconds: 2) == 1, "the oldest idle connection was closed")
            #expect(Self.closedByServer(Array(idle[1...]), atLeast: 1, withinSeconds: 0.5) == 0, "and only it")
        }
    }

    @Test("at the limit with every connection's request being handled, a new connection is answered 503 at once")
    func busyConnectionsRefuseNewcomers() throws {
        var configuration = TestServer.configuration()
        configuration.connectionLimit = 2
        try TestServer.with(configuration) { server in
            defer { server.handler.slowGate.open() }
            let busy = try (0..<2).map { _ in try SlowClient(port: server.port) }
            for client in busy {
                #expect(client.send(Array("GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)))
            }
            try waitUntilHandling(server, count: 2)
            let newcomer = try SlowClient(port: server.port)
            let refusal = newcomer.readResponse(withinSeconds: 1)
            #expect(refusal?.httpStatus == 503, "\(refusal?.text ?? "no answer within a second")")
            #expect(refusal?.text.contains("Retry-After: 1") == true)
            server.handler.slowGate.open()
            for client in busy {
                #expect(client.readResponse(withinSeconds: 10)?.httpStatus == 200, "busy requests are not cut short")
            }
            #expect(server.logs.all.contains { $0.level == .warning && $0.message.contains("refusing a new one (503)") })
        }
    }

    @Test("a connection that sends no request head within the first-request timeout is closed; a served keep-alive connection is not")
    func firstRequestHeadTimeout() throws {
        var configuration = TestServer.configuration(timeoutSeconds: 30, requestTimeoutSeconds: 30)
        configuration.firstRequestHeadTimeoutSeconds = 1
        try TestServer.with(configuration) { server in
            let silent = try SlowClient(port: server.port)
            let served = try SlowClient(port: server.port)
            #expect(served.send(Self.plainRequest))
            #expect(served.readResponse(withinSeconds: 5)?.httpStatus == 200)
            // The sweeper runs once a second: closed within 1 s of the deadline, not at once.
            #expect(RawSockets.peerCloses(silent.descriptor, withinSeconds: 5))
            usleep(1_000_000)
            #expect(served.send(Self.plainRequest), "the keep-alive connection waits on the idle timeout instead")
            #expect(served.readResponse(withinSeconds: 5)?.httpStatus == 200)
        }
    }

    private func waitUntilHandling(_ server: TestServer, count: Int) throws {
        let deadline = Date().addingTimeInterval(10)
        while server.handler.handledCount < count {
            guard Date() < deadline else { throw RawSockets.Failure(description: "requests never reached the handler") }
            usleep(10_000)
        }
    }
}
