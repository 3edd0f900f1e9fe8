import LoopbackHTTPClient
import MicroHTTP
import Testing

@Suite("Requests reach the handler intact")
struct RoundTripTests {
    @Test("method, decoded path, query in order with repeats, headers and body arrive as sent")
    func roundTrip() throws {
        try TestServer.with { server in
            let client = LoopbackHTTPClient(port: server.port, timeoutSeconds: 10)
            let body: [UInt8] = [0x00, 0x01, 0xFF, 0x7B, 0x0D, 0x0A]
            let response = try client.send(
                method: "POST",
                path: "/echo/caf%C3%A9?b=2&providerIds%5B%5D=a&providerIds[]=b%20c&empty=&flag",
                headers: [("X-One", "1"), ("x-multi", "first"), ("X-Multi", "second")],
                body: body)

            #expect(response.status == 200)
            #expect(response.body == body)
            #expect(response.header("x-echo-method") == "POST")
            let request = try #require(server.handler.lastHandled)
            #expect(request.method == "POST")
            #expect(request.path == "/echo/café")
            #expect(request.query.map { "\($0.name)=\($0.value)" }
                == ["b=2", "providerIds[]=a", "providerIds[]=b c", "empty=", "flag="])
            #expect(request.head.queryValues("providerIds[]") == ["a", "b c"])
            #expect(request.headers["x-one"] == "1")
            #expect(request.headers.values("X-MULTI") == ["first", "second"])
            #expect(request.headers["Content-Length"] == "\(body.count)")
            #expect(request.body == body)
            #expect(request.head.remoteAddress?.hasPrefix("127.0.0.1:") == true)
        }
    }

    @Test("a GET request may carry a body")
    func getWithBody() throws {
        try TestServer.with { server in
            let client = LoopbackHTTPClient(port: server.port, timeoutSeconds: 10)
            let response = try client.send(method: "GET", path: "/echo", body: Array("payload".utf8))
            #expect(response.status == 200)
            #expect(response.bodyText == "payload")
            #expect(server.handler.lastHandled?.method == "GET")
        }
    }

    @Test("a chunked request body is reassembled")
    func chunkedBody() throws {
        try TestServer.with { server in
            let reply = try RawSockets.postChunked(port: server.port, path: "/echo", chunks: ["hello", " world"])
            #expect(reply.httpStatus == 200)
            #expect(server.handler.lastHandled?.body == Array("hello world".utf8))
        }
    }

    @Test("request ids differ between requests")
    func requestIDs() throws {
        try TestServer.with { server in
            let client = LoopbackHTTPClient(port: server.port, timeoutSeconds: 10)
            _ = try client.send(method: "GET", path: "/a")
            _ = try client.send(method: "GET", path: "/b")
            let ids = server.handler.handled.withLock { $0.map(\.head.id) }
            #expect(ids.count == 2)
            #expect(Set(ids).count == 2)
        }
    }

    @Test("an IPv6 loopback server answers")
    func ipv6() throws {
        try TestServer.with(TestServer.configuration(host: "::1")) { server in
            let client = LoopbackHTTPClient(host: "::1", port: server.port, timeoutSeconds: 10)
            let response = try client.send(method: "GET", path: "/echo")
            #expect(response.status == 200)
            #expect(server.handler.lastHandled?.head.remoteAddress?.hasPrefix("[::1]:") == true)
        }
    }
}
