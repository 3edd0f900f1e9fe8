import JSON
import Testing

/// A provider or custom type row the server cannot decode (as `jsonb` left `1e300` before the
/// shape columns became text) breaks nothing but itself.
@Suite("Unreadable provider and custom type rows")
struct UnreadableDefinitionTests {
    typealias Support = EndpointSupport

    /// What `jsonb` printed for `1e300`: a 301-digit integer, which no 64-bit parser reads.
    static let jsonbLargeNumber = "{\"input\": 1" + String(repeating: "0", count: 300) + "}"

    @Test("a provider row that cannot be decoded is skipped and reported; every other type, and the next provider of its type, keep working")
    func unreadableProvider() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        let worker = server.client(server.worker)
        let admin = server.client(server.admin)
        let connection = try server.database()
        defer { connection.close() }
        // A second provider of core:text2text, registered later, and the first one made unreadable.
        try ProviderRegistrationTests.register(worker, ProviderRegistrationTests.registration(id: "second", type: "core:text2text"))
        _ = try connection.query(
            "UPDATE task_providers SET input_shape_defaults = $1 WHERE id = 'core:text2text'", [Self.jsonbLargeNumber])
        // A custom type (with its provider) whose row is broken the same way.
        try ProviderRegistrationTests.register(
            worker,
            ProviderRegistrationTests.registration(
                id: "repeater", type: ProviderRegistrationTests.customTypeID, customType: ProviderRegistrationTests.customType))
        _ = try connection.query(
            "UPDATE custom_task_types SET input_shape = 'not json' WHERE id = $1", [ProviderRegistrationTests.customTypeID])

        // Every process sees the change at its next re-validation; this one is asked at once.
        server.server.catalog.invalidate()
        let types = try ProviderRegistrationTests.typeIDs(app)
        #expect(types.contains("core:text2text"), "falls back to the next provider of the type")
        #expect(types.contains("core:text2text:summary"))
        #expect(!types.contains(ProviderRegistrationTests.customTypeID))

        for type in ["core:text2text", "core:text2text:summary"] {
            #expect(try app.schedule(type: type) > 0)
        }
        let claimed = try worker.next(types: ["core:text2text"], providers: ["second"])
        #expect(claimed.status == 200, "\(claimed.bodyText)")
        #expect(try worker.next(types: ["core:text2text:summary"]).status == 200)
        let custom = try app.call(
            "POST", "schedule", json: ["type": .string(ProviderRegistrationTests.customTypeID), "input": ["input": "a", "times": 1], "appId": "a"])
        Support.expectOCSError(custom, status: 400, mentioning: ["unknown task type"])

        let status = try admin.call("GET", "admin/status")
        #expect(status.status == 200, "\(status.bodyText)")
        let unreadable = status.data?["unreadableDefinitions"]?.arrayValue ?? []
        #expect(unreadable.count == 2, "\(unreadable)")
        #expect(unreadable.contains { $0["kind"] == "provider" && $0["id"] == "core:text2text" })
        #expect(unreadable.contains { $0["kind"] == "custom task type" && $0["id"] == .string(ProviderRegistrationTests.customTypeID) })
        #expect(unreadable.allSatisfy { $0["reason"]?.stringValue?.isEmpty == false })

        // The unreadable provider can still be removed by its app, and then nothing is reported for it.
        let removed = try worker.call("DELETE", ProviderRegistrationTests.appAPIv2 + "?name=core:text2text")
        #expect(removed.status == 200, "\(removed.bodyText)")
        let after = try admin.call("GET", "admin/status").data?["unreadableDefinitions"]?.arrayValue ?? []
        #expect(!after.contains { $0["kind"] == "provider" })
        Support.expectStillServing(server)
    }

    @Test("a provider default of 1e300 is stored as accepted and read back unchanged by every process")
    func largeNumberDefault() throws {
        let server = try TestServer()
        defer { server.stop() }
        let worker = server.client(server.worker)
        let body = #"{"provider":{"id":"big","name":"Big","task_type":"test:big","input_shape_defaults":{"input":1e300,"tiny":-5e-324,"zero":-0.0}},"#
            + #""customTaskType":{"id":"test:big","name":"Big","description":"d","input_shape":[{"name":"input","description":"d","shape_type":0}],"output_shape":[]}}"#
        let registered = try worker.call("POST", ProviderRegistrationTests.appAPIv2, body: Array(body.utf8), contentType: "application/json")
        #expect(registered.status == 200, "\(registered.bodyText)")
        let sibling = try server.startSibling()
        defer { sibling.stop() }
        for port in [server.port, sibling.port] {
            let listed = try APIClient(port: port, caller: server.alice).call("GET", "tasktypes")
            #expect(listed.status == 200, "\(listed.bodyText)")
            let defaults = listed.data?["types"]?["test:big"]?["inputShapeDefaults"]
            #expect(defaults?["input"]?.doubleValue?.bitPattern == (1e300 as Double).bitPattern)
            #expect(defaults?["tiny"]?.doubleValue?.bitPattern == (-5e-324 as Double).bitPattern)
            #expect(defaults?["zero"]?.doubleValue?.bitPattern == (-0.0 as Double).bitPattern)
            #expect(try APIClient(port: port, caller: server.alice).schedule() > 0)
        }
        #expect(try server.client(server.admin).call("GET", "admin/status").data?["unreadableDefinitions"] == [])
    }
}
