import Foundation
import JSON
import Testing

/// Who may call what: Basic and Bearer users, AppAPI ExApps, ownership of tasks, stored secrets.
@Suite("Authentication over HTTP")
struct AuthenticationTests {
    typealias Support = EndpointSupport

    static func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

    /// AppAPI headers with each part given explicitly (nil leaves the header out).
    static func appAPIHeaders(id: String?, version: String?, authorization: String?) -> [(String, String)] {
        var headers: [(String, String)] = []
        if let id { headers.append(("EX-APP-ID", id)) }
        if let version { headers.append(("EX-APP-VERSION", version)) }
        if let authorization { headers.append(("AUTHORIZATION-APP-API", authorization)) }
        return headers
    }

    /// A token of the right length and shape that is not alice's.
    static func tampered(_ token: String) -> String {
        String(token.dropLast()) + (token.last == "A" ? "B" : "A")
    }

    // MARK: users

    @Test("no credentials: 401 in the OCS envelope saying how to authenticate, on every kind of route",
          arguments: [("GET", "tasks"), ("POST", "schedule"), ("GET", "tasks_provider/next"), ("GET", "admin/status"), ("GET", "task/1")])
    func noCredentials(method: String, path: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.client(.anonymous).call(method, path)
        Support.expectOCSError(response, status: 401, mentioning: ["authentication required"])
    }

    @Test("Basic with a wrong app password is 401")
    func wrongPassword() throws {
        let server = try TestServer()
        defer { server.stop() }
        let password = try #require(server.alice.password)
        #expect(try server.client(server.alice).call("GET", "tasks").status == 200)
        for wrong in [Self.tampered(password), "not-the-password", ""] {
            let response = try server.client(.user("alice", wrong)).call("GET", "tasks")
            Support.expectOCSError(response, status: 401, mentioning: ["invalid user name or app password"])
        }
        let unknownUser = try server.client(.user("mallory", password)).call("GET", "tasks")
        Support.expectOCSError(unknownUser, status: 401)
    }

    @Test("Basic with another user's valid app password is 401")
    func anotherUsersPassword() throws {
        let server = try TestServer()
        defer { server.stop() }
        let alicePassword = try #require(server.alice.password)
        // First let the right pair succeed, so a cached verification cannot leak to the wrong name.
        #expect(try server.client(server.alice).call("GET", "tasks").status == 200)
        let response = try server.client(.user("bob", alicePassword)).call("GET", "tasks")
        Support.expectOCSError(response, status: 401)
    }

    @Test("malformed or unsupported Authorization headers are 401 saying what is wrong", arguments: [
        ("Basic !!!not-base64!!!", "malformed Basic"),
        ("Basic \(base64("no-colon-here"))", "malformed Basic"),
        ("Digest username=\"alice\"", "unsupported Authorization scheme"),
        ("Bearer", "invalid"),
    ])
    func malformedAuthorization(header: String, fragment: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.client(.anonymous).call("GET", "tasks", headers: [("Authorization", header)])
        Support.expectOCSError(response, status: 401, mentioning: [fragment])
    }

    @Test("Bearer with an app password authenticates as its user")
    func bearerWorks() throws {
        let server = try TestServer()
        defer { server.stop() }
        let token = try #require(server.alice.password)
        let bearer = server.client(.bearer(token))
        let id = try bearer.schedule()
        let read = try bearer.call("GET", "task/\(id)")
        #expect(read.status == 200)
        #expect(read.task?["userId"] == "alice")
        // The same task through Basic: it is alice's.
        #expect(try server.client(server.alice).call("GET", "task/\(id)").taskID == id)
        // A lowercase scheme works too.
        let lower = try server.client(.anonymous).call("GET", "tasks", headers: [("Authorization", "bearer \(token)")])
        #expect(lower.status == 200)
    }

    @Test("Bearer with a wrong token is 401")
    func bearerWrongToken() throws {
        let server = try TestServer()
        defer { server.stop() }
        let token = try #require(server.alice.password)
        Support.expectOCSError(try server.client(.bearer(Self.tampered(token))).call("GET", "tasks"), status: 401)
        Support.expectOCSError(try server.client(.bearer("short")).call("GET", "tasks"), status: 401)
    }

    @Test("an app password added later works, and each user's works only for that user")
    func addedAppPassword() throws {
        let server = try TestServer()
        defer { server.stop() }
        let second = try server.server.accounts.addAppPassword(userName: "bob")
        #expect(try server.client(.user("bob", second)).call("GET", "tasks").status == 200)
        #expect(try server.client(.user("alice", second)).call("GET", "tasks").status == 401)
    }

    // MARK: ExApps

