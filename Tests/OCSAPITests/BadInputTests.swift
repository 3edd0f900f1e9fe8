import Foundation
import JSON
import LoopbackHTTPClient
import TaskDispatchTesting
import Testing

/// Bad input of every kind: each gets a clear 4xx OCS error naming the problem, changes no
/// stored task, and leaves the server serving.
@Suite("Bad input over HTTP")
struct BadInputTests {
    typealias Support = EndpointSupport

    /// One bad request as alice (or as the worker for provider routes).
    struct BadRequest: Sendable, CustomTestStringConvertible {
        var label: String
        var method = "POST"
        var path = "schedule"
        var body: [UInt8]?
        var contentType: String? = "application/json"
        var asWorker = false
        var status = 400
        var fragments: [String]

        var testDescription: String { label }

        /// A schedule body: the valid parameters with `changes` applied (`nil` removes one).
        static func schedule(_ label: String, _ changes: [String: JSONValue?], _ fragments: [String]) -> BadRequest {
            var object: JSONObject = ["type": "core:text2text", "input": ["input": "hello"], "appId": "app", "customId": "c"]
            for (key, value) in changes { object[key] = value }
            return BadRequest(label: label, body: JSONValue.object(object).serialized(), fragments: fragments)
        }

        static func raw(_ label: String, _ body: String, contentType: String? = "application/json", status: Int = 400, _ fragments: [String])
            -> BadRequest
        {
            BadRequest(label: label, body: Array(body.utf8), contentType: contentType, status: status, fragments: fragments)
        }
    }

    static let validSchedule = #"{"type":"core:text2text","input":{"input":"hello"},"appId":"app"}"#

