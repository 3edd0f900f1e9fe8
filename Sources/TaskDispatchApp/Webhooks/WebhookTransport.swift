import LoopbackHTTPClient
import TaskQueue

/// Sends one webhook request and answers the status code. Redirects are never followed (one to
/// an internal address would bypass the SSRF guard): a 3xx is just a failed call.
///
/// http and https alike go over a socket to an address the guard checked (so DNS cannot change
/// between the check and the connection) and can carry a body on GET as Nextcloud sends it.
/// https verifies the receiver's certificate against the system's authorities (and
/// `--webhook-ca-file`'s) and the URI's host name, sent as SNI.
final class WebhookTransport: Sendable {
    /// Receivers' answers are not read beyond this (only the status matters); a larger answer
    /// counts as a failed call.
    static let maxResponseBytes = 1 << 20
    private let timeoutSeconds: Double
    /// Certificate authorities trusted for https receivers besides the system's.
    private let trustFile: String?

    init(timeoutSeconds: Double, trustFile: String? = nil) {
        self.timeoutSeconds = timeoutSeconds
        self.trustFile = trustFile
    }

    struct CallError: Error, CustomStringConvertible {
        let description: String
    }

    /// Sends the request to the first of `addresses` that takes the connection; throws when
    /// no HTTP answer came (connect or handshake failure, timeout).
    func send(
        _ target: WebhookTarget, addresses: [WebhookAddress], headers: [(String, String)], body: [UInt8]
    ) throws(CallError) -> Int {
        var failures: [String] = []
        let allHeaders = [("Host", target.hostHeader), ("Connection", "close")] + headers
        let tls = target.scheme == .https ? TLSClientConfiguration(serverName: target.host, trustFile: trustFile) : nil
        for address in addresses {
            let client = LoopbackHTTPClient(
                host: address.description, port: target.port, timeoutSeconds: timeoutSeconds,
                maxResponseBytes: Self.maxResponseBytes, tls: tls)
            defer { client.close() }
            do {
                return try client.send(method: target.httpMethod, path: target.requestTarget, headers: allHeaders, body: body).status
            } catch let error as LoopbackHTTPError where error.kind == .connectFailed {
                failures.append("\(address): \(error.detail)")  // try the next address
            } catch {
                throw CallError(description: "\(address): \(error)")
            }
        }
        throw CallError(description: failures.joined(separator: "; "))
    }
}
