import JSON
import Testing

/// Every integer parameter at min-1, min, max and max+1: the edges inside are accepted (never
/// a 400, never a 5xx), the ones outside are a 400 naming the parameter and its range, and
/// nothing reaches PostgreSQL that it cannot hold.
@Suite("Integer parameter ranges")
struct ParameterRangeTests {
    typealias Support = EndpointSupport

    /// One integer parameter: its range as the API promises it, and how to send a value of it.
    struct RangedParameter: Sendable, CustomTestStringConvertible {
        var name: String
        /// The range, as decimal text (the top may be past 64 bits' reach).
        var min: Int64
        var max: Int64
        /// Sends `value` (a JSON value) and answers the status it got: the HTTP status, or the
        /// item's status for batch routes.
        var send: @Sendable (TestServer, JSONValue) throws -> (status: Int, message: String)

        var testDescription: String { name }
    }

    static let int32Max = Int64(Int32.max)

    static let parameters: [RangedParameter] = [
        RangedParameter(name: "priority", min: -1000, max: 1000) { server, value in
            try schedule(server, ["priority": value])
        },
        RangedParameter(name: "runAfter", min: 0, max: 253_402_300_799) { server, value in
            try schedule(server, ["runAfter": value])
        },
        RangedParameter(name: "numberOfTasks", min: 1, max: 100) { server, value in
            try answer(server.client(server.worker).call("GET", "tasks_provider/next_batch", json: [
                "providerIds": ["core:text2text"], "taskTypeIds": ["core:text2text"], "numberOfTasks": value,
            ]))
        },
        RangedParameter(name: "wait", min: 0, max: int32Max) { server, value in
            try answer(server.client(server.worker).call("GET", "tasks_provider/next", json: [
                "providerIds": ["core:text2text"], "taskTypeIds": ["core:text2text"], "wait": value,
            ]))
        },
        RangedParameter(name: "leaseSeconds", min: 1, max: int32Max) { server, value in
            try answer(server.client(server.worker).call("GET", "tasks_provider/next", json: [
                "providerIds": ["core:text2text"], "taskTypeIds": ["core:text2text"], "leaseSeconds": value,
            ]))
        },
        RangedParameter(name: "attempt", min: 1, max: int32Max) { server, value in
            // On progress, as a query parameter (the way a form-less client sends it).
            let id = try claimedTask(server)
            return try answer(server.client(server.worker).call(
                "POST", "tasks_provider/\(id)/progress?attempt=\(text(value))", json: ["progress": 0.5]))
        },
        RangedParameter(name: "attempt", min: 1, max: int32Max) { server, value in
            let id = try claimedTask(server)
            return try answer(server.client(server.worker).call(
                "POST", "tasks_provider/\(id)/result", json: ["output": ["output": "done"], "attempt": value]))
        },
        RangedParameter(name: "attempt", min: 1, max: int32Max) { server, value in
            let id = try claimedTask(server)
            return try answer(FileSupport.upload(
                server.client(server.worker), "tasks_provider/\(id)/file?attempt=\(text(value))", data: [1, 2, 3]))
        },
        RangedParameter(name: "taskId", min: 1, max: Int64.max) { server, value in
            let response = try server.client(server.worker).call(
                "POST", "tasks_provider/results", json: ["results": [["taskId": value, "output": ["output": "done"]]]])
            guard response.status == 200, let item = response.data?["results"]?.arrayValue?.first else { return answer(response) }
            return (Int(item["status"]?.int64Value ?? 0), item["message"]?.stringValue ?? "")
        },
        RangedParameter(name: "expected_runtime", min: 0, max: int32Max) { server, value in
            try answer(server.client(server.worker).call(
                "POST", "/ocs/v2.php/apps/app_api/api/v1/ai_provider/task_processing",
                json: ["provider": ["id": "ranged", "name": "Ranged", "task_type": "core:text2text", "expected_runtime": value]]))
        },
    ]

    @Test("min and max are accepted, min-1 and max+1 are a 400 naming the parameter and its range", arguments: parameters)
    func edges(_ parameter: RangedParameter) throws {
        let server = try TestServer { $0.maxWaitSeconds = 1 }
        defer { server.stop() }
        let below = Self.value(minus: parameter.min), above = Self.value(plus: parameter.max)
        for inside in [JSONValue.int(parameter.min), .int(parameter.max)] {
            let (status, message) = try parameter.send(server, inside)
            #expect(status != 400 && status < 500, "\(parameter.name) = \(Self.text(inside)): \(status) \(message)")
        }
        for outside in [below, above] {
            let (status, message) = try parameter.send(server, outside)
            #expect(status == 400, "\(parameter.name) = \(Self.text(outside)): \(status) \(message)")
            #expect(message.contains(parameter.name), "\(message)")
            #expect(message.contains("\(parameter.min)") && message.contains("\(parameter.max)"), "\(message)")
        }
        // The same values sent as decimal strings (as a query or form would carry them).
        for outside in [below, above] {
            let (status, _) = try parameter.send(server, .string(Self.text(outside)))
            #expect(status == 400, "\(parameter.name) = \"\(Self.text(outside))\"")
        }
        Support.expectStillServing(server)
    }

    // MARK: Helpers

    /// One below `n`, as a JSON integer, or as decimal text when it does not fit 64 bits.
    static func value(minus n: Int64) -> JSONValue {
        let (result, overflow) = n.subtractingReportingOverflow(1)
        return overflow ? .string("-9223372036854775809") : .int(result)
    }

    /// One above `n`, likewise.
    static func value(plus n: Int64) -> JSONValue {
        let (result, overflow) = n.addingReportingOverflow(1)
        return overflow ? .string("9223372036854775808") : .int(result)
    }

    static func text(_ value: JSONValue) -> String {
        value.stringValue ?? value.int64Value.map(String.init) ?? "\(value)"
    }

    static func answer(_ response: APIResponse) -> (status: Int, message: String) {
        (response.status, response.message ?? "")
    }

    static func schedule(_ server: TestServer, _ extra: JSONObject) throws -> (status: Int, message: String) {
        var body: JSONObject = ["type": "core:text2text", "input": ["input": "x"], "appId": "app"]
        for (key, value) in extra { body[key] = value }
        return answer(try server.client(server.alice).call("POST", "schedule", json: .object(body)))
    }

    /// A task scheduled and claimed by the worker, so that reports about it reach the store.
    static func claimedTask(_ server: TestServer) throws -> Int64 {
        let id = try server.client(server.alice).schedule()
        guard try server.client(server.worker).next().taskID == id else { throw TestFailure("task \(id) was not claimed") }
        return id
    }
}
