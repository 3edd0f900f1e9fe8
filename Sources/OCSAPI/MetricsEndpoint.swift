import CoreMetrics
import JSON
import MicroHTTP
import TaskQueue

/// Renders the current metrics: the application's exporter.
public protocol MetricsExposition: Sendable {
    /// The Prometheus text exposition, or OpenMetrics when `openMetrics`.
    func render(openMetrics: Bool) -> [UInt8]
}

/// Metrics for the OCS server: where request metrics go, what renders `/metrics`, and which
/// clients may read it without credentials.
public struct OCSMetricsConfiguration: Sendable {
    public var factory: any MetricsFactory
    public var exposition: any MetricsExposition
    public var allowedClients: [ClientAddressRange]

    public init(factory: any MetricsFactory, exposition: any MetricsExposition, allowedClients: [ClientAddressRange]) {
        self.factory = factory
        self.exposition = exposition
        self.allowedClients = allowedClients
    }
}

/// `GET /metrics` at the root path, as Nextcloud serves its own: open to the configured client
/// addresses, to administrators from anywhere else.
struct MetricsEndpoint: Sendable {
    static let path = "/metrics"
    static let textContentType = "text/plain; version=0.0.4; charset=utf-8"
    static let openMetricsContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8"

    let configuration: OCSMetricsConfiguration

    /// The answer for `head`; `principal` authenticates a client outside the allowed addresses.
    func answer(_ head: HTTPRequestHead, principal: () throws -> Principal?) -> HTTPResponse {
        guard head.method == "GET" || head.method == "HEAD" else {
            return Self.plain(405, "use GET", extraHeaders: [("Allow", "GET, HEAD")])
        }
        let allowed = head.remoteAddress.map { peer in configuration.allowedClients.contains { $0.contains(peer: peer) } } ?? false
        if !allowed {
            switch Result(catching: principal) {
            case .success(.user(_, isAdmin: true)?): break
            case .success(nil): return Self.plain(401, "authentication required: this address may read /metrics as an administrator only")
            case .success: return Self.plain(403, "/metrics is for administrators from this address")
            case .failure: return Self.plain(503, "could not check the credentials; try again")
            }
        }
        let openMetrics = Self.wantsOpenMetrics(head.headers["Accept"])
        var headers = HTTPHeaders()
        headers.add("Content-Type", openMetrics ? Self.openMetricsContentType : Self.textContentType)
        headers.add("Cache-Control", "no-store")
        return HTTPResponse(status: 200, headers: headers, body: configuration.exposition.render(openMetrics: openMetrics))
    }

    /// Whether `Accept` names OpenMetrics (Prometheus sends it first when it can read it).
    static func wantsOpenMetrics(_ accept: String?) -> Bool {
        accept?.lowercased().contains("application/openmetrics-text") ?? false
    }

    private static func plain(_ status: Int, _ message: String, extraHeaders: [(String, String)] = []) -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.add("Content-Type", "text/plain; charset=utf-8")
        for (name, value) in extraHeaders { headers.add(name, value) }
        return HTTPResponse(status: status, headers: headers, body: Array((message + "\n").utf8))
    }
}
