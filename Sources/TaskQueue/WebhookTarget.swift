import Foundation

/// A task's webhook: where and how the finished task is sent. Built from the `webhookUri` and
/// `webhookMethod` a client gives on schedule, and again by the sender from the stored row.
public struct WebhookTarget: Sendable, Equatable {
    public enum Scheme: String, Sendable {
        case http, https
    }

    /// The methods Nextcloud accepts for HTTP webhooks. Nextcloud's `AppAPI:<appId>:<method>`
    /// (a call routed through AppAPI to an ExApp) is refused: this server is not AppAPI.
    public static let methods: [String: String] = [
        "HTTP:GET": "GET", "HTTP:POST": "POST", "HTTP:PUT": "PUT", "HTTP:DELETE": "DELETE",
    ]
    /// The method used when a task names a webhook URI without a method.
    public static let defaultMethod = "HTTP:POST"
    public static let maxURILength = 2048

    public let uri: String
    public let scheme: Scheme
    /// The host as written, without IPv6 brackets.
    public let host: String
    public let port: UInt16
    /// Path and query, as sent in the request line.
    public let requestTarget: String
    /// The HTTP method, e.g. `POST`.
    public let httpMethod: String

    /// Checks a webhook URI and method. Hosts that are IP literals, or `localhost`, are checked
    /// against the SSRF policy here; names are resolved and checked when delivering. `name`
    /// names the URI in messages (an ExApp's base URL is checked the same way).
    public init(uri: String, method: String?, allowPrivateTargets: Bool, name: String = "webhookUri") throws(WebhookTargetError) {
        let httpMethod = try Self.httpMethod(for: method ?? Self.defaultMethod)
        guard uri.utf8.count <= Self.maxURILength else {
            throw WebhookTargetError("\(name) must be at most \(Self.maxURILength) bytes")
        }
        guard let components = URLComponents(string: uri), let schemeText = components.scheme?.lowercased() else {
            throw WebhookTargetError("\(name) is not a valid URL")
        }
        guard let scheme = Scheme(rawValue: schemeText) else {
            throw WebhookTargetError("\(name) must be an http or https URL")
        }
        guard var host = components.percentEncodedHost, !host.isEmpty else {
            throw WebhookTargetError("\(name) must name a host")
        }
        guard components.user == nil, components.password == nil else {
            throw WebhookTargetError("\(name) must not carry credentials; use the webhook signature to authenticate")
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        // Plain ASCII only: no percent-encoded names, no IPv6 zone ids, no spaces or controls.
        guard host.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7f && $0 != "%" }) else {
            throw WebhookTargetError("\(name) has an invalid host")
        }
        let port = components.port ?? (scheme == .https ? 443 : 80)
        guard (1...65535).contains(port) else { throw WebhookTargetError("\(name) has an invalid port") }
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        guard path.hasPrefix("/") else { throw WebhookTargetError("\(name) is not a valid URL") }

        self.uri = uri
        self.scheme = scheme
        self.host = host.lowercased()
        self.port = UInt16(port)
        self.requestTarget = path + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
        self.httpMethod = httpMethod
        if !allowPrivateTargets, let category = literalCategory, !category.isPublic {
            throw WebhookTargetError(
                "webhookUri points to a \(category.rawValue) address; the server only calls public addresses")
        }
    }

    /// The HTTP method for a `webhookMethod` value, e.g. `POST` for `HTTP:POST`.
    public static func httpMethod(for method: String) throws(WebhookTargetError) -> String {
        if let httpMethod = methods[method] { return httpMethod }
        if method.hasPrefix("AppAPI:") {
            throw WebhookTargetError(
                "webhookMethod 'AppAPI:...' (a call through Nextcloud's AppAPI) is not supported by this server; "
                    + "use HTTP:GET, HTTP:POST, HTTP:PUT or HTTP:DELETE with an http(s) webhookUri")
        }
        throw WebhookTargetError("webhookMethod must be one of HTTP:GET, HTTP:POST, HTTP:PUT, HTTP:DELETE")
    }

    /// The category of the host if it is known without resolving it: an IP literal, or a
    /// `localhost` name (which resolvers answer locally).
    public var literalCategory: WebhookAddressCategory? {
        if let address = WebhookAddress(literal: host) { return address.category }
        if host == "localhost" || host.hasSuffix(".localhost") || host == "localhost." { return .loopback }
        return nil
    }

    /// The `Host` header value.
    public var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        let defaultPort: UInt16 = scheme == .https ? 443 : 80
        return port == defaultPort ? name : "\(name):\(port)"
    }
}

/// Why a webhook URI or method was refused; the message is for the client.
public struct WebhookTargetError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}
