import JSON
import Logging
import MicroHTTP
import TaskQueue

/// The operators' web dashboard under `/dashboard`: its page, script and style (compiled into
/// the binary), and the three calls of its sign-in (`api/login`, `api/session`, `api/logout`).
/// Everything it shows it reads from the `admin/...` routes, which accept its session cookie
/// with the CSRF token. Every answer carries a Content-Security-Policy that allows this
/// origin's script and style only: no inline script, no other origin.
struct DashboardEndpoints: Sendable {
    let accounts: AccountStore
    let sessions: DashboardSessionStore
    let cookie: DashboardCookie
    let jsonOptions: JSONParseOptions
    /// Sign-ins and sign-outs are logged (user and request id, never a token).
    let logger: Logger

    static let prefix = "/dashboard"

    /// Whether `path` is the dashboard's: asked of every request, so bytes are compared and
    /// nothing is allocated.
    static func owns(_ path: String) -> Bool {
        let bytes = path.utf8
        guard bytes.starts(with: prefix.utf8) else { return false }
        let rest = bytes.dropFirst(prefix.utf8.count)
        return rest.isEmpty || rest.first == UInt8(ascii: "/")
    }

    /// The path itself for the dashboard's own paths, one label for any other under it (so
    /// that no made-up path makes a metrics series of its own).
    static func metricsLabel(_ path: String) -> String {
        assets[path] != nil || calls.contains(path) ? path : "/dashboard/{unknown}"
    }

    /// The sign-in calls' paths.
    static let calls: Set<String> = ["/dashboard/api/login", "/dashboard/api/session", "/dashboard/api/logout"]

    /// The page's assets by path, each with its content type.
    static let assets: [String: (contentType: String, body: [UInt8])] = [
        "/dashboard": ("text/html; charset=utf-8", Array(DashboardPage.html.utf8)),
        "/dashboard/": ("text/html; charset=utf-8", Array(DashboardPage.html.utf8)),
        "/dashboard/app.js": ("text/javascript; charset=utf-8", Array(DashboardScript.source.utf8)),
        "/dashboard/app.css": ("text/css; charset=utf-8", Array(DashboardStyle.source.utf8)),
        "/dashboard/icon.svg": ("image/svg+xml", Array(DashboardPage.icon.utf8)),
    ]

    /// Sent with every dashboard answer.
    static let securityHeaders: [(String, String)] = [
        (
            "Content-Security-Policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
                + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        ),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
    ]

    /// Answers a request for a dashboard path; API refusals are thrown as `OCSError`s.
    func answer(_ request: HTTPRequest) throws(OCSError) -> HTTPResponse {
        let head = request.head
        switch head.path {
        case "/dashboard/api/login": return try only("POST", head) { () throws(OCSError) in try login(request) }
        case "/dashboard/api/session": return try only("GET", head) { () throws(OCSError) in try session(head.headers) }
        case "/dashboard/api/logout": return try only("POST", head) { () throws(OCSError) in try logout(head) }
        default: break
        }
        guard let asset = Self.assets[head.path] else {
            if head.path.hasPrefix("/dashboard/api/") { throw .notFound("no dashboard call \(head.path)") }
            return page(status: 404, DashboardPage.notFound)
        }
        guard head.method == "GET" || head.method == "HEAD" else {
            throw OCSError(status: 405, message: "method \(head.method) not allowed here; allowed: GET", headers: [("Allow", "GET, HEAD")])
        }
        var headers = HTTPHeaders()
        headers.add("Content-Type", asset.contentType)
        // Revalidated on each load, so a new server version's page is never mixed with an old script.
        headers.add("Cache-Control", "no-cache")
        return Self.secured(HTTPResponse(status: 200, headers: headers, body: head.method == "HEAD" ? [] : asset.body))
    }

    /// Adds the security headers to a dashboard answer.
    static func secured(_ response: HTTPResponse) -> HTTPResponse {
        var response = response
        for (name, value) in securityHeaders { response.headers.add(name, value) }
        if response.headers["Cache-Control"] == nil { response.headers.add("Cache-Control", "no-store") }
        return response
    }

