import JSON
import Testing

/// Property: a JSON value sent through any API that stores it (schedule input, results,
/// provider and custom type registration, webhooks, batch routes) comes back out through the
/// API unchanged, bit for bit for numbers, or is refused with a 400. Nothing answers 5xx, and
/// the server keeps serving everyone else. Values are drawn from a seeded generator, so a
/// failure names a case that can be replayed.
@Suite("Stored JSON round trips")
struct StoredJSONPropertyTests {
    typealias Support = EndpointSupport

    static let casesPerRoute = 60

    // MARK: Generating JSON text

    typealias Generator = SplitMix64

    /// Number literals at and beyond the limits of 64-bit integers and doubles.
    static let numberLiterals = [
        "0", "-0", "1", "-1", "0.0", "-0.0", "9223372036854775807", "-9223372036854775808",
        "9223372036854775808", "-9223372036854775809", "18446744073709551616", "123456789012345678901234567890",
        "1e300", "-1e300", "1E+300", "1.7976931348623157e308", "-1.7976931348623157e308", "1.7976931348623159e308",
        "1e309", "-1e400", "5e-324", "-5e-324", "2.2250738585072014e-308", "1e-400", "0.1", "0.30000000000000004",
        "1e0", "1E-0", "100e-2", "3.141592653589793238462643383279502884197", "2.5e+15", "1" + String(repeating: "0", count: 40),
        "0." + String(repeating: "9", count: 400), "-" + String(repeating: "7", count: 19), "4.9406564584124654e-324",
    ]

    /// Escapes, including ones the server must refuse (NUL, lone surrogates).
    static let escapes = [
        #"\""#, #"\\"#, #"\/"#, #"\b"#, #"\f"#, #"\n"#, #"\r"#, #"\t"#, #"\u0001"#, #"\u001f"#, #"\u007f"#,
        #"\u2028"#, #"\u2029"#, #"\ufeff"#, #"\uffff"#, #"\ud83d\ude00"#, #"\udbff\udfff"#, #"\u00e9"#, #"\u0000"#,
        #"\ud800"#, #"\udc00x"#,
    ]

    /// A JSON string literal mixing ASCII, escapes and characters of every Unicode plane, raw
    /// or escaped.
    static func stringLiteral(_ generator: inout Generator, maxPieces: Int = 12) -> String {
        var text = "\""
        for _ in 0..<generator.below(maxPieces + 1) {
            switch generator.below(4) {
            case 0:
                let ascii = generator.below(95) + 32
                if ascii == 34 || ascii == 92 { text += "\\" }
                text.unicodeScalars.append(Unicode.Scalar(UInt8(ascii)))
            case 1:
                text += generator.pick(escapes)
            default:
                let plane = generator.pick([0, 0, 1, 2, 3, 14, 15, 16])
                var value = UInt32(plane) << 16 | UInt32(generator.below(0x10000))
                if (0xD800...0xDFFF).contains(value) || value < 0x20 { value = 0x1F600 }
                guard let scalar = Unicode.Scalar(value) else { continue }
                if generator.below(2) == 0 {
                    text.unicodeScalars.append(scalar)
                } else {
                    text += Character(scalar).utf16.map { "\\u" + String($0, radix: 16).leftPadded(to: 4) }.joined()
                }
            }
        }
        return text + "\""
    }

    /// Arrays nested `depth` deep around a number, for the depth limit.
    static func nested(_ depth: Int, _ inner: String) -> String {
        String(repeating: "[", count: depth) + inner + String(repeating: "]", count: depth)
    }

    // MARK: The property

    /// Parses JSON text the way the server does, or nil when the server must refuse it.
    static func parsed(_ text: String) -> JSONValue? {
        try? JSONValue.parse(Array(text.utf8), options: JSONParseOptions(maxDepth: 64))
    }

    /// Equal, with numbers compared by their bits (so `-0.0` is not `0.0`).
    static func identical(_ a: JSONValue?, _ b: JSONValue?) -> Bool {
        switch (a, b) {
        case (.double(let x)?, .double(let y)?): x.bitPattern == y.bitPattern
        case (.array(let x)?, .array(let y)?): x.count == y.count && zip(x, y).allSatisfy { identical($0, $1) }
        case (.object(let x)?, .object(let y)?):
            x.count == y.count && x.allSatisfy { member in identical(member.value, y[member.key]) }
        default: a == b
        }
    }

