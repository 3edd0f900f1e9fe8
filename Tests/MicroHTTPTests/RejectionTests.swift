import LoopbackHTTPClient
import MicroHTTP
import Testing

@Suite("The server refuses what it must before the handler sees it")
struct RejectionTests {
    static let limit = 1024

    @Test("a Content-Length over the limit gets reject's 413 and the handler is not called")
    func declaredBodyTooLarge() throws {
        try TestServer.with(TestServer.configuration(maxBodyBytes: Self.limit)) { server in
            let client = LoopbackHTTPClient(port: server.port, timeoutSeconds: 10)
            let response = try client.send(
                method: "POST", path: "/echo", body: [UInt8](repeating: 0x61, count: Self.limit + 1))
            #expect(response.status == 413)
            #expect(response.bodyText == "over \(Self.limit)")
            #expect(server.handler.handledCount == 0)
            #expect(server.handler.allRejections == [.bodyTooLarge(limit: Self.limit)])
        }
    }

    @Test("the 413 is decided from the head alone, before any body byte is sent")
    func decidedBeforeTheBody() throws {
        try TestServer.with(TestServer.configuration(maxBodyBytes: Self.limit)) { server in
            // Declares 10 MB and sends none of it: only an answer from the head can come back.
            let request = "PUT /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 10000000\r\n\r\n"
            let reply = try LoopbackHTTPClient.sendRaw(
                host: "127.0.0.1", port: server.port, bytes: Array(request.utf8), timeoutSeconds: 10)
            #expect(reply.httpStatus == 413)
            #expect(server.handler.handledCount == 0)
        }
    }

    @Test("the handler's limit for a route replaces the server's, before the body is read and for chunked bodies")
    func perRouteLimit() throws {
        try TestServer.with(TestServer.configuration(maxBodyBytes: Self.limit)) { server in
            let client = LoopbackHTTPClient(port: server.port, timeoutSeconds: 10)
            let body = [UInt8](repeating: 0x75, count: 3000)
            let accepted = try client.send(method: "POST", path: "/upload", body: body)
            #expect(accepted.status == 200)
            #expect(accepted.body == body)
            #expect(try client.send(method: "POST", path: "/echo", body: body).status == 413)
            let over = try client.send(method: "POST", path: "/upload", body: [UInt8](repeating: 0x75, count: EchoHandler.uploadLimit + 1))
            #expect(over.status == 413)
            let chunk = String(repeating: "c", count: 3000)
            let reply = try RawSockets.postChunked(port: server.port, path: "/upload", chunks: [chunk, chunk])
            #expect(reply.httpStatus == 413)
            #expect(server.handler.allRejections == [
                .bodyTooLarge(limit: Self.limit), .bodyTooLarge(limit: EchoHandler.uploadLimit),
                .bodyTooLarge(limit: EchoHandler.uploadLimit),
            ])
        }
    }

    @Test("a body of exactly the limit is accepted")
    func bodyAtTheLimit() throws {
        try TestServer.with(TestServer.configuration(maxBodyBytes: Self.limit)) { server in
            let body = [UInt8](repeating: 0x62, count: Self.limit)
            let response = try LoopbackHTTPClient(port: server.port, timeoutSeconds: 10)
                .send(method: "POST", path: "/echo", body: body)
            #expect(response.status == 200)
            #expect(response.body == body)
        }
    }

    @Test("a chunked body growing past the limit gets the 413 once the upload ends")
    func chunkedBodyTooLarge() throws {
        try TestServer.with(TestServer.configuration(maxBodyBytes: Self.limit)) { server in
            let chunk = String(repeating: "c", count: 700)
            let reply = try RawSockets.postChunked(port: server.port, path: "/echo", chunks: [chunk, chunk])
            #expect(reply.httpStatus == 413)
            #expect(reply.text.hasSuffix("over \(Self.limit)"))
            #expect(server.handler.handledCount == 0)
            #expect(server.handler.allRejections == [.bodyTooLarge(limit: Self.limit)])
        }
    }

    @Test("a chunked body far past the limit is cut off and the server keeps serving")
    func chunkedBodyFarTooLarge() throws {
        try TestServer.with(TestServer.configuration(maxBodyBytes: Self.limit)) { server in
            let chunk = String(repeating: "d", count: 0x10000)
            let chunks = String(repeating: "10000\r\n\(chunk)\r\n", count: 32)
            let request = "POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + "0\r\n\r\n"
            let reply = try LoopbackHTTPClient.sendRaw(
                host: "127.0.0.1", port: server.port, bytes: Array(request.utf8), timeoutSeconds: 10)
            #expect(reply.isEmpty || reply.httpStatus == 413)
            #expect(server.handler.handledCount == 0)
            let response = try LoopbackHTTPClient(port: server.port, timeoutSeconds: 10).send(method: "GET", path: "/plain")
            #expect(response.status == 200)
        }
    }

    @Test("a path or query that decodes to invalid UTF-8 gets reject's 400", arguments: [
        ("/caf%FF", "path"),
        ("/echo?name=%C3%28", "query"),
    ])
    func invalidPathOrQuery(path: String, part: String) throws {
        try TestServer.with { server in
            let response = try LoopbackHTTPClient(port: server.port, timeoutSeconds: 10)
                .send(method: "GET", path: path)
            #expect(response.status == 400)
            #expect(response.bodyText == "invalid \(part)")
            #expect(server.handler.handledCount == 0)
            #expect(server.handler.allRejections == [.invalidEncoding(part)])
        }
    }

    @Test("a header value that is not UTF-8 gets reject's 400")
    func invalidHeader() throws {
        try TestServer.with { server in
            let request = Array("GET /echo HTTP/1.1\r\nHost: test\r\nConnection: close\r\nX-Name: ".utf8)
                + [0xFF, 0xFE] + Array("\r\n\r\n".utf8)
            let reply = try LoopbackHTTPClient.sendRaw(
                host: "127.0.0.1", port: server.port, bytes: request, timeoutSeconds: 10)
            #expect(reply.httpStatus == 400)
            #expect(reply.text.hasSuffix("invalid header"))
            #expect(server.handler.handledCount == 0)
        }
    }

    @Test("a malformed request gets a 400 and the server keeps serving", arguments: [
        "GET /\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: test\r\nno colon here\r\n\r\n",
    ])
    func malformedRequest(raw: String) throws {
        try TestServer.with { server in
            let reply = try LoopbackHTTPClient.sendRaw(
                host: "127.0.0.1", port: server.port, bytes: Array(raw.utf8), timeoutSeconds: 10)
            #expect(reply.httpStatus == 400)
            #expect(server.handler.handledCount == 0)
            let response = try LoopbackHTTPClient(port: server.port, timeoutSeconds: 10).send(method: "GET", path: "/plain")
            #expect(response.status == 200)
        }
    }

    @Test("a request line without spaces is closed unanswered and the server keeps serving")
    func garbageRequestLine() throws {
        try TestServer.with { server in
            // libmicrohttpd 0.9.75 drops such a connection without a status line; anything it
            // does send must be a client error.
            let reply = try LoopbackHTTPClient.sendRaw(
                host: "127.0.0.1", port: server.port, bytes: Array("GARBAGE\r\n\r\n".utf8), timeoutSeconds: 10)
            #expect(reply.isEmpty || (400...499).contains(reply.httpStatus ?? 0))
            #expect(server.handler.handledCount == 0)
            let response = try LoopbackHTTPClient(port: server.port, timeoutSeconds: 10).send(method: "GET", path: "/plain")
            #expect(response.status == 200)
        }
    }
}