    private func page(status: Int, _ html: String) -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.add("Content-Type", "text/html; charset=utf-8")
        return Self.secured(HTTPResponse(status: status, headers: headers, body: Array(html.utf8)))
    }

    private func only(
        _ method: String, _ head: HTTPRequestHead, _ body: () throws(OCSError) -> HTTPResponse
    ) throws(OCSError) -> HTTPResponse {
        guard head.method == method else {
            throw OCSError(status: 405, message: "method \(head.method) not allowed here; allowed: \(method)", headers: [("Allow", method)])
        }
        return Self.secured(try body())
    }

    /// `POST api/login` with `{"user": ..., "password": <app password>}` as JSON (a form from
    /// another site cannot send that without the browser asking this server first). Sets the
    /// session cookie and answers the CSRF token. Wrong credentials: 401; not an administrator: 403.
    private func login(_ request: HTTPRequest) throws(OCSError) -> HTTPResponse {
        let contentType = (request.head.headers["Content-Type"] ?? "").lowercased()
        guard contentType.hasPrefix("application/json") else {
            throw OCSError(status: 415, message: "sign in with a JSON body: {\"user\": ..., \"password\": ...}")
        }
        let parameters = try RequestParameters(request: request, jsonOptions: jsonOptions)
        try parameters.refuseUnknown(["user", "password"])
        guard let user = try parameters.string("user"), !user.isEmpty, let password = try parameters.string("password"),
            !password.isEmpty
        else { throw .badRequest("give the user name and an app password of that user") }
        guard let account = try Authenticator.lookingUp({ try accounts.authenticateUser(userName: user, appPassword: password) })
        else { throw .unauthorized("wrong user name or app password") }
        guard account.isAdmin else {
            throw .forbidden("only administrators may sign in to the dashboard; \(account.name) is not one")
        }
        let session = try Authenticator.lookingUp {
            try sessions.create(userName: account.name, lifetimeSeconds: cookie.lifetimeSeconds)
        }
        var response = OCSResponse.success(Self.sessionJSON(session.userName, token: session.token, expiresAt: session.expiresAt), version: .v2)
        response.headers.add("Set-Cookie", cookie.setting(session.token))
        logger.notice("dashboard sign-in", metadata: ["request.id": "\(request.head.requestID)", "user": "\(account.name)"])
        return response
    }

    /// `GET api/session`: who is signed in, with the CSRF token; `{"signedIn": false}` (still a
    /// 200, as the page asks before anyone signed in) without a live session.
    private func session(_ headers: HTTPHeaders) throws(OCSError) -> HTTPResponse {
        guard let token = cookie.token(in: headers) else { return OCSResponse.success(["signedIn": false], version: .v2) }
        guard let account = try Authenticator.lookingUp({ try sessions.user(forToken: token) }), account.isAdmin else {
            var response = OCSResponse.success(["signedIn": false], version: .v2)
            response.headers.add("Set-Cookie", cookie.clearing)
            return response
        }
        return OCSResponse.success(Self.sessionJSON(account.name, token: token, expiresAt: nil), version: .v2)
    }

    /// `POST api/logout` (with the CSRF token): ends the session in the database, so no
    /// server process accepts its cookie again, and clears the cookie.
    private func logout(_ head: HTTPRequestHead) throws(OCSError) -> HTTPResponse {
        let headers = head.headers
        if let token = try cookie.tokenWithCSRFCheck(in: headers) {
            try Authenticator.lookingUp { try sessions.revoke(token: token) }
            logger.notice("dashboard sign-out", metadata: ["request.id": "\(head.requestID)"])
        }
        var response = OCSResponse.success(["signedIn": false], version: .v2)
        response.headers.add("Set-Cookie", cookie.clearing)
        return response
    }

    private static func sessionJSON(_ user: String, token: String, expiresAt: Int64?) -> JSONValue {
        var object: JSONObject = [
            "signedIn": true, "user": .string(user), "csrfToken": .string(DashboardCookie.csrfToken(for: token)),
        ]
        if let expiresAt { object["expiresAt"] = .int(expiresAt) }
        return .object(object)
    }
}