    /// Sends `body`: if the server could not parse it, it must answer 400; otherwise 200 with
    /// what `readBack` finds equal to what `sent` picks out of the parsed body, or a 400.
    /// Returns whether it was accepted.
    @discardableResult
    static func expectRoundTrip(
        _ response: APIResponse, body: String, sent: (JSONValue) -> JSONValue?, readBack: () throws -> JSONValue?,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> Bool {
        #expect(response.status < 500, "5xx for \(body): \(response.bodyText)", sourceLocation: sourceLocation)
        guard let document = parsed(body) else {
            #expect(response.status == 400, "unparsable body not refused: \(body)", sourceLocation: sourceLocation)
            return false
        }
        guard response.status == 200 else {
            #expect(response.status == 400, "\(body): \(response.status) \(response.bodyText)", sourceLocation: sourceLocation)
            return false
        }
        let expected = sent(document)
        let actual = try readBack()
        #expect(identical(actual, expected), "sent \(String(describing: expected)), read back \(String(describing: actual))",
                sourceLocation: sourceLocation)
        return true
    }

    static func task(_ server: TestServer, _ id: Int64?) throws -> JSONValue? {
        guard let id else { return nil }
        return try server.client(server.alice).call("GET", "task/\(id)").task
    }

    // MARK: Routes

    @Test("schedule: strings of every plane and escape as text input, numbers as a number input")
    func scheduleInput() throws {
        let server = try TestServer()
        defer { server.stop() }
        var generator = Generator(state: 1)
        var accepted = 0
        for index in 0..<Self.casesPerRoute {
            let body: String
            let sent: (JSONValue) -> JSONValue?
            if index % 2 == 0 {
                body = #"{"type":"core:text2text","appId":"app","input":{"input":\#(Self.stringLiteral(&generator))}}"#
                sent = { $0["input"]?["input"] }
            } else {
                let number = generator.pick(Self.numberLiterals)
                body = #"{"type":"core:text2image","appId":"app","input":{"input":"x","numberOfImages":\#(number)}}"#
                sent = { $0["input"]?["numberOfImages"] }
            }
            let response = try server.client(server.alice).call("POST", "schedule", body: Array(body.utf8), contentType: "application/json")
            let key = index % 2 == 0 ? "input" : "numberOfImages"
            if try Self.expectRoundTrip(
                response, body: body, sent: sent, readBack: { try Self.task(server, response.taskID)?["input"]?[key] })
            { accepted += 1 }
        }
        #expect(accepted >= Self.casesPerRoute / 2, "most cases are valid and must be accepted")
        Support.expectStillServing(server)
    }

    @Test("results: output strings come back unchanged through the task, single and batched")
    func resultOutputs() throws {
        let server = try TestServer()
        defer { server.stop() }
        var generator = Generator(state: 2)
        let worker = server.client(server.worker)
        for index in 0..<Self.casesPerRoute {
            let id = try server.client(server.alice).schedule()
            #expect(try worker.next().taskID == id)
            let output = Self.stringLiteral(&generator)
            let body: String
            let path: String
            if index % 2 == 0 {
                path = "tasks_provider/\(id)/result"
                body = #"{"output":{"output":\#(output)}}"#
            } else {
                path = "tasks_provider/results"
                body = #"{"results":[{"taskId":\#(id),"output":{"output":\#(output)}}]}"#
            }
            var response = try worker.call("POST", path, body: Array(body.utf8), contentType: "application/json")
            // A batch answers 200 with the item's own status.
            if index % 2 == 1, response.status == 200, let item = response.data?["results"]?.arrayValue?.first, item["status"] != 200 {
                response = APIResponse(status: Int(item["status"]?.int64Value ?? 0), headers: [], body: [], json: nil)
            }
            try Self.expectRoundTrip(
                response, body: body,
                sent: { document in (document["output"] ?? document["results"]?.arrayValue?.first?["output"])?["output"] },
                readBack: { try Self.task(server, id)?["output"]?["output"] })
            if response.status != 200 {
                // Refused: the task still runs, and a clean result still goes through.
                #expect(try worker.call("POST", "tasks_provider/\(id)/result", json: ["output": ["output": "ok"]]).status == 200)
            }
        }
        Support.expectStillServing(server)
    }