    static let bodies: [BadRequest] = [
        // Not JSON, or not a JSON object.
        .raw("truncated JSON", #"{"type":"core:text2text","input":{"#, ["not valid JSON"]),
        .raw("unquoted keys", #"{type: "core:text2text"}"#, ["not valid JSON"]),
        .raw("trailing garbage", validSchedule + " trailing", ["not valid JSON"]),
        .raw("duplicate key", #"{"type":"core:text2text","type":"core:text2text","input":{},"appId":"a"}"#, ["not valid JSON", "type"]),
        .raw("whitespace only", "   \n ", ["not valid JSON", "empty"]),
        .raw("JSON array body", "[" + validSchedule + "]", ["must be a JSON object"]),
        .raw("JSON string body", #""core:text2text""#, ["must be a JSON object"]),
        .raw("JSON null body", "null", ["must be a JSON object"]),
        .raw("escaped NUL in a string", #"{"type":"core:text2text","input":{"input":"a\u0000b"},"appId":"a"}"#, ["not valid JSON"]),
        BadRequest(
            label: "invalid UTF-8 in a JSON string",
            body: Array(#"{"type":"core:text2text","input":{"input":"a"#.utf8) + [0xff, 0xfe] + Array(#""},"appId":"a"}"#.utf8),
            fragments: ["not valid JSON"]),
        .raw("100,000 nested arrays", String(repeating: "[", count: 100_000), ["not valid JSON"]),
        .raw("100,000 nested arrays, closed", String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000), ["not valid JSON"]),
        .raw(
            "input nested deeper than the limit",
            #"{"type":"core:text2text","appId":"a","input":{"input":"# + String(repeating: "[", count: 70) + String(repeating: "]", count: 70) + "}}",
            ["nested deeper than 64"]),
        // Wrong types for every schedule parameter.
        .schedule("type as number", ["type": 5], ["parameter 'type' must be a string"]),
        .schedule("type as object", ["type": ["id": "core:text2text"]], ["parameter 'type' must be a string"]),
        .schedule("input as string", ["input": "hello"], ["parameter 'input' must be a JSON object"]),
        .schedule("input as array", ["input": ["hello"]], ["parameter 'input' must be a JSON object"]),
        .schedule("appId as array", ["appId": ["app"]], ["parameter 'appId' must be a string"]),
        .schedule("customId as object", ["customId": ["id": 1]], ["parameter 'customId' must be a string"]),
        .schedule("customId as number", ["customId": 7], ["parameter 'customId' must be a string"]),
        .schedule("includeWatermark as \"maybe\"", ["includeWatermark": "maybe"], ["parameter 'includeWatermark' must be a boolean"]),
        .schedule("includeWatermark as 2", ["includeWatermark": 2], ["parameter 'includeWatermark' must be a boolean"]),
        .schedule("webhookUri as number", ["webhookUri": 1], ["parameter 'webhookUri' must be a string"]),
        .schedule("webhookUri not http", ["webhookUri": "ftp://example.invalid/"], ["webhookUri", "http"]),
        .schedule("webhookMethod unknown", ["webhookMethod": "HTTP:PATCH"], ["webhookMethod", "HTTP:POST"]),
        .schedule("appId empty", ["appId": ""], ["appId", "1 to 255 bytes"]),
        .schedule("appId too long", ["appId": .string(String(repeating: "a", count: 256))], ["appId", "255"]),
        .schedule("customId too long", ["customId": .string(String(repeating: "c", count: 256))], ["customId", "255"]),
        // Missing required parameters (null counts as missing).
        .schedule("type missing", ["type": nil], ["missing required parameter 'type'"]),
        .schedule("input missing", ["input": nil], ["missing required parameter 'input'"]),
        .schedule("appId missing", ["appId": nil], ["missing required parameter 'appId'"]),
        .schedule("type null", ["type": .null], ["missing required parameter 'type'"]),
        .raw("empty object", "{}", ["missing required parameter"]),
        .schedule("unknown task type", ["type": "core:does-not-exist"], ["unknown task type 'core:does-not-exist'"]),
        // Content types and forms.
        .raw("text/plain body", validSchedule, contentType: "text/plain", status: 415, ["unsupported Content-Type", "text/plain"]),
        .raw("multipart body", validSchedule, contentType: "multipart/form-data; boundary=x", status: 415, ["unsupported Content-Type"]),
        .raw("form with bad percent-encoding", "type=core%3Atext2text&appId=%zz", contentType: "application/x-www-form-urlencoded",
             ["form body", "percent-encoded"]),
        .raw("form with truncated percent-encoding", "type=core%3Atext2text&appId=a%4", contentType: "application/x-www-form-urlencoded",
             ["form body", "percent-encoded"]),
        .raw("form with invalid UTF-8", "type=core%3Atext2text&appId=%ff%fe", contentType: "application/x-www-form-urlencoded",
             ["form body", "UTF-8"]),
        .raw("form cannot carry the input object", "type=core%3Atext2text&input=hello&appId=a",
             contentType: "application/x-www-form-urlencoded", ["parameter 'input' must be a JSON object"]),
        // The same problems on other routes.
        BadRequest(
            label: "malformed JSON on next", method: "GET", path: "tasks_provider/next", body: Array("{providerIds".utf8), asWorker: true,
            fragments: ["not valid JSON"]),
        BadRequest(
            label: "JSON array on result", path: "tasks_provider/1/result", body: Array("[]".utf8), asWorker: true,
            fragments: ["must be a JSON object"]),
        BadRequest(
            label: "text/plain on progress", path: "tasks_provider/1/progress", body: Array("0.5".utf8), contentType: "text/plain",
            asWorker: true, status: 415, fragments: ["unsupported Content-Type"]),
        BadRequest(
            label: "list with taskType as array", method: "GET", path: "tasks", body: Array(#"{"taskType":["a"]}"#.utf8),
            fragments: ["parameter 'taskType' must be a string"]),
        BadRequest(
            label: "list by app with customId as number", method: "GET", path: "tasks/app/app", body: Array(#"{"customId":1}"#.utf8),
            fragments: ["parameter 'customId' must be a string"]),
    ]

    @Test("a bad body is a 4xx naming the problem, changes nothing, and the server keeps serving", arguments: bodies)
    func badBody(_ request: BadRequest) throws {
        let server = try TestServer()
        defer { server.stop() }
        let seeded = try server.client(server.alice).schedule()
        #expect(seeded == 1)
        let before = try Support.tableSnapshot(server)

        let client = server.client(request.asWorker ? server.worker : server.alice)
        let response = try client.call(request.method, request.path, body: request.body, contentType: request.contentType)

        Support.expectOCSError(response, status: request.status, mentioning: request.fragments)
        #expect(try Support.taskCount(server) == 1)
        #expect(try Support.tableSnapshot(server) == before)
        Support.expectStillServing(server)
    }

    @Test("a request at the body limit is served; one byte over is 413")
    func bodyLimitBoundary() throws {
        let server = try TestServer { $0.maxBodyBytes = 1024 }
        defer { server.stop() }
        let app = server.client(server.alice)
        let prefix = #"{"type":"core:text2text","appId":"a","input":{"input":""#
        let suffix = #""}}"#
        let filler = String(repeating: "x", count: 1024 - prefix.utf8.count - suffix.utf8.count)
        let atLimit = Array((prefix + filler + suffix).utf8)
        #expect(atLimit.count == 1024)

        let accepted = try app.call("POST", "schedule", body: atLimit, contentType: "application/json")
        #expect(accepted.status == 200, "\(accepted.bodyText)")
        #expect(try Support.taskCount(server) == 1)

        let overLimit = Array((prefix + filler + "x" + suffix).utf8)
        let refused = try app.call("POST", "schedule", body: overLimit, contentType: "application/json")
        Support.expectOCSError(refused, status: 413, mentioning: ["larger than 1024 bytes"])
        #expect(try Support.taskCount(server) == 1)
        Support.expectStillServing(server)
    }

    @Test("a body far over the limit is 413 and stores nothing")
    func bodyOverLimit() throws {
        let server = try TestServer { $0.maxBodyBytes = 1024 }
        defer { server.stop() }
        let big = JSONValue.object([
            "type": "core:text2text", "appId": "a", "input": ["input": .string(String(repeating: "y", count: 200_000))],
        ])
        let response = try server.client(server.alice).call("POST", "schedule", json: big)
        Support.expectOCSError(response, status: 413, mentioning: ["1024"])
        #expect(try Support.taskCount(server) == 0)
        Support.expectStillServing(server)
    }

    @Test("the limit is decided from Content-Length before the body is read: a huge declared length and no body get 413")
    func bodyLimitFromContentLength() throws {
        let server = try TestServer { $0.maxBodyBytes = 1024 }
        defer { server.stop() }
        let password = try #require(server.alice.password)
        let authorization = Data("alice:\(password)".utf8).base64EncodedString()
        let head = """
            POST /ocs/v2.php/taskprocessing/schedule HTTP/1.1\r
            Host: 127.0.0.1\r
            Authorization: Basic \(authorization)\r
            Content-Type: application/json\r
            Content-Length: 10000000000\r
            \r

            """

        // No body byte is ever sent: only an answer decided from the head can arrive.
        let response = try Support.sendRaw(server, Array(head.utf8), timeoutSeconds: 10)

        #expect(response.status == 413)
        #expect(response.json?["ocs"]?["meta"]?["statuscode"] == 413)
        #expect(response.message?.contains("larger than 1024 bytes") == true)
        #expect(try Support.taskCount(server) == 0)
        Support.expectStillServing(server)
    }

    @Test("a chunked body that grows past the limit is 413")
    func chunkedBodyOverLimit() throws {
        let server = try TestServer { $0.maxBodyBytes = 1024 }
        defer { server.stop() }
        let password = try #require(server.alice.password)
        let authorization = Data("alice:\(password)".utf8).base64EncodedString()
        let chunk = String(repeating: " ", count: 2000)
        let request = "POST /ocs/v2.php/taskprocessing/schedule HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + "Authorization: Basic \(authorization)\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            + String(2000, radix: 16) + "\r\n" + chunk + "\r\n0\r\n\r\n"

        let response = try Support.sendRaw(server, Array(request.utf8), timeoutSeconds: 10)

        #expect(response.status == 413)
        #expect(response.message?.contains("1024") == true)
        #expect(try Support.taskCount(server) == 0)
        Support.expectStillServing(server)
    }

    // MARK: Routes and ids

    @Test("unknown routes are 404 naming the method and path", arguments: [
        "/ocs/v2.php/taskprocessing/nope", "/ocs/v2.php/taskprocessing/task", "/ocs/v2.php/taskprocessing/task/1/extra",
        "/ocs/v2.php/taskprocessing", "/", "/index.php/apps/taskprocessing/tasks", "/ocs/v3.php/taskprocessing/tasks",
        "/ocs/v2.php/taskprocessing/tasks_consumer/unknown",
    ])
    func unknownRoute(path: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        _ = try server.client(server.alice).schedule()
        let before = try Support.tableSnapshot(server)
        let response = try server.client(server.alice).call("POST", path, json: ["type": "core:text2text"])
        Support.expectOCSError(response, status: 404, mentioning: ["no route for POST \(path)"])
        #expect(try Support.tableSnapshot(server) == before)
        Support.expectStillServing(server)
    }

    @Test("a known path with the wrong method is 405 with an Allow header", arguments: [
        ("PUT", "task/1", "GET, DELETE"),
        ("POST", "task/1", "GET, DELETE"),
        ("GET", "schedule", "POST"),
        ("DELETE", "tasks", "GET"),
        ("GET", "tasks/1/cancel", "POST"),
        ("POST", "tasks_provider/next", "GET"),
        ("GET", "tasks_provider/1/progress", "POST"),
        ("PATCH", "admin/status", "GET"),
    ])
    func wrongMethod(method: String, path: String, allow: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        _ = try server.client(server.alice).schedule()
        let before = try Support.tableSnapshot(server)
        let response = try server.client(server.alice).call(method, path)
        Support.expectOCSError(response, status: 405, mentioning: ["method \(method) not allowed", allow])
        #expect(response.header("Allow") == allow)
        #expect(try Support.tableSnapshot(server) == before)
        Support.expectStillServing(server)
    }

    @Test("HEAD is not served: HEAD on tasks_provider/next is 405 and claims nothing", arguments: ["tasks_provider/next", "tasktypes"])
    func headNotServed(path: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        let id = try server.client(server.alice).schedule()
        let response = try server.client(server.worker).call(
            "HEAD", "\(path)?providerIds[]=p&taskTypeIds[]=core:text2text")
        #expect(response.status == 405)
        #expect(response.header("Allow") == "GET")
        #expect(try Support.storedStatus(server, id: id) == 1)
        Support.expectStillServing(server)
    }

    static let badIDs = ["abc", "0", "-1", "+1", "1.5", "0x10", "1e3", "99999999999999999999", "9223372036854775808", "%20"]

    @Test("ids that are not positive 64-bit integers are 400 on every route with an id", arguments: badIDs)
    func badID(_ id: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        _ = try Support.runningTask(server.client(server.alice), server.client(server.worker))
        let before = try Support.tableSnapshot(server)
        let routes: [(String, String, Caller)] = [
            ("GET", "task/\(id)", server.alice), ("DELETE", "task/\(id)", server.alice),
            ("POST", "tasks/\(id)/cancel", server.alice),
            ("POST", "tasks_provider/\(id)/progress", server.worker), ("POST", "tasks_provider/\(id)/result", server.worker),
        ]
        for (method, path, caller) in routes {
            let response = try server.client(caller).call(method, path, json: ["progress": 0.5, "output": ["output": "x"]])
            Support.expectOCSError(response, status: 400, mentioning: ["the id in the path must be a positive integer"])
        }
        #expect(try Support.tableSnapshot(server) == before)
        Support.expectStillServing(server)
    }

    @Test("the largest 64-bit id is valid and simply not found")
    func largestID() throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.client(server.alice).call("GET", "task/9223372036854775807")
        Support.expectOCSError(response, status: 404, mentioning: ["Task not found"])
    }

    // MARK: Encodings

    @Test("invalid UTF-8 in the path or the query is a 400 naming the part", arguments: [
        ("/ocs/v2.php/taskprocessing/task/%ff", "path"),
        ("/ocs/v2.php/taskprocessing/tasks/app/%c3%28", "path"),
        ("/ocs/v2.php/taskprocessing/tasks?customId=%ff", "query"),
        ("/ocs/v2.php/taskprocessing/tasks?%fe=1", "query"),
    ])
    func invalidUTF8InPath(path: String, part: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        _ = try server.client(server.alice).schedule()
        let before = try Support.tableSnapshot(server)
        let response = try server.client(server.alice).call("GET", path)
        Support.expectOCSError(response, status: 400, mentioning: ["\(part) is not valid UTF-8"])
        #expect(try Support.tableSnapshot(server) == before)
        Support.expectStillServing(server)
    }

    @Test("invalid UTF-8 in a header is a 400")
    func invalidUTF8InHeader() throws {
        let server = try TestServer()
        defer { server.stop() }
        let request = Array("GET /ocs/v2.php/taskprocessing/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Note: ".utf8)
            + [0xff, 0xfe] + Array("\r\nConnection: close\r\n\r\n".utf8)
        let response = try Support.sendRaw(server, request)
        #expect(response.status == 400)
        #expect(response.message?.contains("header is not valid UTF-8") == true)
        Support.expectStillServing(server)
    }

    /// A NUL character cannot be held by PostgreSQL text; where one can arrive (percent-encoded
    /// in the query or a form, or inside base64 credentials) it must be a 4xx, not a 500.
    enum NULInput: String, CaseIterable, Sendable {
        case listQuery, appListQuery, resultForm, progressQueryName, basicUser, basicToken, appAPIUser

        var expectedStatus: Int {
            switch self {
            case .basicUser, .basicToken, .appAPIUser: 401
            default: 400
            }
        }

        var fragment: String {
            switch self {
            case .listQuery, .appListQuery, .progressQueryName: "the query contains a NUL character"
            case .resultForm: "the form body contains a NUL character"
            case .basicUser, .basicToken: "malformed Basic credentials"
            case .appAPIUser: "malformed AUTHORIZATION-APP-API"
            }
        }
    }

    @Test("a NUL character in the query, a form or credentials is a 4xx, not a 500", arguments: NULInput.allCases)
    func nulCharacter(_ input: NULInput) throws {
        let server = try TestServer()
        defer { server.stop() }
        let id = try Support.runningTask(server.client(server.alice), server.client(server.worker))
        let before = try Support.tableSnapshot(server)
        let password = try #require(server.alice.password)
        func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

        let response: APIResponse
        switch input {
        case .listQuery:
            response = try server.client(server.alice).call("GET", "tasks?customId=a%00b")
        case .appListQuery:
            response = try server.client(server.alice).call("GET", "tasks/app/testapp?customId=%00")
        case .resultForm:
            response = try server.client(server.worker).call(
                "POST", "tasks_provider/\(id)/result", body: Array("errorMessage=bad%00byte".utf8),
                contentType: "application/x-www-form-urlencoded")
        case .progressQueryName:
            response = try server.client(server.worker).call("POST", "tasks_provider/\(id)/progress?progress=0.5&x%00=1")
        case .basicUser:
            response = try server.client(.anonymous).call(
                "GET", "tasks", headers: [("Authorization", "Basic " + base64("al\u{0}ice:\(password)"))])
        case .basicToken:
            response = try server.client(.anonymous).call(
                "GET", "tasks", headers: [("Authorization", "Basic " + base64("alice:" + String(repeating: "\u{0}", count: 44)))])
        case .appAPIUser:
            response = try server.client(.exApp("worker", server.workerSecret, user: "al\u{0}ice")).call("GET", "tasks")
        }

        Support.expectOCSError(response, status: input.expectedStatus, mentioning: [input.fragment])
        #expect(try Support.tableSnapshot(server) == before)
        Support.expectStillServing(server)
    }

    // MARK: Connections

    @Test("a slow client that sends part of a request line is disconnected by the server")
    func slowClientIsDisconnected() throws {
        let server = try TestServer { $0.connectionTimeoutSeconds = 1 }
        defer { server.stop() }
        let connection = try Support.RawConnection(port: server.port)
        try connection.send("GET /ocs/v2.php/taskpro")
        #expect(connection.closedByServer(withinSeconds: 10), "the server kept a stalled connection open")
        Support.expectStillServing(server)
    }

    @Test("a client that stalls in the middle of a body is disconnected by the server, and nothing is stored")
    func stalledBodyIsDisconnected() throws {
        let server = try TestServer { $0.connectionTimeoutSeconds = 1 }
        defer { server.stop() }
        let password = try #require(server.alice.password)
        let connection = try Support.RawConnection(port: server.port)
        try connection.send(
            "POST /ocs/v2.php/taskprocessing/schedule HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + "Authorization: Basic \(Data("alice:\(password)".utf8).base64EncodedString())\r\n"
                + "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"type\":\"core:text2text\",")
        #expect(connection.closedByServer(withinSeconds: 10), "the server kept a stalled upload open")
        #expect(try Support.taskCount(server) == 0)
        Support.expectStillServing(server)
    }

    @Test("a client that trickles its request line a byte at a time is disconnected by the server")
    func tricklingClientIsDisconnected() throws {
        let server = try TestServer {
            $0.connectionTimeoutSeconds = 1
            $0.requestTimeoutSeconds = 1
        }
        defer { server.stop() }
        let connection = try Support.RawConnection(port: server.port)
        // One byte every 0.4 s never leaves the connection idle for the 1 s timeout; only the
        // request deadline (idle + request timeout, 2 s here) ends it.
        var closed = false
        for byte in "GET /ocs/v2.php/taskproc" {
            if (try? connection.send(String(byte))) == nil || connection.closedByServer(withinSeconds: 0.4) {
                closed = true
                break
            }
        }
        #expect(closed, "the server kept a trickling connection open for about 10 s")
        Support.expectStillServing(server)
    }

    @Test("a client that connects and sends nothing is disconnected by the server")
    func idleClientIsDisconnected() throws {
        let server = try TestServer { $0.connectionTimeoutSeconds = 1 }
        defer { server.stop() }
        let connection = try Support.RawConnection(port: server.port)
        #expect(connection.closedByServer(withinSeconds: 10), "the server kept an idle connection open")
        Support.expectStillServing(server)
    }

    @Test("200 concurrent garbage requests from 8 threads get 4xx answers, change nothing, and a normal request then works")
    func concurrentGarbage() throws {
        let server = try TestServer()
        defer { server.stop() }
        let seeded = try server.client(server.alice).schedule()
        let before = try Support.tableSnapshot(server)
        let password = try #require(server.alice.password)
        let statuses = Support.Collector<Int>()
        let failures = Support.Collector<String>()

        onThreads(8) { thread in
            let client = server.client(.user("alice", password))
            for index in 0..<25 {
                let kind = (thread * 25 + index) % 6
                do {
                    switch kind {
                    case 0:
                        var bytes = (0..<200).map { UInt8(truncatingIfNeeded: ($0 * 37 + index * 11 + thread) % 256) }
                        bytes += Array("\r\n\r\n".utf8)
                        let raw = try Support.sendRaw(server, bytes, timeoutSeconds: 10)
                        statuses.append(raw.status ?? 0)
                    case 1:
                        let raw = try Support.sendRaw(
                            server, Array("GET /ocs/v2.php/taskprocessing/tasks HTTP/1.1\r\nContent-Length: abc\r\n\r\n".utf8),
                            timeoutSeconds: 10)
                        statuses.append(raw.status ?? 0)
                    case 2:
                        let response = try client.call("POST", "schedule", body: Array("{\"type\":".utf8), contentType: "application/json")
                        statuses.append(response.status)
                    case 3:
                        let response = try client.call("GET", "/ocs/v2.php/taskprocessing/task/%ff")
                        statuses.append(response.status)
                    case 4:
                        let response = try client.call("POST", "schedule", body: [0xff, 0x00, 0x7b], contentType: "application/json")
                        statuses.append(response.status)
                    default:
                        let response = try client.call("DELETE", "task/\(seeded)x")
                        statuses.append(response.status)
                    }
                } catch {
                    failures.append("thread \(thread) request \(index) (kind \(kind)): \(error)")
                }
            }
        }

        #expect(failures.values.isEmpty, "\(failures.values.prefix(5))")
        let answered = statuses.values
        #expect(answered.count == 200)
        // Raw binary garbage may be dropped without an answer (0); everything answered is a 4xx.
        #expect(answered.allSatisfy { $0 == 0 || (400..<500).contains($0) }, "\(answered.filter { !(400..<500).contains($0) })")
        #expect(answered.filter { (400..<500).contains($0) }.count >= 150)
        #expect(try Support.tableSnapshot(server) == before)

        let app = server.client(server.alice)
        let id = try app.schedule("after the storm")
        #expect(try app.call("GET", "task/\(id)").task?["input"] == ["input": "after the storm"])
        #expect(try Support.taskCount(server) == 2)
    }
}
