import Foundation
import JSON
import Postgres
import Testing

/// The dashboard's sign-in over real HTTP: the cookie's attributes, what is stored, the CSRF
/// token on the operator's routes, sign-out and expiry seen by every server process, and the
/// refusals (wrong password, non-administrator, wrong token, a cookie on a user route).
@Suite("Dashboard sessions")
struct DashboardSessionTests {
    typealias Support = EndpointSupport

    /// A signed-in browser: its cookie (name=value) and CSRF token.
    struct Session {
        let cookie: String
        let csrf: String
        var headers: [(String, String)] { [("Cookie", cookie), ("requesttoken", csrf)] }
    }

    static func login(_ server: TestServer, user: String, password: String) throws -> (APIResponse, Session?) {
        let response = try server.client(.anonymous).call(
            "POST", "/dashboard/api/login", json: ["user": .string(user), "password": .string(password)], ocsAPIRequest: false)
        guard response.status == 200, let setCookie = response.header("Set-Cookie"),
            let csrf = response.data?["csrfToken"]?.stringValue
        else { return (response, nil) }
        let cookie = String(setCookie.split(separator: ";")[0])
        return (response, Session(cookie: cookie, csrf: csrf))
    }

    static func signIn(_ server: TestServer) throws -> Session {
        guard case .user(let name, let password) = server.admin else { throw TestFailure("the admin is a user") }
        let (response, session) = try login(server, user: name, password: password)
        guard let session else { throw TestFailure("login answered \(response.status): \(response.bodyText)") }
        return session
    }

    @Test("signing in sets an HttpOnly, SameSite=Strict cookie whose token is stored only as a hash, and answers the CSRF token")
    func signIn() throws {
        let server = try TestServer()
        defer { server.stop() }
        guard case .user(let name, let password) = server.admin else { throw TestFailure("the admin is a user") }
        let (response, session) = try Self.login(server, user: name, password: password)
        let setCookie = try #require(response.header("Set-Cookie"), "\(response.bodyText)")
        #expect(setCookie.hasPrefix("taskdispatch_session="))
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
            #expect(setCookie.contains(attribute), "\(setCookie)")
        }
        #expect(!setCookie.contains("Secure"), "plain HTTP: no Secure attribute")
        #expect(response.data?["user"] == "root")
        #expect(response.header("Content-Security-Policy")?.contains("script-src 'self'") == true)
        let token = try #require(session?.cookie.split(separator: "=").last.map(String.init))
        #expect(token.count == 43)

        let database = try server.database()
        defer { database.close() }
        let rows = try database.query("SELECT token_hash, user_name FROM dashboard_sessions").rows
        #expect(rows.count == 1)
        #expect(rows.first?.string("user_name") == "root")
        let stored = try #require(rows.first?.bytes("token_hash"))
        #expect(stored.count == 32 && stored != Array(token.utf8), "only a SHA-256 is stored")
        let dump = try Support.tableSnapshot(server)
        #expect(!dump.contains(token))

