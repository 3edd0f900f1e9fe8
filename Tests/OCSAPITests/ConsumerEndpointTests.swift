import Foundation
import JSON
import Testing

/// The ExApp consumer routes (`tasks_consumer/*`): an ExApp schedules and manages tasks for
/// the user it names, or for no user; tasks without a user belong to the scheduling app alone.
@Suite("Consumer endpoints over HTTP")
struct ConsumerEndpointTests {
    typealias Support = EndpointSupport

    /// ExApp callers: `consumer` for no user, `consumerForAlice` for alice, `other` a second app.
    struct Apps {
        let consumer: APIClient
        let consumerForAlice: APIClient
        let other: APIClient

        init(_ server: TestServer) throws {
            let secret = try server.server.accounts.addApp(appID: "consumer")
            let otherSecret = try server.server.accounts.addApp(appID: "other")
            consumer = server.client(.exApp("consumer", secret, user: ""))
            consumerForAlice = server.client(.exApp("consumer", secret, user: "alice"))
            other = server.client(.exApp("other", otherSecret, user: ""))
        }
    }

    static let task: JSONValue = ["type": "core:text2text", "input": ["input": "hi", "ignored": 1]]

    @Test("an ExApp acting for no user schedules, reads, cancels and deletes its own task")
    func ownTaskLifecycle() throws {
        let server = try TestServer()
        defer { server.stop() }
        let apps = try Apps(server)

        let scheduled = try apps.consumer.call("POST", "tasks_consumer/schedule", json: Self.task)
        #expect(scheduled.status == 200, "\(scheduled.bodyText)")
        #expect(scheduled.task?["userId"] == .null)
        #expect(scheduled.task?["appId"] == "consumer")
        #expect(scheduled.task?["input"] == ["input": "hi"])
        let id = try #require(scheduled.taskID)

        #expect(try apps.consumer.call("GET", "tasks_consumer/task/\(id)").taskID == id)
        let cancelled = try apps.consumer.call("POST", "tasks_consumer/tasks/\(id)/cancel")
        #expect(cancelled.task?["status"] == "STATUS_CANCELLED")
        let deleted = try apps.consumer.call("DELETE", "tasks_consumer/task/\(id)")
        #expect(deleted.status == 200)
        #expect(deleted.data == .null)
        Support.expectOCSError(try apps.consumer.call("GET", "tasks_consumer/task/\(id)"), status: 404, mentioning: ["Task not found"])
    }

    @Test("a task without a user is invisible to other apps, to the same app acting for a user, and to users")
    func ownershipIsolation() throws {
        let server = try TestServer()
        defer { server.stop() }
        let apps = try Apps(server)
        let id = try #require(try apps.consumer.call("POST", "tasks_consumer/schedule", json: Self.task).taskID)
        let before = try Support.storedRow(server, id: id)

        for outsider in [apps.other, apps.consumerForAlice] {
            Support.expectOCSError(try outsider.call("GET", "tasks_consumer/task/\(id)"), status: 404)
            Support.expectOCSError(try outsider.call("POST", "tasks_consumer/tasks/\(id)/cancel"), status: 404)
            #expect(try outsider.call("DELETE", "tasks_consumer/task/\(id)").status == 200)
        }
        let alice = server.client(server.alice)
        Support.expectOCSError(try alice.call("GET", "task/\(id)"), status: 404)
        Support.expectOCSError(try alice.call("POST", "tasks/\(id)/cancel"), status: 404)
        #expect(try alice.call("DELETE", "task/\(id)").status == 200)
        #expect(try alice.call("GET", "tasks").data?["tasks"] == [])
        #expect(try alice.call("GET", "tasks/app/consumer").data?["tasks"] == [])
        #expect(try Support.storedRow(server, id: id) == before)

        // A user's task is not the app's either.
        let alices = try alice.schedule(appID: "consumer")
        Support.expectOCSError(try apps.consumer.call("GET", "tasks_consumer/task/\(alices)"), status: 404)
        Support.expectOCSError(try apps.other.call("GET", "tasks_consumer/task/\(alices)"), status: 404)
    }

    @Test("an ExApp acting for a user schedules that user's tasks and sees the user's tasks")
    func actingForUser() throws {
        let server = try TestServer()
        defer { server.stop() }
        let apps = try Apps(server)
        let scheduled = try apps.consumerForAlice.call("POST", "tasks_consumer/schedule", json: Self.task)
        #expect(scheduled.task?["userId"] == "alice")
        #expect(scheduled.task?["appId"] == "consumer")
        let id = try #require(scheduled.taskID)
        #expect(try server.client(server.alice).call("GET", "task/\(id)").taskID == id)
        Support.expectOCSError(try server.client(server.bob).call("GET", "task/\(id)"), status: 404)
        Support.expectOCSError(try apps.consumer.call("GET", "tasks_consumer/task/\(id)"), status: 404)

        let alices = try server.client(server.alice).schedule()
        #expect(try apps.consumerForAlice.call("GET", "tasks_consumer/task/\(alices)").taskID == alices)
        let withApp = try apps.consumerForAlice.call(
            "POST", "tasks_consumer/schedule", json: ["type": "core:text2text", "input": ["input": "x"], "appId": "assistant"])
        #expect(withApp.task?["appId"] == "assistant")
    }

    @Test("the consumer routes refuse users, bad input and another app's id without a user")
    func refusals() throws {
        let server = try TestServer()
        defer { server.stop() }
        let apps = try Apps(server)
        let alice = server.client(server.alice)
        for (method, path) in [
            ("POST", "tasks_consumer/schedule"), ("GET", "tasks_consumer/task/1"), ("DELETE", "tasks_consumer/task/1"),
            ("POST", "tasks_consumer/tasks/1/cancel"), ("GET", "tasks_consumer/tasktypes"),
        ] {
            Support.expectOCSError(try alice.call(method, path, json: Self.task), status: 403, mentioning: ["tasks_consumer", "ExApps"])
        }
        Support.expectOCSError(
            try apps.consumer.call(
                "POST", "tasks_consumer/schedule", json: ["type": "core:text2text", "input": ["input": "x"], "appId": "other"]),
            status: 400, mentioning: ["appId", "consumer"])
        Support.expectOCSError(
            try apps.consumer.call("POST", "tasks_consumer/schedule", json: ["type": "core:text2text", "input": ["input": 1]]),
            status: 400, mentioning: ["input key 'input' must be Text"])
        Support.expectOCSError(try apps.consumer.call("GET", "tasks_consumer/task/abc"), status: 400)
        #expect(try Support.taskCount(server) == 0)
    }

    @Test("tasks_consumer/tasktypes lists the same types as tasktypes")
    func taskTypes() throws {
        let server = try TestServer()
        defer { server.stop() }
        let apps = try Apps(server)
        let consumer = try apps.consumer.call("GET", "tasks_consumer/tasktypes")
        #expect(consumer.status == 200)
        #expect(consumer.data?["types"]?["core:text2text"] != nil)
        #expect(consumer.data == (try server.client(server.alice).call("GET", "tasktypes")).data)
    }
}
