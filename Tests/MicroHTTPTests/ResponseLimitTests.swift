import Dispatch
import Foundation
import Glibc
import LoopbackHTTPClient
import Testing

@Suite("LoopbackHTTPClient response limit")
struct ResponseLimitTests {
    private func receive(_ response: String, limit: Int) throws -> LoopbackHTTPResponse {
        try RawSockets.receiveServedOnce([response]) { port in
            try LoopbackHTTPClient(port: port, timeoutSeconds: 10, maxResponseBytes: limit).send(method: "GET", path: "/")
        }
    }

    @Test("responses within the limit are read; larger ones, however framed, are refused")
    func limit() throws {
        let body = String(repeating: "x", count: 4096)
        #expect(try receive("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", limit: 1024).bodyText == "ok")
        for framed in [
            "HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n\r\n\(body)",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n\(body)\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n\(body)",
        ] {
            #expect(throws: LoopbackHTTPError.self) { try receive(framed, limit: 1024) }
        }
    }
}
