import LoopbackHTTPClient
import MicroHTTP
import Testing

@Suite("Responses go out as the handler built them")
struct ResponseTests {
    @Test("the server adds no Content-Type but frames the body")
    func noContentTypeAdded() throws {
        try TestServer.with { server in
            let response = try LoopbackHTTPClient(port: server.port, timeoutSeconds: 10)
                .send(method: "GET", path: "/plain")
            #expect(response.status == 200)
            #expect(response.header("Content-Type") == nil)
            #expect(response.header("Content-Length") == "5")
            #expect(response.bodyText == "plain")
        }
    }

    @Test("a 204 goes out without a body and the connection stays usable")
    func noContent() throws {
        try TestServer.with { server in
            let client = LoopbackHTTPClient(port: server.port, timeoutSeconds: 10)
            let response = try client.send(method: "GET", path: "/no-content")
            #expect(response.status == 204)
            #expect(response.body.isEmpty)
            #expect(try client.send(method: "GET", path: "/plain").bodyText == "plain")
        }
    }

    @Test("a 204 sends no body bytes on the wire")
    func noContentOnTheWire() throws {
        try TestServer.with { server in
            let request = "GET /no-content HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
            let reply = try LoopbackHTTPClient.sendRaw(
                host: "127.0.0.1", port: server.port, bytes: Array(request.utf8), timeoutSeconds: 10)
            #expect(reply.httpStatus == 204)
            #expect(reply.text.hasSuffix("\r\n\r\n"))
            #expect(!reply.text.contains("must not be sent"))
        }
    }

    @Test("HEAD gets the headers of GET and no body")
    func head() throws {
        try TestServer.with { server in
            let response = try LoopbackHTTPClient(port: server.port, timeoutSeconds: 10)
                .send(method: "HEAD", path: "/plain")
            #expect(response.status == 200)
            #expect(response.body.isEmpty)
        }
    }

    @Test("a response that cannot go out as built (CR LF in a header, status 42) becomes a 500", arguments: ["/injected-header", "/invalid-status"])
    func unsendableResponse(path: String) throws {
        try TestServer.with { server in
            let client = LoopbackHTTPClient(port: server.port, timeoutSeconds: 10)
            let response = try client.send(method: "GET", path: path)
            #expect(response.status == 500)
            #expect(response.header("X-Injected") == nil)
            #expect(try client.send(method: "GET", path: "/plain").status == 200)
        }
    }

    @Test("the client reconnects after the server closed the connection")
    func reconnect() throws {
        try TestServer.with { server in
            let client = LoopbackHTTPClient(port: server.port, timeoutSeconds: 10)
            let closing = try client.send(method: "GET", path: "/close")
            let next = try client.send(method: "GET", path: "/plain")
            #expect(closing.bodyText == "bye")
            #expect(next.bodyText == "plain")
            #expect(server.handler.handledCount == 2)
        }
    }
}