        // The session call answers the same user and token from the cookie alone.
        let current = try server.client(.anonymous).call("GET", "/dashboard/api/session", headers: [("Cookie", session!.cookie)])
        #expect(current.data?["signedIn"] == true && current.data?["user"] == "root")
        #expect(current.data?["csrfToken"]?.stringValue == session?.csrf)
        let nobody = try server.client(.anonymous).call("GET", "/dashboard/api/session")
        #expect(nobody.status == 200 && nobody.data?["signedIn"] == false, "\(nobody.bodyText)")
    }

    @Test("wrong password 401, a user who is not an administrator 403, a form body 415, a missing field 400: no session stored")
    func refusedSignIns() throws {
        let server = try TestServer()
        defer { server.stop() }
        let alicePassword = try #require(server.alice.password)
        let adminPassword = try #require(server.admin.password)
        Support.expectOCSError(try Self.login(server, user: "root", password: alicePassword).0, status: 401, mentioning: ["wrong"])
        Support.expectOCSError(try Self.login(server, user: "root", password: "x").0, status: 401)
        Support.expectOCSError(try Self.login(server, user: "nobody", password: adminPassword).0, status: 401)
        Support.expectOCSError(
            try Self.login(server, user: "alice", password: alicePassword).0, status: 403, mentioning: ["only administrators"])
        let form = try server.client(.anonymous).call(
            "POST", "/dashboard/api/login", body: Array("user=root&password=\(adminPassword)".utf8),
            contentType: "application/x-www-form-urlencoded", ocsAPIRequest: false)
        Support.expectOCSError(form, status: 415)
        let missing = try server.client(.anonymous).call("POST", "/dashboard/api/login", json: ["user": "root"], ocsAPIRequest: false)
        Support.expectOCSError(missing, status: 400)
        let unknown = try server.client(.anonymous).call(
            "POST", "/dashboard/api/login", json: ["user": "root", "password": .string(adminPassword), "admin": true],
            ocsAPIRequest: false)
        Support.expectOCSError(unknown, status: 400, mentioning: ["admin"])
        let get = try server.client(.anonymous).call("GET", "/dashboard/api/login", ocsAPIRequest: false)
        Support.expectOCSError(get, status: 405)
        let database = try server.database()
        defer { database.close() }
        #expect(try database.query("SELECT count(*) AS n FROM dashboard_sessions").rows.first?.int64("n") == 0)
        Support.expectStillServing(server)
    }

    @Test("the operator's routes take the cookie with its CSRF token; a wrong or missing token is a 403 that changes nothing; user routes ignore the cookie")
    func csrfToken() throws {
        let server = try TestServer()
        defer { server.stop() }
        let session = try Self.signIn(server)
        let browser = server.client(.anonymous)
        #expect(try browser.call("GET", "admin/status", headers: session.headers).status == 200)

        // The right token with its first character changed.
        let altered = (session.csrf.hasPrefix("0") ? "1" : "0") + session.csrf.dropFirst()
        let wrong = try browser.call("POST", "admin/types/core:text2text/pause", headers: [("Cookie", session.cookie), ("requesttoken", altered)])
        Support.expectOCSError(wrong, status: 403, mentioning: ["CSRF"])
        let missing = try browser.call("POST", "admin/types/core:text2text/pause", headers: [("Cookie", session.cookie)])
        Support.expectOCSError(missing, status: 403, mentioning: ["CSRF"])
        let types = try server.client(server.admin).call("GET", "admin/types")
        let text = types.data?["types"]?.arrayValue?.first { $0["type"] == "core:text2text" }
        #expect(text == nil || text?["paused"] == false, "nothing paused: \(types.bodyText)")

        let paused = try browser.call("POST", "admin/types/core:text2text/pause", headers: session.headers)
        #expect(paused.status == 200 && paused.data?["paused"] == true, "\(paused.bodyText)")

        // The cookie is no credential for users' routes: they need an app password.
        let schedule = try browser.call(
            "POST", "schedule", json: ["type": "core:text2text", "input": ["input": "x"], "appId": "a"], headers: session.headers)
        Support.expectOCSError(schedule, status: 401)
        #expect(try Support.taskCount(server) == 0)
        // A Bearer token still wins over a cookie.
        let alice = try browser.call("GET", "admin/status", headers: session.headers + server.alice.headers)
        Support.expectOCSError(alice, status: 403, mentioning: ["administrators"])
    }

    @Test("signing out ends the session in the database: no server process accepts the cookie afterwards; expiry and demotion end it too")
    func signOutAndExpiry() throws {
        let server = try TestServer()
        defer { server.stop() }
        let sibling = try server.startSibling()
        defer { sibling.stop() }
        let here = server.client(.anonymous)
        let there = APIClient(port: sibling.port, caller: .anonymous)

        let first = try Self.signIn(server)
        #expect(try there.call("GET", "admin/workers", headers: first.headers).status == 200, "the other process knows the session")
        let wrongLogout = try there.call("POST", "/dashboard/api/logout", headers: [("Cookie", first.cookie), ("requesttoken", "nope")])
        Support.expectOCSError(wrongLogout, status: 403)
        #expect(try here.call("GET", "admin/status", headers: first.headers).status == 200, "a refused sign-out changed nothing")
        let logout = try there.call("POST", "/dashboard/api/logout", headers: first.headers)
        #expect(logout.status == 200, "\(logout.bodyText)")
        #expect(logout.header("Set-Cookie")?.contains("Max-Age=0") == true)
        Support.expectOCSError(try here.call("GET", "admin/status", headers: first.headers), status: 401, mentioning: ["sign in again"])
        Support.expectOCSError(try there.call("GET", "admin/status", headers: first.headers), status: 401)
        #expect(try here.call("GET", "/dashboard/api/session", headers: [("Cookie", first.cookie)]).data?["signedIn"] == false)

        let second = try Self.signIn(server)
        let database = try server.database()
        defer { database.close() }
        _ = try database.query("UPDATE dashboard_sessions SET expires_at = now() - interval '1 second'")
        Support.expectOCSError(try here.call("GET", "admin/status", headers: second.headers), status: 401)
        let expired = try here.call("GET", "/dashboard/api/session", headers: [("Cookie", second.cookie)])
        #expect(expired.data?["signedIn"] == false && expired.header("Set-Cookie")?.contains("Max-Age=0") == true)
        try server.server.accounts.dashboardSessions.deleteExpired()
        #expect(try database.query("SELECT count(*) AS n FROM dashboard_sessions").rows.first?.int64("n") == 0)

        let third = try Self.signIn(server)
        _ = try database.query("UPDATE users SET is_admin = false WHERE name = 'root'")
        Support.expectOCSError(try here.call("GET", "admin/status", headers: third.headers), status: 403, mentioning: ["administrators"])
        #expect(try here.call("GET", "/dashboard/api/session", headers: [("Cookie", third.cookie)]).data?["signedIn"] == false)
    }

    @Test("under TLS the cookie is Secure with the __Host- prefix")
    func secureCookie() throws {
        let certificates = try TestCertificates.get()
        let server = try TestServer { $0.tls = try? certificates.serverCredentials() }
        defer { server.stop() }
        let password = try #require(server.admin.password)
        let folder = try makeTemporaryFolder(prefix: "td-dashboard-tls")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (exit, output) = try ChildProcess.run(
            "/usr/bin/curl",
            [
                "--silent", "--show-error", "--max-time", "10", "--cacert", certificates.caCertificate, "-D", "-", "-o", "/dev/null",
                "-H", "Content-Type: application/json", "-d", #"{"user":"root","password":"\#(password)"}"#,
                "https://127.0.0.1:\(server.port)/dashboard/api/login",
            ], logPath: folder + "/curl.log")
        #expect(exit == .exited(0), "\(output)")
        let setCookie = output.split(separator: "\r\n").first { $0.lowercased().hasPrefix("set-cookie:") }.map(String.init) ?? ""
        #expect(setCookie.contains("__Host-taskdispatch_session="), "\(output)")
        #expect(setCookie.contains("; Secure") && setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict"), "\(setCookie)")
    }
}