    @Test("an ExApp with a wrong secret or an unknown app id is 401")
    func exAppWrongSecret() throws {
        let server = try TestServer()
        defer { server.stop() }
        // A verified (and so cached) right secret must not make a wrong one pass.
        #expect(try server.client(server.worker).next().status == 204)
        let wrongSecret = try server.client(.exApp("worker", Self.tampered(server.workerSecret), user: "")).next()
        Support.expectOCSError(wrongSecret, status: 401, mentioning: ["invalid ExApp id or secret"])
        let unknownApp = try server.client(.exApp("ghost", server.workerSecret, user: "")).next()
        Support.expectOCSError(unknownApp, status: 401, mentioning: ["invalid ExApp id or secret"])
    }

    @Test("AppAPI headers missing a part are 401 naming the part", arguments: [
        ("version missing", "EX-APP-VERSION"), ("version empty", "EX-APP-VERSION"), ("id missing", "EX-APP-ID"),
        ("authorization missing", "AUTHORIZATION-APP-API"), ("authorization not base64", "AUTHORIZATION-APP-API"),
    ])
    func exAppIncompleteHeaders(variant: String, fragment: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        let authorization = Self.base64(":\(server.workerSecret)")
        let headers: [(String, String)] = switch variant {
        case "version missing": Self.appAPIHeaders(id: "worker", version: nil, authorization: authorization)
        case "version empty": Self.appAPIHeaders(id: "worker", version: "", authorization: authorization)
        case "id missing": Self.appAPIHeaders(id: nil, version: "1.0.0", authorization: authorization)
        case "authorization missing": Self.appAPIHeaders(id: "worker", version: "1.0.0", authorization: nil)
        default: Self.appAPIHeaders(id: "worker", version: "1.0.0", authorization: "%%%")
        }
        _ = try server.client(server.alice).schedule()

        let response = try server.client(.anonymous).call(
            "GET", "tasks_provider/next", json: ["providerIds": ["core:text2text"], "taskTypeIds": ["core:text2text"]], headers: headers)

        Support.expectOCSError(response, status: 401, mentioning: [fragment])
        #expect(try Support.storedStatus(server, id: 1) == 1)
    }

    @Test("AppAPI header names are matched case-insensitively")
    func exAppHeaderNamesAnyCase() throws {
        let server = try TestServer()
        defer { server.stop() }
        let id = try server.client(server.alice).schedule()
        let headers = [
            ("ex-app-id", "worker"), ("ex-app-version", "1.0.0"),
            ("authorization-app-api", Self.base64(":\(server.workerSecret)")),
        ]
        let response = try server.client(.anonymous).call(
            "GET", "tasks_provider/next", json: ["providerIds": ["core:text2text"], "taskTypeIds": ["core:text2text"]], headers: headers)
        #expect(response.status == 200)
        #expect(response.taskID == id)
    }

    @Test("AppAPI headers win over a valid Authorization header: a bad secret stays 401")
    func exAppHeadersTakePrecedence() throws {
        let server = try TestServer()
        defer { server.stop() }
        let password = try #require(server.alice.password)
        let headers = Self.appAPIHeaders(id: "worker", version: "1.0.0", authorization: Self.base64("alice:wrong"))
            + [("Authorization", "Bearer \(password)")]
        let response = try server.client(.anonymous).call("GET", "tasks", headers: headers)
        Support.expectOCSError(response, status: 401)
    }

