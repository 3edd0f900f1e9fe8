import EmbeddedPostgres
import Foundation
import JSON
import LoopbackHTTPClient
import Testing

/// `/healthz` and `/readyz`: no credentials, tiny JSON bodies, and `/readyz` follows the
/// database. Runs its own cluster, which it stops and starts.
@Suite("Health probes")
struct HealthProbeTests {
    static func probe(_ port: UInt16, _ path: String, method: String = "GET") throws -> LoopbackHTTPResponse {
        let client = LoopbackHTTPClient(port: port, timeoutSeconds: 10)
        defer { client.close() }
        return try client.send(method: method, path: path)
    }

    static func status(of response: LoopbackHTTPResponse) -> JSONValue? {
        (try? JSONValue.parse(response.bodyText))?["status"]
    }

    @Test("ready with the database up; /readyz turns 503 within 5 s of PostgreSQL stopping and back to 200 after, /healthz stays 200")
    func followsTheDatabase() throws {
        let privateCluster = try PrivateCluster(prefix: "td-health")
        defer { privateCluster.remove() }
        let server = try privateCluster.startServer()
        defer { server.stop() }

        // Ready once the listener has connected (it starts with the server).
        #expect(try eventually(within: 10) { try Self.probe(server.port, "/readyz").status == 200 })
        let ready = try Self.probe(server.port, "/readyz")
        #expect(Self.status(of: ready) == "ok", "\(ready.bodyText)")
        #expect(ready.body.count < 100, "a tiny body: \(ready.bodyText)")
        #expect(ready.header("Content-Type")?.hasPrefix("application/json") == true)
        #expect(try Self.probe(server.port, "/healthz").status == 200)

        privateCluster.cluster.stop()
        let stoppedAt = ContinuousClock.now
        #expect(try eventually(within: 5) { try Self.probe(server.port, "/readyz").status == 503 }, "503 within 5 s of the database stopping")
        let down = try Self.probe(server.port, "/readyz")
        #expect(down.status == 503)
        #expect(Self.status(of: down) == "unavailable")
        #expect(down.bodyText.contains("reason"), "\(down.bodyText)")
        #expect(!down.bodyText.contains("port="), "no connection details to anonymous callers: \(down.bodyText)")
        #expect(ContinuousClock.now - stoppedAt < .seconds(6))
        #expect(try Self.probe(server.port, "/healthz").status == 200, "the process still serves")

        _ = try privateCluster.cluster.start()
        #expect(try eventually(within: 30) { try Self.probe(server.port, "/readyz").status == 200 }, "ready again once the database is back")
    }

    @Test("probes need no credentials and no CSRF header; other methods are 405")
    func anonymousAndMethods() throws {
        let server = try TestServer()
        defer { server.stop() }
        #expect(try Self.probe(server.port, "/healthz").status == 200)
        #expect(try eventually(within: 10) { try Self.probe(server.port, "/readyz").status == 200 })
        #expect(try Self.probe(server.port, "/healthz", method: "HEAD").status == 200)
        let post = try Self.probe(server.port, "/readyz", method: "POST")
        #expect(post.status == 405)
        #expect(post.header("Allow") == "GET, HEAD")
        #expect(try Self.probe(server.port, "/healthz/x").status == 404)
    }
}
