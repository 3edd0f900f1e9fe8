import Foundation
import JSON
import Postgres
import TaskDispatchApp
import TaskQueue
import Testing

/// Providers and custom task types: AppAPI registration, capabilities, Nextcloud's provider
/// selection for `next`, 412 without a provider, and several processes agreeing on all of it.
@Suite("Task providers")
struct ProviderRegistrationTests {
    typealias Support = EndpointSupport

    /// The AppAPI route as nc_py_api calls it (v1 envelope), and its v2 twin.
    static let appAPIv1 = "/ocs/v1.php/apps/app_api/api/v1/ai_provider/task_processing"
    static let appAPIv2 = "/ocs/v2.php/apps/app_api/api/v1/ai_provider/task_processing"
    static let customTypeID = "test:repeat"

    /// A registration body as nc_py_api 0.30 sends it.
    static func registration(
        id: String, type: String, runtime: Int = 30, customType: JSONValue? = nil
    ) -> JSONValue {
        var body: JSONObject = [
            "provider": [
                "id": .string(id), "name": .string("Provider \(id)"), "task_type": .string(type),
                "expected_runtime": .int(Int64(runtime)), "optional_input_shape": [], "optional_output_shape": [],
                "input_shape_enum_values": [:], "input_shape_defaults": [:],
            ]
        ]
        if let customType { body["customTaskType"] = customType }
        return .object(body)
    }

    /// nc_py_api's `TaskType`: slots are lists of `{name, description, shape_type}`.
    static let customType: JSONValue = [
        "id": .string(customTypeID), "name": "Repeat", "description": "Repeats a text",
        "input_shape": [
            ["name": "input", "description": "The text", "shape_type": 1],
            ["name": "times", "description": "How often", "shape_type": 0],
        ],
        "output_shape": [["name": "output", "description": "The repeated text", "shape_type": 1]],
    ]

    static func register(_ client: APIClient, _ body: JSONValue, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let response = try client.call("POST", appAPIv1, json: body)
        #expect(response.status == 200 && response.meta?["statuscode"] == 100, "\(response.bodyText)", sourceLocation: sourceLocation)
    }

    static func typeIDs(_ client: APIClient) throws -> [String] {
        try client.call("GET", "tasktypes").data?["types"]?.objectValue?.map(\.key) ?? []
    }

    @Test("an ExApp registers a provider with a custom type (v1, nc_py_api's body): listed, validated on schedule, claimed by that provider")
    func registerCustomType() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        let worker = server.client(server.worker)
        #expect(try !Self.typeIDs(app).contains(Self.customTypeID))