    @Test("provider and custom type registration: defaults, names and descriptions come back unchanged in tasktypes")
    func registrations() throws {
        let server = try TestServer()
        defer { server.stop() }
        var generator = Generator(state: 3)
        let worker = server.client(server.worker)
        var accepted = 0
        for index in 0..<Self.casesPerRoute {
            let typeID = "test:json\(index)"
            let defaultValue = generator.below(2) == 0 ? generator.pick(Self.numberLiterals) : Self.stringLiteral(&generator, maxPieces: 6)
            let name = Self.stringLiteral(&generator, maxPieces: 6)
            let description = Self.stringLiteral(&generator, maxPieces: 6)
            let body = #"{"provider":{"id":"p\#(index)","name":\#(name),"task_type":"\#(typeID)","#
                + #""input_shape_defaults":{"input":\#(defaultValue)}},"customTaskType":{"id":"\#(typeID)","name":\#(name),"#
                + #""description":\#(description),"input_shape":[{"name":"input","description":"d","shape_type":0}],"output_shape":[]}}"#
            let response = try worker.call("POST", ProviderRegistrationTests.appAPIv2, body: Array(body.utf8), contentType: "application/json")
            let listed = { () throws -> JSONValue? in
                try server.client(server.alice).call("GET", "tasktypes").data?["types"]?[typeID]
            }
            if try Self.expectRoundTrip(
                response, body: body,
                sent: { document in
                    let provider = document["provider"], custom = document["customTaskType"]
                    return ["default": provider?["input_shape_defaults"]?["input"] ?? .null,
                            "name": custom?["name"] ?? .null, "description": custom?["description"] ?? .null]
                },
                readBack: {
                    let type = try listed()
                    return ["default": type?["inputShapeDefaults"]?["input"] ?? .null,
                            "name": type?["name"] ?? .null, "description": type?["description"] ?? .null]
                })
            { accepted += 1 }
            // Whatever was registered, every other type keeps working.
            #expect(try server.client(server.alice).schedule() > 0)
        }
        #expect(accepted >= Self.casesPerRoute / 3, "most cases are valid and must be accepted")
        #expect(try server.client(server.admin).call("GET", "admin/status").data?["unreadableDefinitions"] == [])
        Support.expectStillServing(server)
    }

    @Test("batch schedule: every item's input comes back unchanged, or the whole batch is refused")
    func batchSchedule() throws {
        let server = try TestServer()
        defer { server.stop() }
        var generator = Generator(state: 4)
        for _ in 0..<(Self.casesPerRoute / 3) {
            let inputs = (0..<3).map { _ in Self.stringLiteral(&generator) }
            let items = inputs.map { #"{"type":"core:text2text","appId":"app","input":{"input":\#($0)}}"# }
            let body = #"{"tasks":[\#(items.joined(separator: ","))]}"#
            let response = try server.client(server.alice).call("POST", "schedule/batch", body: Array(body.utf8), contentType: "application/json")
            let ids = response.data?["tasks"]?.arrayValue?.compactMap { $0["id"]?.int64Value } ?? []
            try Self.expectRoundTrip(
                response, body: body,
                sent: { document in .array(document["tasks"]?.arrayValue?.map { $0["input"]?["input"] ?? .null } ?? []) },
                readBack: { .array(try ids.map { try Self.task(server, $0)?["input"]?["input"] ?? .null }) })
        }
        Support.expectStillServing(server)
    }

    /// Nextcloud's task has no webhook fields, so the stored URI is read from the database: what
    /// the sender will read.
    @Test("webhooks: a webhook URI with escapes and every plane is stored unchanged, or is refused with a 400")
    func webhookURIs() throws {
        let server = try TestServer { $0.webhookAllowPrivateTargets = true }
        defer { server.stop() }
        var generator = Generator(state: 5)
        for _ in 0..<Self.casesPerRoute {
            let path = String(Self.stringLiteral(&generator, maxPieces: 6).dropFirst().dropLast())
            let uri = "\"http://127.0.0.1:9/hook/\(path)\""
            let body = #"{"type":"core:text2text","appId":"app","input":{"input":"x"},"webhookUri":\#(uri),"webhookMethod":"HTTP:POST"}"#
            let response = try server.client(server.alice).call("POST", "schedule", body: Array(body.utf8), contentType: "application/json")
            try Self.expectRoundTrip(
                response, body: body, sent: { $0["webhookUri"] },
                readBack: {
                    let connection = try server.database()
                    defer { connection.close() }
                    return try connection.query("SELECT webhook_uri FROM tasks WHERE id = $1", [response.taskID ?? 0])
                        .rows.first?.string("webhook_uri").map(JSONValue.string)
                })
        }
        Support.expectStillServing(server)
    }
}

extension String {
    func leftPadded(to length: Int) -> String {
        String(repeating: "0", count: Swift.max(0, length - count)) + self
    }
}
