import Foundation
import JSON
import LoopbackHTTPClient
import OCSAPI
import TaskDispatchTesting
import Testing

/// `GET /metrics`: read by prometheus-client's own parsers (text and OpenMetrics), with the
/// values known work leaves; who may read it; and `X-Request-Id` on every answer.
@Suite("Metrics endpoint and request ids")
struct MetricsEndpointTests {
    /// Parses an exposition with prometheus-client and prints one sample per line:
    /// `name<TAB>label=value,...<TAB>value`, labels sorted.
    static let parserScript = #"""
        import sys
        from prometheus_client.parser import text_string_to_metric_families
        from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
        text = open(sys.argv[2]).read()
        families = openmetrics_families(text) if sys.argv[1] == "openmetrics" else text_string_to_metric_families(text)
        for family in families:
            for sample in family.samples:
                labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                print(f"{sample.name}\t{labels}\t{sample.value}")
        """#

    struct Sample: Hashable {
        let name: String
        let labels: String
        let value: Double
    }

    /// The samples of `body` as prometheus-client reads them; throws if it cannot.
    static func parse(_ body: String, openMetrics: Bool = false) throws -> [Sample] {
        guard let python = NcPyApiCompatibilityTests.venvPython() else { throw TestFailure("no test Python") }
        let folder = try makeTemporaryFolder(prefix: "td-metrics")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try parserScript.write(toFile: "\(folder)/parse.py", atomically: true, encoding: .utf8)
        try body.write(toFile: "\(folder)/metrics.txt", atomically: true, encoding: .utf8)
        let (exit, output) = try ChildProcess.run(
            python, ["\(folder)/parse.py", openMetrics ? "openmetrics" : "text", "\(folder)/metrics.txt"],
            logPath: "\(folder)/parse.log", timeoutSeconds: 60)
        guard exit == .exited(0) else { throw TestFailure("prometheus-client could not parse the metrics: \(output)") }
        return output.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 3, let value = Double(fields[2]) else { return nil }
            return Sample(name: String(fields[0]), labels: String(fields[1]), value: value)
        }
    }

    static func value(_ samples: [Sample], _ name: String, _ labels: String = "") -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    static func get(_ port: UInt16, _ path: String, headers: [(String, String)] = []) throws -> LoopbackHTTPResponse {
        let client = LoopbackHTTPClient(port: port, timeoutSeconds: 10)
        defer { client.close() }
        return try client.send(method: "GET", path: path, headers: headers)
    }

    @Test("after scheduling 3, claiming 2 and failing 1, the parsed metrics say so; ids in paths make no series")
    func valuesAfterKnownWork() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        let worker = server.client(server.worker)
        for n in 0..<3 { _ = try app.schedule("m\(n)") }
        let first = try #require(try worker.next().taskID)
        _ = try #require(try worker.next().taskID)
        #expect(try worker.call("POST", "tasks_provider/\(first)/result", json: ["errorMessage": "no"]).status == 200)
        #expect(try app.call("GET", "task/987654321").status == 404)

        let response = try Self.get(server.port, "/metrics")
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
        let samples = try Self.parse(response.bodyText)
        let type = "type=core:text2text"
        #expect(Self.value(samples, "taskdispatch_tasks", "status=STATUS_SCHEDULED,\(type)") == 1, "\(response.bodyText)")
        #expect(Self.value(samples, "taskdispatch_tasks", "status=STATUS_RUNNING,\(type)") == 1)
        #expect(Self.value(samples, "taskdispatch_tasks", "status=STATUS_FAILED,\(type)") == 1)
        #expect(Self.value(samples, "taskdispatch_tasks_claimed_total", type) == 2)
        #expect(Self.value(samples, "taskdispatch_task_results_total", "outcome=failed,\(type)") == 1)
        #expect(Self.value(samples, "taskdispatch_task_results_total", "outcome=successful,\(type)") == 0)
        #expect(Self.value(samples, "taskdispatch_task_queue_wait_seconds_count", type) == 2)
        #expect(Self.value(samples, "taskdispatch_task_run_seconds_count", type) == 1)
        #expect((Self.value(samples, "taskdispatch_oldest_scheduled_age_seconds", type) ?? -1) >= 0)
        #expect(Self.value(samples, "taskdispatch_http_requests_total", "route=/ocs/v2.php/taskprocessing/schedule,status=200") == 3)
        #expect(Self.value(samples, "taskdispatch_http_requests_total", "route=/ocs/v2.php/taskprocessing/task/{id},status=404") == 1)
        #expect(Self.value(samples, "taskdispatch_http_request_duration_seconds_count", "route=/ocs/v2.php/taskprocessing/tasks_provider/next") == 2)
        #expect(!response.bodyText.contains("987654321"), "an id in a path must not make a series")
        #expect(Self.value(samples, "taskdispatch_long_polls_waiting") == 0)
        #expect(Self.value(samples, "taskdispatch_webhooks_pending") == 0)
        #expect(Self.value(samples, "taskdispatch_db_pool_connections", "state=idle") != nil)
        #expect((Self.value(samples, "taskdispatch_db_pool_wait_seconds_count") ?? 0) > 0)
        for name in ["process_resident_memory_bytes", "process_cpu_seconds_total", "process_open_fds", "process_start_time_seconds"] {
            #expect((Self.value(samples, name) ?? 0) > 0, "\(name)")
        }
        #expect(response.bodyText.contains("# HELP taskdispatch_tasks Tasks in the database by type and status"))
        #expect(response.bodyText.contains("the same in every server process"))

        let open = try Self.get(server.port, "/metrics", headers: [("Accept", "application/openmetrics-text; version=1.0.0")])
        #expect(open.header("Content-Type") == "application/openmetrics-text; version=1.0.0; charset=utf-8")
        #expect(open.bodyText.hasSuffix("# EOF\n"))
        let openSamples = try Self.parse(open.bodyText, openMetrics: true)
        #expect(Self.value(openSamples, "taskdispatch_tasks_claimed_total", type) == 2)
    }

    @Test("from outside the allowed addresses: 401 without credentials, 403 for a user, 200 for an administrator; off: no route")
    func access() throws {
        let server = try TestServer { $0.metricsAllowedClients = ClientAddressRange.list("10.0.0.0/8") ?? [] }
        defer { server.stop() }
        #expect(try Self.get(server.port, "/metrics").status == 401)
        let basic = { (name: String, password: String) in
            ("Authorization", "Basic " + Data("\(name):\(password)".utf8).base64EncodedString())
        }
        guard case .user(let alice, let alicePassword) = server.alice, case .user(let root, let rootPassword) = server.admin else {
            Issue.record("test users")
            return
        }
        #expect(try Self.get(server.port, "/metrics", headers: [basic(alice, alicePassword)]).status == 403)
        #expect(try Self.get(server.port, "/metrics", headers: [basic(root, rootPassword)]).status == 200)

        let off = try TestServer { $0.metrics = false }
        defer { off.stop() }
        #expect(try Self.get(off.port, "/metrics").status == 404)
    }

    @Test("the addresses setting reads CIDR blocks, bare addresses and IPv4 seen as IPv6")
    func addressRanges() throws {
        let ranges = try #require(ClientAddressRange.list("127.0.0.0/8, ::1/128,192.168.1.7,10.0.0.0/9"))
        func allowed(_ peer: String) -> Bool { ranges.contains { $0.contains(peer: peer) } }
        #expect(allowed("127.4.5.6:80") && allowed("[::1]:80") && allowed("[::ffff:127.0.0.1]:80"))
        #expect(allowed("192.168.1.7:1") && !allowed("192.168.1.8:1"))
        #expect(allowed("10.127.0.1:1") && !allowed("10.128.0.1:1"))
        #expect(!allowed("[::2]:80") && !allowed("8.8.8.8:53"))
        for bad in ["10.0.0.0/33", "::1/129", "example.org", "10.0.0.0/x", "1.2.3.4/"] {
            #expect(ClientAddressRange.list(bad) == nil, "\(bad)")
        }
    }

    @Test("X-Request-Id: a sane one sent is echoed, else a new one on every answer (errors and probes too)")
    func requestIDs() throws {
        let server = try TestServer()
        defer { server.stop() }
        let sent = try Self.get(server.port, "/ocs/v2.php/taskprocessing/tasktypes", headers: [("X-Request-Id", "proxy-abc.123")])
        #expect(sent.header("X-Request-Id") == "proxy-abc.123")
        let insane = try Self.get(server.port, "/healthz", headers: [("X-Request-Id", String(repeating: "x", count: 200))])
        let made = [
            insane, try Self.get(server.port, "/healthz"), try Self.get(server.port, "/no/such/path"),
            try Self.get(server.port, "/ocs/v2.php/taskprocessing/task/1"),
        ].map { $0.header("X-Request-Id") }
        #expect(made.allSatisfy { ($0?.count ?? 0) > 0 && $0 != String(repeating: "x", count: 200) }, "\(made)")
        #expect(Set(made).count == made.count, "each answer its own id: \(made)")
    }
}
