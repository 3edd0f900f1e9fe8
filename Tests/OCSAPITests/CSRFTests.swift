import JSON
import Testing

@Suite("CSRF check (OCS-APIRequest header)")
struct CSRFTests {
    typealias Support = EndpointSupport

    static let scheduleBody: JSONValue = ["type": "core:text2text", "input": ["input": "x"], "appId": "a"]

    /// Nextcloud's exact answer: HTTP 412 and a bare JSON message, no envelope.
    static func expectCSRFRefusal(_ response: APIResponse, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(response.status == 412, "\(response.bodyText)", sourceLocation: sourceLocation)
        #expect(response.bodyText == #"{"message":"CSRF check failed"}"#, sourceLocation: sourceLocation)
        #expect(response.header("Content-Type")?.hasPrefix("application/json") == true, sourceLocation: sourceLocation)
    }

    @Test("without OCS-APIRequest: true and without a Bearer token: 412, nothing scheduled (users, ExApps, anonymous, v1)")
    func refused() throws {
        let server = try TestServer()
        defer { server.stop() }
        Self.expectCSRFRefusal(try server.client(server.alice).call("POST", "schedule", json: Self.scheduleBody, ocsAPIRequest: false))
        Self.expectCSRFRefusal(
            try server.client(server.alice).call("POST", "/ocs/v1.php/taskprocessing/schedule", json: Self.scheduleBody, ocsAPIRequest: false))
        Self.expectCSRFRefusal(try server.client(server.worker).call("GET", "tasks_provider/next", ocsAPIRequest: false))
        // The check runs before authentication, as in Nextcloud: no credentials, no header, 412.
        Self.expectCSRFRefusal(try server.client(.anonymous).call("GET", "tasks", ocsAPIRequest: false))
        Self.expectCSRFRefusal(
            try server.client(server.alice).call("GET", "tasks", headers: [("OCS-APIRequest", "yes")], ocsAPIRequest: false))
        #expect(try Support.taskCount(server) == 0)
        // With the header, anonymous callers get the usual 401.
        Support.expectOCSError(try server.client(.anonymous).call("GET", "tasks"), status: 401)
        // Unknown routes are 404 whatever the headers: routing comes first.
        #expect(try server.client(.anonymous).call("GET", "nope", ocsAPIRequest: false).status == 404)
        Support.expectStillServing(server)
    }

    @Test("a Bearer token passes without the header")
    func bearerPasses() throws {
        let server = try TestServer()
        defer { server.stop() }
        let password = try #require(server.alice.password)
        let response = try server.client(.bearer(password)).call("POST", "schedule", json: Self.scheduleBody, ocsAPIRequest: false)
        #expect(response.status == 200, "\(response.bodyText)")
    }

    @Test("--csrf-check false turns the check off")
    func checkOff() throws {
        let server = try TestServer { $0.csrfCheck = false }
        defer { server.stop() }
        let response = try server.client(server.alice).call("POST", "schedule", json: Self.scheduleBody, ocsAPIRequest: false)
        #expect(response.status == 200, "\(response.bodyText)")
    }
}
