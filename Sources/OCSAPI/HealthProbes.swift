import JSON
import MicroHTTP
import TaskQueue

/// `GET /healthz` (200 while the process serves) and `GET /readyz` (200 when it can do its work,
/// 503 with the reason otherwise), at the root path like Nextcloud's own, for load balancers
/// and Kubernetes probes: no credentials, tiny bodies.
struct HealthProbes: Sendable {
    let readiness: ServiceReadiness?

    static let paths: Set<String> = ["/healthz", "/readyz"]

    /// The answer when `head` asks for a probe; nil for any other path.
    func answer(_ head: HTTPRequestHead) -> HTTPResponse? {
        guard Self.paths.contains(head.path) else { return nil }
        guard head.method == "GET" || head.method == "HEAD" else {
            return Self.json(405, ["status": "error", "reason": "use GET"], extraHeaders: [("Allow", "GET, HEAD")])
        }
        if head.path == "/readyz", let reason = readiness?.unreadyReason() {
            return Self.json(503, ["status": "unavailable", "reason": .string(reason)], extraHeaders: [("Retry-After", "1")])
        }
        return Self.json(200, ["status": "ok"])
    }

    private static func json(_ status: Int, _ body: JSONValue, extraHeaders: [(String, String)] = []) -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.add("Content-Type", "application/json; charset=utf-8")
        headers.add("Cache-Control", "no-store")
        for (name, value) in extraHeaders { headers.add(name, value) }
        return HTTPResponse(status: status, headers: headers, body: Array(body.serializedString().utf8))
    }
}