        try Self.register(worker, Self.registration(id: "repeater", type: Self.customTypeID, runtime: 30, customType: Self.customType))
        let listed = try app.call("GET", "tasktypes").data?["types"]?[Self.customTypeID]
        #expect(listed?["name"] == "Repeat")
        #expect(listed?["inputShape"]?["times"] == ["name": "times", "description": "How often", "type": "Number"])
        #expect(listed?["outputShape"]?["output"]?["type"] == "Text")
        let stored = try server.server.catalog.store.providers().first { $0.id == "repeater" }
        #expect(stored == TaskProvider(
            id: "repeater", appID: "worker", displayName: "Provider repeater", taskType: Self.customTypeID, expectedRuntimeSeconds: 30))

        // The custom type's shapes are enforced.
        for bad: JSONValue in [["input": "abc"], ["input": "abc", "times": "twice"]] {
            let refused = try app.call("POST", "schedule", json: ["type": .string(Self.customTypeID), "input": bad, "appId": "a"])
            Support.expectOCSError(refused, status: 400, mentioning: ["invalid input for \(Self.customTypeID)"])
        }
        #expect(try Support.taskCount(server) == 0)

        let scheduled = try app.call(
            "POST", "schedule",
            json: ["type": .string(Self.customTypeID), "input": ["input": "abc", "times": 2, "extra": 1], "appId": "a"])
        #expect(scheduled.status == 200, "\(scheduled.bodyText)")
        let task = try #require(scheduled.task)
        #expect(task["input"] == ["input": "abc", "times": 2], "unknown keys dropped")
        // completionExpectedAt = scheduled time + the provider's expected runtime.
        #expect(task["completionExpectedAt"]?.int64Value == task["scheduledAt"]?.int64Value.map { $0 + 30 })

        let claimed = try worker.next(types: [Self.customTypeID], providers: ["repeater"])
        #expect(claimed.status == 200, "\(claimed.bodyText)")
        #expect(claimed.taskID == scheduled.taskID)
        #expect(claimed.data?["provider"] == ["name": "repeater"])
    }

    @Test("registering the same provider id again updates it; completionExpectedAt follows the new expected runtime")
    func reRegisterUpdates() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        let worker = server.client(server.worker)
        try Self.register(worker, Self.registration(id: "repeater", type: Self.customTypeID, runtime: 30, customType: Self.customType))
        var renamed = Self.customType
        if case .object(var object) = renamed { object["name"] = "Repeat twice"; renamed = .object(object) }
        try Self.register(worker, Self.registration(id: "repeater", type: Self.customTypeID, runtime: 600, customType: renamed))

        let providers = try server.server.catalog.store.providers().filter { $0.id == "repeater" }
        #expect(providers.map(\.expectedRuntimeSeconds) == [600], "one provider, updated")
        #expect(try app.call("GET", "tasktypes").data?["types"]?[Self.customTypeID]?["name"] == "Repeat twice")
        let task = try #require(try app.call(
            "POST", "schedule", json: ["type": .string(Self.customTypeID), "input": ["input": "x", "times": 1], "appId": "a"]).task)
        #expect(task["completionExpectedAt"]?.int64Value == task["scheduledAt"]?.int64Value.map { $0 + 600 })
        // A core type's tasks take the test provider's runtime.
        let core = try #require(try app.call(
            "POST", "schedule", json: ["type": "core:text2text", "input": ["input": "x"], "appId": "a"]).task)
        #expect(core["completionExpectedAt"]?.int64Value
            == core["scheduledAt"]?.int64Value.map { $0 + Int64(TestServer.expectedRuntimeSeconds) })
    }

    @Test("unregistering removes the provider and the app's custom type; a scheduled task stays and is claimed once a provider is back")
    func unregisterKeepsTasks() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        let worker = server.client(server.worker)
        try Self.register(worker, Self.registration(id: "repeater", type: Self.customTypeID, customType: Self.customType))
        let scheduled = try app.call(
            "POST", "schedule", json: ["type": .string(Self.customTypeID), "input": ["input": "x", "times": 1], "appId": "a"])
        let id = try #require(scheduled.taskID)

        let removed = try worker.call("DELETE", Self.appAPIv1 + "?name=repeater")
        #expect(removed.status == 200 && removed.meta?["statuscode"] == 100, "\(removed.bodyText)")
        #expect(try server.server.catalog.store.providers().allSatisfy { $0.id != "repeater" })
        #expect(try server.server.catalog.store.customTypes().isEmpty)
        #expect(try !Self.typeIDs(app).contains(Self.customTypeID))
        let refused = try app.call(
            "POST", "schedule", json: ["type": .string(Self.customTypeID), "input": ["input": "x", "times": 1], "appId": "a"])
        Support.expectOCSError(refused, status: 400, mentioning: ["unknown task type"])
        #expect(try worker.next(types: [Self.customTypeID], providers: ["repeater"]).status == 204)
        #expect(try app.call("GET", "task/\(id)").task?["status"] == "STATUS_SCHEDULED", "the task is still there")

        try Self.register(worker, Self.registration(id: "repeater", type: Self.customTypeID, customType: Self.customType))
        let claimed = try worker.next(types: [Self.customTypeID], providers: ["repeater"])
        #expect(claimed.taskID == id, "\(claimed.bodyText)")
    }

    @Test("the preferred provider's optional slots, enum values and defaults are part of its type: listed and enforced; a preference switch moves them")
    func providerShapes() throws {
        let server = try TestServer(providers: false)
        defer { server.stop() }
        let app = server.client(server.alice)
        let worker = server.client(server.worker)
        let type = "core:text2text:translate"
        let languages: JSONValue = [["name": "English", "value": "en"], ["name": "German", "value": "de"]]
        var body = Self.registration(id: "translator", type: type)
        if case .object(var object) = body, case .object(var provider)? = object["provider"] {
            provider["input_shape_enum_values"] = ["origin_language": languages, "target_language": languages]
            provider["input_shape_defaults"] = ["origin_language": "en"]
            provider["optional_input_shape"] = [["name": "formality", "description": "Formal or not", "shape_type": 1]]
            provider["optional_input_shape_defaults"] = ["formality": "neutral"]
            object["provider"] = .object(provider)
            body = .object(object)
        }
        try Self.register(worker, body)

        let listed = try #require(try app.call("GET", "tasktypes").data?["types"]?[type])
        #expect(listed["inputShapeEnumValues"]?["target_language"] == languages)
        #expect(listed["inputShapeDefaults"] == ["origin_language": "en"], "the provider's default wins over the core one")
        #expect(listed["optionalInputShape"]?["formality"] == ["name": "formality", "description": "Formal or not", "type": "Text"])
        #expect(listed["optionalInputShapeDefaults"] == ["formality": "neutral"])

        func schedule(_ input: JSONValue) throws -> APIResponse {
            try app.call("POST", "schedule", json: ["type": .string(type), "input": input, "appId": "a"])
        }
        Support.expectOCSError(
            try schedule(["input": "Hallo", "target_language": "fr"]), status: 400, mentioning: ["target_language", "'en', 'de'"])
        let scheduled = try schedule(["input": "Hallo", "target_language": "de"])
        #expect(scheduled.task?["input"] == ["input": "Hallo", "origin_language": "en", "target_language": "de", "formality": "neutral"])

        // Another provider becomes the preferred one: its (empty) additions apply instead.
        try Self.register(worker, Self.registration(id: "plain", type: type))
        try server.server.catalog.store.setPreferred(taskType: type, providerID: "plain")
        server.server.catalog.invalidate()
        let plain = try #require(try app.call("GET", "tasktypes").data?["types"]?[type])
        #expect(plain["inputShapeEnumValues"] == [:] && plain["optionalInputShape"] == [:])
        #expect(plain["inputShapeDefaults"] == ["origin_language": "detect_language"])
        #expect(try schedule(["input": "Hallo", "target_language": "fr"]).status == 200)
    }

    @Test("without a provider: schedule, schedule/batch and tasks_consumer/schedule are 412 in the OCS envelope, tasktypes is empty")
    func noProvider() throws {
        let server = try TestServer(providers: false)
        defer { server.stop() }
        let app = server.client(server.alice)
        let worker = server.client(server.worker)
        #expect(try Self.typeIDs(app) == [])
        #expect(try worker.call("GET", "tasks_consumer/tasktypes").data?["types"] == [:])

        let body: JSONValue = ["type": "core:text2text", "input": ["input": "x"], "appId": "a"]
        Support.expectOCSError(try app.call("POST", "schedule", json: body), status: 412, mentioning: ["core:text2text"])
        Support.expectOCSError(
            try app.call("POST", "schedule/batch", json: ["tasks": [body]]), status: 412, mentioning: ["tasks[0]", "core:text2text"])
        Support.expectOCSError(
            try worker.call("POST", "tasks_consumer/schedule", json: ["type": "core:text2text", "input": ["input": "x"]]), status: 412)
        let v1 = try app.call("POST", "\(Support.v1)/schedule", json: body)
        #expect(v1.status == 200 && v1.meta?["statuscode"] == 412 && v1.meta?["status"] == "failure", "\(v1.bodyText)")
        // An unknown type stays a 400.
        Support.expectOCSError(
            try app.call("POST", "schedule", json: ["type": "core:nope", "input": [:], "appId": "a"]), status: 400,
            mentioning: ["unknown task type"])
        #expect(try Support.taskCount(server) == 0)

        try Self.register(worker, Self.registration(id: "late", type: "core:text2text"))
        #expect(try Self.typeIDs(app) == ["core:text2text"])
        #expect(try app.call("POST", "schedule", json: body).status == 200)
    }

    @Test("only the preferred provider gets tasks: the first registered by default, then the administrator's choice")
    func preferredProviderSelection() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        let worker = server.client(server.worker)
        try Self.register(worker, Self.registration(id: "second", type: "core:text2text"))
        let first = try app.schedule("one")
        let second = try app.schedule("two")

        #expect(try worker.next(providers: ["second"]).status == 204, "not preferred: nothing")
        let batch = try worker.call(
            "GET", "tasks_provider/next_batch", json: ["providerIds": ["second"], "taskTypeIds": ["core:text2text"], "numberOfTasks": 5])
        #expect(batch.data?["tasks"] == [], "\(batch.bodyText)")
        let claimed = try worker.next(providers: ["second", "core:text2text"])
        #expect(claimed.taskID == first)
        #expect(claimed.data?["provider"] == ["name": "core:text2text"], "the preferred provider's id, not the first named")

        // The administrator prefers "second" (as `taskdispatch provider prefer` does, from another process).
        try server.server.catalog.store.setPreferred(taskType: "core:text2text", providerID: "second")
        let switched = try worker.call(
            "GET", "tasks_provider/next_batch", json: ["providerIds": ["second"], "taskTypeIds": ["core:text2text"], "numberOfTasks": 5])
        let items = try #require(switched.data?["tasks"]?.arrayValue)
        #expect(items.map { $0["task"]?["id"]?.int64Value } == [second])
        #expect(items.map { $0["provider"] } == ["second"])
        _ = try app.schedule("three")
        #expect(try worker.next(providers: ["core:text2text"]).status == 204, "no longer preferred")

        // A preference needs a provider of that type.
        #expect(throws: StoreError.self) {
            try server.server.catalog.store.setPreferred(taskType: "core:text2text", providerID: "core:audio2text")
        }
    }

    @Test("two server processes on one database: a registration or preference made through one is honoured by the other at once")
    func twoServersAgree() throws {
        let serverA = try TestServer()
        defer { serverA.stop() }
        let serverB = try serverA.startSibling()
        defer { serverB.stop() }
        let appA = serverA.client(serverA.alice)
        let workerA = serverA.client(serverA.worker)
        let workerB = APIClient(port: serverB.port, caller: serverA.worker)

        // A's snapshot is loaded and fresh: it knows no custom type yet.
        let warm = try appA.schedule("warm")
        try Self.register(workerB, Self.registration(id: "b-provider", type: Self.customTypeID, runtime: 45, customType: Self.customType))
        let scheduled = try appA.call(
            "POST", "schedule", json: ["type": .string(Self.customTypeID), "input": ["input": "x", "times": 3], "appId": "a"])
        #expect(scheduled.status == 200, "A must re-check a type it does not know: \(scheduled.bodyText)")
        let task = try #require(scheduled.task)
        #expect(task["completionExpectedAt"]?.int64Value == task["scheduledAt"]?.int64Value.map { $0 + 45 })
        let claimed = try workerA.next(types: [Self.customTypeID], providers: ["b-provider"])
        #expect(claimed.taskID == scheduled.taskID && claimed.data?["provider"] == ["name": "b-provider"], "\(claimed.bodyText)")

        // A preference set through B's store: A's worker naming the new provider is served at once.
        #expect(try workerA.next().taskID == warm)
        try Self.register(workerB, Self.registration(id: "b-second", type: "core:text2text"))
        try serverB.catalog.store.setPreferred(taskType: "core:text2text", providerID: "b-second")
        let next = try appA.schedule("after the switch")
        let switched = try workerA.next(providers: ["b-second"])
        #expect(switched.taskID == next && switched.data?["provider"] == ["name": "b-second"], "\(switched.bodyText)")
    }

    static let otherAppBadInput = "other"

    /// A refused registration: the body, the status, and a fragment of the message.
    struct BadRegistration: Sendable, CustomTestStringConvertible {
        let label: String
        let body: String
        let status: Int
        let fragment: String
        var testDescription: String { label }
    }

    static let badRegistrations: [BadRegistration] = [
        .init(label: "no provider", body: #"{}"#, status: 400, fragment: "'provider'"),
        .init(label: "provider not an object", body: #"{"provider":"x"}"#, status: 400, fragment: "'provider' must be a JSON object"),
        .init(label: "no id", body: #"{"provider":{"name":"n","task_type":"core:text2text"}}"#, status: 400, fragment: "'provider.id'"),
        .init(label: "empty id", body: #"{"provider":{"id":"","name":"n","task_type":"core:text2text"}}"#, status: 400, fragment: "'provider.id'"),
        .init(
            label: "id too long", body: #"{"provider":{"id":""# + String(repeating: "x", count: 256) + #"","name":"n","task_type":"core:text2text"}}"#,
            status: 400, fragment: "'provider.id' must be 1 to 255"),
        .init(label: "control character in id", body: #"{"provider":{"id":"a\u0001","name":"n","task_type":"core:text2text"}}"#, status: 400, fragment: "'provider.id'"),
        .init(label: "no name", body: #"{"provider":{"id":"p1","task_type":"core:text2text"}}"#, status: 400, fragment: "'provider.name'"),
        .init(label: "name not a string", body: #"{"provider":{"id":"p1","name":5,"task_type":"core:text2text"}}"#, status: 400, fragment: "'provider.name' must be a string"),
        .init(label: "no task_type", body: #"{"provider":{"id":"p1","name":"n"}}"#, status: 400, fragment: "'provider.task_type'"),
        .init(label: "unknown task_type", body: #"{"provider":{"id":"p1","name":"n","task_type":"core:nope"}}"#, status: 400, fragment: "unknown task type 'core:nope'"),
        .init(label: "negative expected_runtime", body: #"{"provider":{"id":"p1","name":"n","task_type":"core:text2text","expected_runtime":-1}}"#, status: 400, fragment: "expected_runtime"),
        .init(label: "expected_runtime a string", body: #"{"provider":{"id":"p1","name":"n","task_type":"core:text2text","expected_runtime":"soon"}}"#, status: 400, fragment: "expected_runtime"),
        .init(label: "expected_runtime a fraction", body: #"{"provider":{"id":"p1","name":"n","task_type":"core:text2text","expected_runtime":1.5}}"#, status: 400, fragment: "expected_runtime"),
        .init(
            label: "customTaskType for another type",
            body: #"{"provider":{"id":"p1","name":"n","task_type":"test:a"},"customTaskType":{"id":"test:b","name":"B","description":"d","input_shape":[],"output_shape":[]}}"#,
            status: 400, fragment: "'customTaskType.id' must equal"),
        .init(
            label: "customTaskType with a core id",
            body: #"{"provider":{"id":"p1","name":"n","task_type":"core:text2text"},"customTaskType":{"id":"core:text2text","name":"B","description":"d","input_shape":[],"output_shape":[]}}"#,
            status: 400, fragment: "core task type"),
        .init(
            label: "unknown shape_type",
            body: #"{"provider":{"id":"p1","name":"n","task_type":"test:a"},"customTaskType":{"id":"test:a","name":"A","description":"d","input_shape":[{"name":"x","description":"d","shape_type":99}],"output_shape":[]}}"#,
            status: 400, fragment: "shape_type"),
        .init(
            label: "slot named twice",
            body: #"{"provider":{"id":"p1","name":"n","task_type":"test:a"},"customTaskType":{"id":"test:a","name":"A","description":"d","input_shape":[{"name":"x","description":"d","shape_type":1},{"name":"x","description":"d","shape_type":0}],"output_shape":[]}}"#,
            status: 400, fragment: "appears twice"),
        .init(
            label: "input_shape not a list",
            body: #"{"provider":{"id":"p1","name":"n","task_type":"test:a"},"customTaskType":{"id":"test:a","name":"A","description":"d","input_shape":"x","output_shape":[]}}"#,
            status: 400, fragment: "input_shape"),
        .init(
            label: "customTaskType without description",
            body: #"{"provider":{"id":"p1","name":"n","task_type":"test:a"},"customTaskType":{"id":"test:a","name":"A","input_shape":[],"output_shape":[]}}"#,
            status: 400, fragment: "'customTaskType.description'"),
        .init(
            label: "enum values not an object",
            body: #"{"provider":{"id":"p1","name":"n","task_type":"core:text2text","input_shape_enum_values":[]}}"#,
            status: 400, fragment: "'provider.input_shape_enum_values'"),
        .init(
            label: "enum value without value",
            body: #"{"provider":{"id":"p1","name":"n","task_type":"core:text2text","output_shape_enum_values":{"output":[{"name":"x"}]}}}"#,
            status: 400, fragment: "'provider.output_shape_enum_values.output'"),
        .init(
            label: "default a boolean",
            body: #"{"provider":{"id":"p1","name":"n","task_type":"core:text2text","input_shape_defaults":{"input":true}}}"#,
            status: 400, fragment: "'provider.input_shape_defaults.input' must be a string or a number"),
        .init(
            label: "optional slot with a bad shape_type",
            body: #"{"provider":{"id":"p1","name":"n","task_type":"core:text2text","optional_input_shape":[{"name":"x","description":"d","shape_type":"Text"}]}}"#,
            status: 400, fragment: "'provider.optional_input_shape[0].shape_type'"),
        .init(
            label: "another app's provider id", body: #"{"provider":{"id":"core:text2text","name":"n","task_type":"core:text2text"}}"#,
            status: 409, fragment: "belongs to another app"),
    ]

    @Test("bad registration input is refused with a clear 4xx and changes nothing", arguments: badRegistrations)
    func badRegistration(_ bad: BadRegistration) throws {
        let server = try TestServer()
        defer { server.stop() }
        let other = Caller.exApp("other", try server.server.accounts.addApp(appID: "other"), user: "")
        let store = server.server.catalog.store
        let before = (try store.providers(), try store.customTypes())
        let response = try server.client(other).call(
            "POST", Self.appAPIv2, body: Array(bad.body.utf8), contentType: "application/json")
        Support.expectOCSError(response, status: bad.status, mentioning: [bad.fragment])
        #expect(try store.providers() == before.0)
        #expect(try store.customTypes() == before.1)
        Support.expectStillServing(server)
    }

    @Test("registration is for ExApps (403 for users); unregistering needs a name (400) and the caller's own provider (404)")
    func refusedCallersAndUnregistration() throws {
        let server = try TestServer()
        defer { server.stop() }
        let other = server.client(.exApp("other", try server.server.accounts.addApp(appID: "other"), user: ""))
        let store = server.server.catalog.store
        let before = try store.providers()
        Support.expectOCSError(
            try server.client(server.alice).call("POST", Self.appAPIv2, json: Self.registration(id: "mine", type: "core:text2text")),
            status: 403)
        Support.expectOCSError(try server.client(server.alice).call("DELETE", Self.appAPIv2 + "?name=core:text2text"), status: 403)
        Support.expectOCSError(try other.call("DELETE", Self.appAPIv2), status: 400, mentioning: ["'name'"])
        Support.expectOCSError(try other.call("DELETE", Self.appAPIv2 + "?name=nothing"), status: 404, mentioning: ["nothing"])
        Support.expectOCSError(try other.call("DELETE", Self.appAPIv2 + "?name=core:text2text"), status: 404)
        let v1 = try other.call("DELETE", Self.appAPIv1 + "?name=nothing")
        #expect(v1.status == 200 && v1.meta?["statuscode"] == 404, "v1 keeps HTTP 200: \(v1.bodyText)")
        #expect(try store.providers() == before)
    }

    @Test("cloud/capabilities (v1 and v2, no login needed) carries app_api and a version", arguments: ["/ocs/v1.php", "/ocs/v2.php"])
    func capabilities(_ root: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.client(.anonymous).call("GET", "\(root)/cloud/capabilities?format=json")
        #expect(response.status == 200, "\(response.bodyText)")
        #expect(response.meta?["status"] == "ok")
        #expect(response.data?["capabilities"]?["app_api"]?.objectValue != nil)
        #expect(response.data?["version"]?["major"]?.int64Value == 34)
        #expect(response.data?["version"]?["string"]?.stringValue == "34.0.0")
    }
}
