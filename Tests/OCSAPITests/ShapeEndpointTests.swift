import Foundation
import JSON
import Testing

/// Shapes over HTTP: `schedule` validates the input (400 naming the key, nothing stored),
/// fills defaults and drops unknown keys; `result` validates the output and fails the task
/// when it does not fit.
@Suite("Shape validation over HTTP")
struct ShapeEndpointTests {
    typealias Support = EndpointSupport

    static func schedule(_ type: String, _ input: JSONValue) -> JSONValue {
        ["type": .string(type), "input": input, "appId": "shapes"]
    }

    @Test("invalid inputs are refused with 400 naming the key and what was expected; nothing is stored", arguments: [
        ("core:text2text", [:], ["missing input key 'input'", "Text"]),
        ("core:text2text", ["input": 5], ["input key 'input' must be Text", "got an integer"]),
        ("core:text2text", ["input": .null], ["missing input key 'input'"]),
        ("core:text2text:translate", ["input": "Hallo"], ["missing input key 'target_language'", "Enum"]),
        ("core:text2text:translate", ["input": "Hallo", "target_language": 3], ["input key 'target_language' must be Enum"]),
        ("core:text2image", ["input": "a cat", "numberOfImages": "two"], ["input key 'numberOfImages' must be Number", "got a string"]),
        ("core:audio2text", ["input": "speech.mp3"], ["input key 'input' must be Audio", "file id", "got a string"]),
        ("core:audio2text", ["input": 0], ["input key 'input' must be Audio", "got the integer 0"]),
        ("core:text2text:chat", ["system_prompt": "", "input": "hi", "history": "none"], ["input key 'history' must be ListOfTexts"]),
        ("core:text2text:chat", ["system_prompt": "", "input": "hi", "history": ["a", 1]], ["'history'", "an integer at index 1"]),
    ] as [(String, JSONValue, [String])])
    func invalidInput(type: String, input: JSONValue, fragments: [String]) throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.client(server.alice).call("POST", "schedule", json: Self.schedule(type, input))
        Support.expectOCSError(response, status: 400, mentioning: ["invalid input for \(type)"] + fragments)
        #expect(try Support.taskCount(server) == 0)
    }

    @Test("valid inputs are stored with defaults filled and unknown keys dropped")
    func defaultsAndUnknownKeys() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)

        let translate = try app.call(
            "POST", "schedule", json: Self.schedule("core:text2text:translate", ["input": "Hallo", "target_language": "en", "junk": true]))
        #expect(translate.status == 200, "\(translate.bodyText)")
        #expect(translate.task?["input"] == ["input": "Hallo", "origin_language": "detect_language", "target_language": "en"])

        let image = try app.call("POST", "schedule", json: Self.schedule("core:text2image", ["input": "a cat"]))
        #expect(image.task?["input"] == ["input": "a cat", "numberOfImages": 1])

        // A file slot holds the id of one of the user's uploads.
        let fileID = try FileSupport.uploadedFileID(app)
        let audio = try app.call("POST", "schedule", json: Self.schedule("core:audio2text", ["input": .int(fileID)]))
        #expect(audio.status == 200, "\(audio.bodyText)")
        let id = try #require(audio.taskID)
        #expect(try app.call("GET", "task/\(id)").task?["input"] == ["input": .int(fileID)])
    }

    @Test("an output that does not fit the output shape fails the task: 200 with the failed task, reason stored")
    func invalidOutputFailsTask() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        let worker = server.client(server.worker)
        for (output, reason) in [
            (["wrong": "x"], "missing output key 'output'"), (["output": 42], "output key 'output' must be Text"),
        ] as [(JSONValue, String)] {
            let id = try Support.runningTask(app, worker)
            let response = try worker.call("POST", "tasks_provider/\(id)/result", json: ["output": output])
            #expect(response.status == 200, "\(response.bodyText)")
            #expect(response.task?["status"] == "STATUS_FAILED")
            #expect(response.task?["output"] == .null)
            #expect(response.task?["endedAt"]?.int64Value != nil)
            let connection = try server.database()
            defer { connection.close() }
            let message = try connection.query("SELECT error_message FROM tasks WHERE id = $1", [id]).rows.first?.string("error_message")
            #expect(message?.hasPrefix("Output validation failed: ") == true, "\(message ?? "nil")")
            #expect(message?.contains(reason) == true, "\(message ?? "nil")")
            // The task is finished: a second, valid result is refused.
            #expect(try worker.call("POST", "tasks_provider/\(id)/result", json: ["output": ["output": "ok"]]).status == 409)
        }
    }

    @Test("a valid output is stored without the keys the type does not define")
    func validOutputDropsUnknownKeys() throws {
        let server = try TestServer()
        defer { server.stop() }
        let app = server.client(server.alice)
        let worker = server.client(server.worker)
        let id = try Support.runningTask(app, worker)
        let response = try worker.call("POST", "tasks_provider/\(id)/result", json: ["output": ["output": "done", "debug": [1, 2]]])
        #expect(response.task?["status"] == "STATUS_SUCCESSFUL")
        #expect(response.task?["output"] == ["output": "done"])
        #expect(try app.call("GET", "task/\(id)").task?["output"] == ["output": "done"])
    }
}
