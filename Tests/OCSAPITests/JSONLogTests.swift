import Foundation
import JSON
import Logging
import LoopbackHTTPClient
@testable import TaskDispatchApp
import Synchronization
import Testing

/// `--log-format json`: one JSON object per line, for log shippers.
@Suite("JSON logs")
struct JSONLogTests {
    final class Captured: Sendable {
        let lines = Mutex<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
    }

    @Test("a record is one line of JSON: time, level, logger, message, then the metadata as fields")
    func oneObjectPerLine() throws {
        let captured = Captured()
        var handler = JSONLogHandler(label: "taskdispatch") { captured.append($0) }
        handler.logLevel = .debug
        handler[metadataKey: "process"] = "serve"
        let logger = Logger(label: "taskdispatch") { _ in handler }
        logger.notice(
            "request refused \"quoted\"\nsecond line",
            metadata: [
                "request.id": "42", "status": "404", "message": "collides", "tags": ["a", "b"],
                "nested": ["key": "value"], "count": .stringConvertible(7),
            ])
        let lines = captured.lines.withLock { $0 }
        try #require(lines.count == 1)
        let line = lines[0]
        #expect(line.hasSuffix("\n") && line.dropLast().allSatisfy { $0 != "\n" }, "one line: \(line)")
        let object = try JSONValue.parse(String(line.dropLast()))
        #expect(object["level"] == "notice")
        #expect(object["logger"] == "taskdispatch")
        #expect(object["message"] == "request refused \"quoted\"\nsecond line")
        #expect(object["request.id"] == "42")
        #expect(object["status"] == "404")
        #expect(object["metadata.message"] == "collides", "a metadata key never replaces a fixed field")
        #expect(object["tags"] == ["a", "b"])
        #expect(object["nested"] == ["key": "value"])
        #expect(object["count"] == "7")
        #expect(object["process"] == "serve")
        let time = try #require(object["time"]?.stringValue)
        #expect(time.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/) != nil, "\(time)")
    }

    @Test("records below the level are dropped")
    func level() {
        let captured = Captured()
        var handler = JSONLogHandler(label: "t") { captured.append($0) }
        handler.logLevel = .warning
        let logger = Logger(label: "t") { _ in handler }
        logger.info("dropped")
        logger.warning("kept")
        #expect(captured.lines.withLock { $0.count } == 1)
    }

    @Test("timestamps are UTC with milliseconds")
    func timestamp() {
        #expect(JSONLogHandler.timestamp(Date(timeIntervalSince1970: 1_764_896_523.045)) == "2025-12-05T01:02:03.045Z")
        #expect(JSONLogHandler.timestamp(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
    }

    @Test("the setting: text by default, json from the flag or the environment, anything else refused")
    func setting() throws {
        #expect(try ServerConfiguration.resolve(flags: [:], environment: [:]).logFormat == .text)
        #expect(try ServerConfiguration.resolve(flags: ["log-format": "json"], environment: [:]).logFormat == .json)
        #expect(try ServerConfiguration.resolve(flags: [:], environment: ["TASKDISPATCH_LOG_FORMAT": "JSON"]).logFormat == .json)
        #expect(throws: (any Error).self) { try ServerConfiguration.resolve(flags: ["log-format": "xml"], environment: [:]) }
    }

    @Test("a real `taskdispatch serve --log-format json` writes only JSON lines, a refused request and (at debug) every answered request among them")
    func servedProcess() throws {
        guard let fixture = try ServeProcessFixture.make(prefix: "jsonlog") else { return }
        defer { fixture.removeFolder() }
        let port = try freeLoopbackPort()
        let server = try fixture.spawnServer(port: port, options: ["--log-format", "json", "--log-level", "debug"], name: "server", logName: "serve")
        defer { server.kill() }
        try waitUntilAnswering(port: port, process: server, timeoutSeconds: 30)
        let client = LoopbackHTTPClient(port: port, timeoutSeconds: 10)
        defer { client.close() }
        let refused = try client.send(method: "GET", path: "/ocs/v2.php/taskprocessing/no-such-route", headers: [("OCS-APIRequest", "true")])
        #expect(refused.status == 404)
        let named = try client.send(
            method: "GET", path: "/ocs/v2.php/taskprocessing/task/4242", headers: [("OCS-APIRequest", "true"), ("X-Request-Id", "trace-me-1")])
        #expect(named.status == 401)
        #expect(server.waitForOutput(containing: "request refused"))
        #expect(server.waitForOutput(containing: "trace-me-1"))
        _ = server.terminate()
        let lines = server.output.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        #expect(!lines.isEmpty)
        var sawRefusal = false
        var sawAnswered = false
        for line in lines {
            guard let object = try? JSONValue.parse(line) else {
                Issue.record("not a JSON line: \(line)")
                continue
            }
            #expect(object["time"] != nil && object["level"] != nil && object["message"] != nil, "\(line)")
            // (Waiting for the server to answer made refused requests of its own.)
            if object["message"] == "request refused", object["path"] == "/ocs/v2.php/taskprocessing/no-such-route" {
                sawRefusal = true
                #expect(object["status"] == "404", "\(line)")
                #expect(object["request.id"] != nil, "\(line)")
            }
            if object["message"] == "request answered", object["request.id"] == "trace-me-1" {
                sawAnswered = true
                #expect(object["route"] == "/ocs/v2.php/taskprocessing/task/{id}", "\(line)")
                #expect(object["status"] == "401" && object["task.id"] == "4242", "\(line)")
                #expect(object["duration"]?.stringValue.flatMap(Double.init) != nil, "\(line)")
            }
        }
        #expect(sawRefusal, "\(lines)")
        #expect(sawAnswered, "an access line per request at debug: \(lines.suffix(5))")
    }
}
