import Dispatch
import Foundation
import Glibc
import LoopbackHTTPClient
import Testing

@Suite("LoopbackHTTPClient")
struct LoopbackHTTPClientTests {
    /// Serves `pieces` once on a fresh port and returns what `send` made of them.
    private func receive(_ pieces: [String], method: String = "GET") throws -> LoopbackHTTPResponse {
        try RawSockets.receiveServedOnce(pieces) { port in
            try LoopbackHTTPClient(port: port, timeoutSeconds: 10).send(method: method, path: "/")
        }
    }

    @Test("a Content-Length response split across reads is read whole")
    func splitContentLength() throws {
        let response = try receive(["HTTP/1.1 201 Created\r\nX-A:", " 1\r\nContent-Length: 11\r\n\r\nhello", " world"])
        #expect(response.status == 201)
        #expect(response.header("x-a") == "1")
        #expect(response.bodyText == "hello world")
    }

    @Test("a chunked response with extensions and trailers is de-chunked")
    func chunked() throws {
        let response = try receive([
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhel", "lo\r\n6\r\n world\r\n",
            "0\r\nTrailer: x\r\n\r\n",
        ])
        #expect(response.bodyText == "hello world")
    }

    @Test("a response without length is read until the server closes")
    func closeDelimited() throws {
        let response = try receive(["HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil", " close"])
        #expect(response.bodyText == "until close")
    }

    @Test("an interim 100 Continue is skipped")
    func interimResponse() throws {
        let response = try receive(["HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"])
        #expect(response.status == 200)
        #expect(response.bodyText == "ok")
    }

    @Test("something that is not HTTP is a malformed response")
    func malformed() throws {
        #expect {
            try receive(["SSH-2.0-OpenSSH\r\n\r\n"])
        } throws: { error in
            (error as? LoopbackHTTPError)?.kind == .malformedResponse
        }
    }

    @Test("a closed port is a connect failure")
    func connectRefused() throws {
        let (listener, port) = try RawSockets.listen()
        close(listener)
        #expect {
            try LoopbackHTTPClient(port: port, timeoutSeconds: 5).send(method: "GET", path: "/")
        } throws: { error in
            (error as? LoopbackHTTPError)?.kind == .connectFailed
        }
    }
}
