import Crypto
import MicroHTTP
import TaskQueue

/// The dashboard's session cookie: its name, its attributes, and the CSRF token that goes with it.
///
/// `HttpOnly` keeps it from scripts, `SameSite=Strict` from requests other sites start, and
/// under TLS it is `Secure` with the `__Host-` prefix (no `Domain`, `Path=/`, HTTPS only). The
/// CSRF token is derived from the cookie's token (SHA-256 with a label), so nothing more is
/// stored; the page gets it from the session call and sends it as `requesttoken` on every
/// API call: another site can make a browser send the cookie but can read neither.
struct DashboardCookie: Sendable {
    let secure: Bool
    let lifetimeSeconds: Int

    var name: String { secure ? "__Host-taskdispatch_session" : "taskdispatch_session" }

    /// The header that carries the CSRF token (Nextcloud's name for it).
    static let csrfHeader = "requesttoken"

    /// The session token in the request's `Cookie` header, if any.
    func token(in headers: HTTPHeaders) -> String? {
        for header in headers.values("Cookie") {
            for pair in header.split(separator: ";") {
                let trimmed = pair.drop { $0 == " " }
                guard let equals = trimmed.firstIndex(of: "=") else { continue }
                if trimmed[..<equals] == name { return String(trimmed[trimmed.index(after: equals)...]) }
            }
        }
        return nil
    }

    /// `Set-Cookie` for a new session.
    func setting(_ token: String) -> String {
        attributes("\(name)=\(token)", maxAge: lifetimeSeconds)
    }

    /// `Set-Cookie` that makes the browser forget the session.
    var clearing: String { attributes("\(name)=", maxAge: 0) }

    private func attributes(_ value: String, maxAge: Int) -> String {
        "\(value); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    /// The CSRF token of a session token: hex SHA-256 of a label and the token.
    static func csrfToken(for token: String) -> String {
        let digest = SHA256.hash(data: Array("taskdispatch-csrf:\(token)".utf8))
        return digest.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// The session token in the request's cookie, once the request's `requesttoken` is shown
    /// to be its CSRF token (compared in constant time); nil without a cookie, 403 with a
    /// missing or wrong token.
    func tokenWithCSRFCheck(in headers: HTTPHeaders) throws(OCSError) -> String? {
        guard let token = token(in: headers) else { return nil }
        guard let sent = headers[Self.csrfHeader],
            SecretHasher.constantTimeEquals(Array(sent.utf8), Array(Self.csrfToken(for: token).utf8))
        else { throw .forbidden("CSRF token missing or wrong: send the session's token in the requesttoken header") }
        return token
    }
}
