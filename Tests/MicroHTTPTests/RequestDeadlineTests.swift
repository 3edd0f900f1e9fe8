import Foundation
import Glibc
import LoopbackHTTPClient
import MicroHTTP
import Testing

/// A connection must deliver each request within idle + request timeout of being accepted or
/// of its previous response; libmicrohttpd's own timeout counts idle time only.
@Suite("Request deadlines")
struct RequestDeadlineTests {
    /// Each request is due 2 s after the connection opened or its previous response went out.
    private static let tight = TestServer.configuration(timeoutSeconds: 1, requestTimeoutSeconds: 1)

    /// Far more bytes than a client sending one every 0.3 s gets out in 10 s.
    private static let longRequestLine = Array(("GET /" + String(repeating: "a", count: 100)).utf8)

    @Test("a client trickling its request line is disconnected, and the server keeps serving")
    func tricklingRequestLine() throws {
        try TestServer.with(Self.tight) { server in
            let client = try SlowClient(port: server.port)
            // Never idle for the 1 s idle timeout; only the deadline can end it. The bound is
            // for the test to finish, not a measurement.
            let outcome = client.trickle(Self.longRequestLine, interval: 0.3)
            #expect(outcome.closed, "still open after \(outcome.seconds) s")
            try expectStillServing(server)
            let notice = server.logs.all.first { $0.level == .notice && $0.message.contains("request not received in time") }
            #expect(notice?.metadata["remote.address"]?.hasPrefix("127.0.0.1:") == true)
            #expect(notice?.metadata["request.id"] == nil, "no head arrived, so there is no request id")
        }
    }

    @Test("a client trickling its body is disconnected before the handler sees the request")
    func tricklingBody() throws {
        try TestServer.with(Self.tight) { server in
            let client = try SlowClient(port: server.port)
            #expect(client.send(Array("POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n".utf8)))
            let outcome = client.trickle(Array(repeating: UInt8(ascii: "x"), count: 1000), interval: 0.3)
            #expect(outcome.closed, "still open after \(outcome.seconds) s")
            #expect(server.handler.handledCount == 0)
            try expectStillServing(server)
            let notice = server.logs.all.first { $0.level == .notice && $0.message.contains("request not received in time") }
            #expect(notice?.metadata["request.id"] != nil, "the head had arrived, so its id is logged")
        }
    }

    @Test("a keep-alive connection pausing between requests is served for longer than one allowance")
    func keepAlivePauses() throws {
        // Idle 2 s, request 1 s: a pause of 1.5 s is within the idle timeout (which would close
        // the connection itself otherwise) and longer than the request timeout alone, and four
        // requests span more than one 3 s allowance, so the deadline must move after each one.
        try TestServer.with(TestServer.configuration(timeoutSeconds: 2, requestTimeoutSeconds: 1)) { server in
            let client = try SlowClient(port: server.port)
            for round in 0..<4 {
                if round > 0 { usleep(1_500_000) }
                #expect(client.send(Array("GET /plain HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)), "round \(round)")
                let response = client.readResponse(withinSeconds: 10)
                #expect(response?.httpStatus == 200, "round \(round)")
                #expect(response?.text.hasSuffix("\r\n\r\nplain") == true, "round \(round)")
            }
            #expect(server.handler.handledCount == 4)
            #expect(!server.logs.all.contains { $0.message.contains("request not received in time") })
        }
    }

    @Test("a handler slower than both timeouts still gets its response out")
    func slowHandler() throws {
        try TestServer.with(Self.tight) { server in
            let client = try SlowClient(port: server.port)
            #expect(client.send(Array("GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)))
            #expect(server.handler.slowGate.waitUntilEntered(upToSeconds: 10))
            // Longer than idle + request timeout, and more than one sweep.
            usleep(3_000_000)
            server.handler.slowGate.open()
            let response = client.readResponse(withinSeconds: 10)
            #expect(response?.httpStatus == 200)
            #expect(response?.text.hasSuffix("\r\n\r\nslow") == true)
            #expect(!server.logs.all.contains { $0.message.contains("request not received in time") })
        }
    }

    @Test("a request timeout of 0 leaves only the idle timeout")
    func disabled() throws {
        try TestServer.with(TestServer.configuration(timeoutSeconds: 1, requestTimeoutSeconds: 0)) { server in
            let client = try SlowClient(port: server.port)
            // 3 s of trickling: past what a deadline of 1 s + 0 s would allow, several sweeps long.
            let outcome = client.trickle(Array(Self.longRequestLine.prefix(10)), interval: 0.3)
            #expect(!outcome.closed)
            #expect(client.peerClosed(waitingSeconds: 10), "the idle timeout still applies")
        }
    }

    private func expectStillServing(_ server: TestServer) throws {
        let response = try LoopbackHTTPClient(port: server.port, timeoutSeconds: 10).send(method: "GET", path: "/plain")
        #expect(response.status == 200)
    }
}
