import Testing
@testable import OCSAPI

@Suite("Router (no I/O)")
struct RouterTests {
    let v2 = "/ocs/v2.php/taskprocessing"

    @Test("every route resolves with its ids", arguments: [
        ("POST", "/schedule", Route.schedule),
        ("GET", "/task/42", .getTask(id: 42)),
        ("DELETE", "/task/42", .deleteTask(id: 42)),
        ("GET", "/tasks", .listTasks),
        ("GET", "/tasks/app/my_app", .listAppTasks(appID: "my_app")),
        ("POST", "/tasks/7/cancel", .cancelTask(id: 7)),
        ("GET", "/tasktypes", .taskTypes),
        ("GET", "/tasks_provider/next", .nextTask),
        ("POST", "/tasks_provider/9/progress", .reportProgress(taskID: 9)),
        ("POST", "/tasks_provider/9/result", .reportResult(taskID: 9)),
        ("GET", "/admin/status", .adminStatus),
        ("GET", "/tasks/", .listTasks),
        ("GET", "/tasks_provider/next_batch", .nextBatch),
        ("GET", "/queue_stats", .queueStats),
        ("POST", "/tasks_consumer/schedule", .consumerSchedule),
        ("GET", "/tasks_consumer/task/42", .consumerGetTask(id: 42)),
        ("DELETE", "/tasks_consumer/task/42", .consumerDeleteTask(id: 42)),
        ("POST", "/tasks_consumer/tasks/7/cancel", .consumerCancelTask(id: 7)),
        ("GET", "/tasks_consumer/tasktypes", .consumerTaskTypes),
        ("POST", "/files", .uploadFile),
        ("POST", "/tasks_provider/9/file", .providerUploadFile(taskID: 9)),
        ("GET", "/tasks/9/file/12", .getTaskFile(taskID: 9, fileID: 12)),
        ("GET", "/tasks_provider/9/file/12", .providerGetTaskFile(taskID: 9, fileID: 12)),
    ])
    func routes(method: String, path: String, route: Route) {
        #expect(Router.match(method: method, path: v2 + path) == .route(route, .v2))
        #expect(Router.match(method: method, path: "/ocs/v1.php/taskprocessing" + path) == .route(route, .v1))
    }

    @Test("capabilities and AppAPI provider registration resolve under v1 and v2", arguments: [
        ("GET", "/cloud/capabilities", Route.capabilities),
        ("POST", "/apps/app_api/api/v1/ai_provider/task_processing", .registerProvider),
        ("DELETE", "/apps/app_api/api/v1/ai_provider/task_processing", .unregisterProvider),
    ])
    func appAPIRoutes(method: String, path: String, route: Route) {
        #expect(Router.match(method: method, path: "/ocs/v1.php" + path) == .route(route, .v1))
        #expect(Router.match(method: method, path: "/ocs/v2.php" + path) == .route(route, .v2))
        #expect(Router.match(method: method, path: "/ocs/v2.php/taskprocessing" + path) == .notFound)
    }

    @Test("unknown paths are not found")
    func unknown() {
        for path in [
            "/", "/ocs/v2.php/taskprocessing", "\(v2)/nope", "\(v2)/task", "\(v2)/task/1/extra", "/ocs/v3.php/taskprocessing/tasks",
            "/ocs/v2.php/cloud", "/ocs/v2.php/apps/app_api/api/v2/ai_provider/task_processing", "/ocs/v2.php/schedule",
        ] {
            #expect(Router.match(method: "GET", path: path) == .notFound, "\(path)")
        }
    }

    @Test("a known path with the wrong method is 405 with the allowed methods")
    func wrongMethod() {
        #expect(Router.match(method: "PUT", path: "\(v2)/task/1") == .methodNotAllowed(allowed: ["GET", "DELETE"], version: .v2))
        #expect(Router.match(method: "GET", path: "\(v2)/schedule") == .methodNotAllowed(allowed: ["POST"], version: .v2))
        #expect(Router.match(method: "POST", path: "\(v2)/tasks_provider/next") == .methodNotAllowed(allowed: ["GET"], version: .v2))
        // A HEAD must not claim a task whose answer nobody reads.
        #expect(Router.match(method: "HEAD", path: "\(v2)/tasks_provider/next") == .methodNotAllowed(allowed: ["GET"], version: .v2))
        #expect(
            Router.match(method: "PUT", path: "/ocs/v1.php/apps/app_api/api/v1/ai_provider/task_processing")
                == .methodNotAllowed(allowed: ["POST", "DELETE"], version: .v1))
        #expect(Router.match(method: "POST", path: "/ocs/v2.php/cloud/capabilities") == .methodNotAllowed(allowed: ["GET"], version: .v2))
    }

    @Test("ids must be positive 64-bit integers", arguments: ["abc", "0", "-1", "1.5", "99999999999999999999", "+1", "١"])
    func badIDs(id: String) {
        guard case .invalidID = Router.match(method: "GET", path: "\(v2)/task/\(id)") else {
            Issue.record("id \(id) was accepted")
            return
        }
    }

    @Test("both ids of a file route must be positive integers, and the bad one is named")
    func fileRouteIDs() {
        #expect(Router.match(method: "GET", path: "\(v2)/tasks/9/file/x") == .invalidID("the id in the path must be a positive integer, got 'x'", version: .v2))
        #expect(Router.match(method: "GET", path: "\(v2)/tasks/0/file/3") == .invalidID("the id in the path must be a positive integer, got '0'", version: .v2))
    }
}
