import Foundation

/// Where an ExApp serves, as an administrator registers it (`app add --url`, `app set-url`):
/// an http or https URL, optionally with a path prefix (AppAPI's HaRP proxy serves ExApps under
/// `/exapps/<appId>`), without query, fragment or credentials. Loopback and private addresses
/// are allowed: an administrator chose it, unlike a webhook URI a user sends.
public struct ExAppBaseURL: Sendable, Equatable, CustomStringConvertible {
    /// The URL without a trailing `/`.
    public let text: String

    public init(_ text: String) throws(WebhookTargetError) {
        var trimmed = text
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard let components = URLComponents(string: trimmed), components.query == nil, components.fragment == nil else {
            throw WebhookTargetError("the ExApp URL must be an http or https URL without query or fragment")
        }
        _ = try WebhookTarget(uri: trimmed, method: nil, allowPrivateTargets: true, name: "the ExApp URL")
        self.text = trimmed
    }

    public var description: String { text }

    /// AppAPI's trigger call for a provider: `POST <base>/trigger?providerId=<id>`.
    public func triggerTarget(providerID: String) throws(WebhookTargetError) -> WebhookTarget {
        // Everything but RFC 3986's unreserved characters encoded, as PHP's http_build_query does.
        let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)
        let encoded = "providerId=" + providerID.utf8.map { byte in
            unreserved.contains(byte) ? String(UnicodeScalar(byte)) : String(format: "%%%02X", byte)
        }.joined()
        return try WebhookTarget(
            uri: text + "/trigger?" + encoded, method: "HTTP:POST", allowPrivateTargets: true, name: "the ExApp URL")
    }
}
