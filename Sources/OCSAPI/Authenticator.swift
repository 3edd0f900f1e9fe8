import MicroHTTP
import TaskQueue

/// Finds the caller of a request from its credentials:
/// - AppAPI headers (`EX-APP-ID`, `EX-APP-VERSION`, `AUTHORIZATION-APP-API: base64(user:secret)`) for ExApps;
/// - `Authorization: Basic base64(user:app-password)` or `Authorization: Bearer app-password` for users;
/// - on the operator's routes only, a dashboard session cookie with its CSRF token.
struct Authenticator: Sendable {
    let accounts: AccountStore
    let cache: CredentialCache
    let sessions: DashboardSessionStore
    let cookie: DashboardCookie

    /// The administrator of the dashboard session in the request's cookie, or nil without one.
    /// The CSRF token is checked first (403 when missing or wrong, before any lookup); then the
    /// session, read from the database on every call so that a sign-out anywhere holds at once
    /// (401 when it ended).
    func authenticateSession(_ headers: HTTPHeaders) throws(OCSError) -> Principal? {
        guard let token = try cookie.tokenWithCSRFCheck(in: headers) else { return nil }
        guard let account = try Self.lookingUp({ try sessions.user(forToken: token) }) else {
            throw .unauthorized("the dashboard session has ended; sign in again")
        }
        return Principal.user(name: account.name, isAdmin: account.isAdmin)
    }

    /// The caller, or nil when the request carries no credentials at all. Throws 401 for
    /// credentials that are present but wrong or malformed, 503 when they cannot be checked.
    func authenticate(_ headers: HTTPHeaders) throws(OCSError) -> Principal? {
        if headers["EX-APP-ID"] != nil || headers["AUTHORIZATION-APP-API"] != nil {
            return try authenticateExApp(headers)
        }
        guard let authorization = headers["Authorization"] else { return nil }
        let (scheme, credentials) = Self.splitScheme(authorization)
        switch scheme.lowercased() {
        case "basic":
            guard let (user, password) = Self.decodeUserAndSecret(credentials) else {
                throw .unauthorized("malformed Basic credentials: expected base64 of 'user:app-password'")
            }
            return try authenticateUser(name: user, appPassword: password)
        case "bearer":
            return try authenticateUser(name: nil, appPassword: credentials)
        default:
            throw .unauthorized("unsupported Authorization scheme '\(scheme)': use Basic or Bearer")
        }
    }

    private func authenticateUser(name: String?, appPassword: String) throws(OCSError) -> Principal {
        let key = CredentialCache.key("user", name ?? "", appPassword)
        return try cache.principal(for: key) { () throws(OCSError) -> Principal in
            guard let account = try Self.lookingUp({ try accounts.authenticateUser(userName: name, appPassword: appPassword) })
            else { throw .unauthorized("invalid user name or app password") }
            return Principal.user(name: account.name, isAdmin: account.isAdmin)
        }
    }

    private func authenticateExApp(_ headers: HTTPHeaders) throws(OCSError) -> Principal {
        guard let appID = headers["EX-APP-ID"], !appID.isEmpty else {
            throw .unauthorized("AppAPI authentication needs the EX-APP-ID header")
        }
        guard let version = headers["EX-APP-VERSION"], !version.isEmpty else {
            throw .unauthorized("AppAPI authentication needs a non-empty EX-APP-VERSION header")
        }
        guard let encoded = headers["AUTHORIZATION-APP-API"] else {
            throw .unauthorized("AppAPI authentication needs the AUTHORIZATION-APP-API header")
        }
        guard let (user, secret) = Self.decodeUserAndSecret(encoded) else {
            throw .unauthorized("malformed AUTHORIZATION-APP-API: expected base64 of 'user:secret'")
        }
        let userID: String? = user.isEmpty ? nil : user
        let key = CredentialCache.key("app", appID, user, secret)
        return try cache.principal(for: key) { () throws(OCSError) -> Principal in
            do {
                guard try accounts.authenticateApp(appID: appID, secret: secret) else {
                    throw OCSError.unauthorized("invalid ExApp id or secret")
                }
                if let userID, try accounts.user(named: userID) == nil {
                    throw OCSError.unauthorized("the ExApp acts for an unknown user")
                }
            } catch let error as OCSError {
                throw error
            } catch {
                throw Self.lookupFailure(error)
            }
            return Principal.exApp(appID: appID, userID: userID)
        }
    }

    /// Runs a lookup of credentials or sessions; a store failure becomes the error it means for
    /// the caller (503 while the database is unavailable).
    static func lookingUp<T>(_ lookup: () throws -> T) throws(OCSError) -> T {
        do {
            return try lookup()
        } catch {
            throw lookupFailure(error)
        }
    }

    private static func lookupFailure(_ error: any Error) -> OCSError {
        if let error = error as? StoreError, error.isUnavailable {
            return .unavailable("the database is unavailable; credentials cannot be checked, retry later", cause: "\(error)")
        }
        return .internalError(cause: "\(error)")
    }

    static func splitScheme(_ header: String) -> (scheme: String, credentials: String) {
        let trimmed = header.drop(while: { $0 == " " })
        guard let space = trimmed.firstIndex(of: " ") else { return (String(trimmed), "") }
        return (String(trimmed[..<space]), String(trimmed[space...].drop(while: { $0 == " " })))
    }

    /// Decodes base64 of "user:secret" (the user part may be empty). A NUL character makes it
    /// malformed: no name or secret holds one, and PostgreSQL text cannot carry it to a lookup.
    static func decodeUserAndSecret(_ encoded: String) -> (String, String)? {
        let isBlank = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        let utf8 = encoded.utf8
        let start = utf8.firstIndex { !isBlank($0) } ?? utf8.endIndex
        let end = utf8.lastIndex { !isBlank($0) }.map { utf8.index(after: $0) } ?? start
        guard let bytes = Base64.decode(encoded[start..<max(start, end)]), !bytes.contains(0),
            let text = String(validating: bytes, as: UTF8.self),
            let colon = text.utf8.firstIndex(of: UInt8(ascii: ":"))
        else { return nil }
        return (String(text[..<colon]), String(text[text.utf8.index(after: colon)...]))
    }
}