    @Test("an ExApp acting for a user who does not exist is 401")
    func exAppForUnknownUser() throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.client(.exApp("worker", server.workerSecret, user: "mallory")).call("GET", "tasks")
        Support.expectOCSError(response, status: 401, mentioning: ["unknown user"])
    }

    @Test("a user calling tasks_provider routes gets 403", arguments: [
        ("GET", "tasks_provider/next"), ("POST", "tasks_provider/1/progress"), ("POST", "tasks_provider/1/result"),
    ])
    func userCallsProviderRoute(method: String, path: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        let id = try app.schedule()
        #expect(id == 1)
        let before = try Support.storedRow(server, id: id)

        let response = try app.call(
            method, path, json: ["providerIds": ["core:text2text"], "taskTypeIds": ["core:text2text"], "progress": 0.5, "output": [:]])

        Support.expectOCSError(response, status: 403, mentioning: ["ExApps"])
        #expect(try Support.storedRow(server, id: id) == before)
    }

    @Test("an ExApp without a user calling user routes gets 403", arguments: [
        ("POST", "schedule"), ("GET", "tasks"), ("GET", "task/1"), ("DELETE", "task/1"), ("POST", "tasks/1/cancel"),
        ("GET", "tasks/app/testapp"),
    ])
    func exAppWithoutUserCallsUserRoute(method: String, path: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        _ = try server.client(server.alice).schedule()
        let before = try Support.tableSnapshot(server)

        let response = try server.client(server.worker).call(
            method, path, json: ["type": "core:text2text", "input": ["input": "x"], "appId": "a"])

        Support.expectOCSError(response, status: 403, mentioning: ["acts for a user"])
        #expect(try Support.tableSnapshot(server) == before)
    }

    @Test("an ExApp acting for alice sees, schedules and cancels alice's tasks, and not bob's")
    func exAppActingForUser() throws {
        let server = try TestServer()
        defer { server.stop() }
        let aliceTask = try server.client(server.alice).schedule(customID: "mine")
        let bobTask = try server.client(server.bob).schedule()
        let forAlice = server.client(.exApp("worker", server.workerSecret, user: "alice"))

        let read = try forAlice.call("GET", "task/\(aliceTask)")
        #expect(read.status == 200)
        #expect(read.task?["userId"] == "alice")
        let listed = try forAlice.call("GET", "tasks")
        #expect(listed.data?["tasks"]?.arrayValue?.compactMap { $0["id"]?.int64Value } == [aliceTask])
        Support.expectOCSError(try forAlice.call("GET", "task/\(bobTask)"), status: 404)

        let scheduled = try forAlice.schedule()
        #expect(try server.client(server.alice).call("GET", "task/\(scheduled)").task?["userId"] == "alice")
        #expect(try forAlice.call("POST", "tasks/\(aliceTask)/cancel").task?["status"] == "STATUS_CANCELLED")
        Support.expectOCSError(try forAlice.call("POST", "tasks/\(bobTask)/cancel"), status: 404)
        #expect(try Support.storedStatus(server, id: bobTask) == 1)
    }

    // MARK: ownership

    @Test("bob cannot see, list, cancel or delete alice's task")
    func otherUsersTask() throws {
        let server = try TestServer()
        defer { server.stop() }
        let id = try server.client(server.alice).schedule(customID: "secret")
        let bob = server.client(server.bob)
        let before = try Support.storedRow(server, id: id)

        Support.expectOCSError(try bob.call("GET", "task/\(id)"), status: 404, mentioning: ["Task not found"])
        Support.expectOCSError(try bob.call("POST", "tasks/\(id)/cancel"), status: 404)
        #expect(try bob.call("GET", "tasks").data?["tasks"] == [])
        #expect(try bob.call("GET", "tasks?customId=secret").data?["tasks"] == [])
        #expect(try bob.call("GET", "tasks/app/testapp").data?["tasks"] == [])
        let delete = try bob.call("DELETE", "task/\(id)")
        #expect(delete.status == 200)
        #expect(delete.data == .null)

        #expect(try Support.storedRow(server, id: id) == before)
        #expect(try server.client(server.alice).call("GET", "task/\(id)").task?["status"] == "STATUS_SCHEDULED")
    }

    // MARK: storage

    @Test("app passwords and ExApp secrets are stored only as salted hashes")
    func secretsNotStoredInClear() throws {
        let server = try TestServer()
        defer { server.stop() }
        let connection = try server.database()
        defer { connection.close() }
        let passwords = try [server.alice, server.bob, server.admin].map { try #require($0.password) }
        let secrets = passwords + [server.workerSecret]

        func hex(_ text: String) -> String { text.utf8.map { String(format: "%02x", $0) }.joined() }
        /// The secret part of an app password (its first 12 characters are a public row id).
        func secretPart(_ secret: String) -> String { secret.count == 44 ? String(secret.dropFirst(12)) : secret }

        let passwordRows = try connection.query("SELECT id, user_name, salt, hash FROM app_passwords").rows
        #expect(passwordRows.count == 3)
        let appRows = try connection.query("SELECT app_id, salt, secret_hash FROM ex_apps").rows
        #expect(appRows.count == 1)

        let stored = try connection.query(
            """
            SELECT row_to_json(p)::text AS row FROM app_passwords p
            UNION ALL SELECT row_to_json(a)::text FROM ex_apps a
            UNION ALL SELECT row_to_json(u)::text FROM users u
            """
        ).rows.compactMap { $0.string("row") }
        #expect(stored.count == 7)
        for row in stored {
            for secret in secrets {
                let part = secretPart(secret)
                #expect(!row.contains(part), "a stored row contains a secret in clear: \(row)")
                #expect(!row.lowercased().contains(hex(part)), "a stored row contains a secret as bytes: \(row)")
            }
        }
        for row in passwordRows {
            #expect(row.bytes("hash")?.count == 32)
            #expect((row.bytes("salt")?.count ?? 0) >= 16)
        }
        // Equal inputs would show as equal hashes without salts: the salts differ.
        let salts = passwordRows.compactMap { $0.bytes("salt") }
        #expect(Set(salts.map { Data($0) }).count == salts.count)
    }
}
