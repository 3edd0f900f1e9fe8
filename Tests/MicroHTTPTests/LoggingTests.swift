import Logging
import LoopbackHTTPClient
import MicroHTTP
import Testing

@Suite("Logging")
struct LoggingTests {
    @Test("each request is logged at trace with id, method, path, status and duration, never header values or bodies")
    func requestLog() throws {
        try TestServer.with { server in
            let response = try LoopbackHTTPClient(port: server.port, timeoutSeconds: 10).send(
                method: "POST", path: "/echo/logged",
                headers: [("Authorization", "Bearer s3cr3t-token")], body: Array("s3cr3t-body".utf8))
            #expect(response.status == 200)
            let records = server.logs.all
            let requestRecord = try #require(records.first { $0.metadata["request.path"] == "/echo/logged" })
            #expect(requestRecord.level == .trace)
            #expect(requestRecord.metadata["request.method"] == "POST")
            #expect(requestRecord.metadata["response.status"] == "200")
            #expect(requestRecord.metadata["request.id"] == server.handler.lastHandled.map { "\($0.head.requestID)" })
            #expect(Double(requestRecord.metadata["duration"] ?? "") != nil, "the line says how long the request took")
            #expect(!records.contains { $0.allText.contains("s3cr3t") })
        }
    }
}
