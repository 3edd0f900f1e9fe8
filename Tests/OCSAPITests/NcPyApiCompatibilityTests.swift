import Foundation
import JSON
import Postgres
import Testing

/// The strongest compatibility check: a real `nc_py_api.NextcloudApp` (the PyPI package
/// Nextcloud's Python ExApps use, installed by `scripts/test.sh` into `.build/venv`) registers
/// a provider, schedules as a user, claims, reports progress, uploads a result file, reports
/// results, and unregisters,
/// against a real server, unchanged.
@Suite("nc_py_api compatibility")
struct NcPyApiCompatibilityTests {
    static let appID = "compat"
    static let customType = "compat:upper"

    /// The ExApp, written as a Nextcloud ExApp would be. It checks what nc_py_api returns,
    /// prints each stored task id as `TASK <name> <id>` and ends with `DONE`; any mismatch
    /// ends it with a traceback and a non-zero exit.
    static let script = #"""
        import json, sys
        from nc_py_api import NextcloudApp, NextcloudException, NextcloudExceptionNotFound
        from nc_py_api.ex_app.providers.task_processing import (
            ShapeDescriptor, ShapeEnumValue, ShapeType, TaskProcessingProvider, TaskType)

        nc = NextcloudApp()  # NEXTCLOUD_URL, APP_ID, APP_VERSION, APP_SECRET from the environment
        tp = nc.providers.task_processing
        assert "app_api" in nc.capabilities, nc.capabilities
        assert nc.srv_version["major"] >= 30, nc.srv_version

        provider = TaskProcessingProvider(
            id="compat-provider", name="Compatibility provider", task_type="compat:upper", expected_runtime=20,
            optional_input_shape=[ShapeDescriptor(name="mode", description="How", shape_type=ShapeType.ENUM)],
            optional_input_shape_enum_values={"mode": [ShapeEnumValue(name="Upper", value="upper"),
                                                       ShapeEnumValue(name="Title", value="title")]},
            optional_input_shape_defaults={"mode": "upper"})
        custom = TaskType(
            id="compat:upper", name="Upper case", description="Turns text into upper case",
            input_shape=[ShapeDescriptor(name="input", description="Text", shape_type=ShapeType.TEXT)],
            output_shape=[ShapeDescriptor(name="output", description="Upper-case text", shape_type=ShapeType.TEXT)])
        tp.register(provider, custom)
        tp.register(provider, custom)  # registering again updates, it is not an error

        def schedule(text):
            """As a Nextcloud app acting for the user alice (AppAPI user context)."""
            nc.set_user("alice")
            try:
                return nc.ocs("POST", "/ocs/v2.php/taskprocessing/schedule",
                              json={"type": "compat:upper", "input": {"input": text}, "appId": "compat-app"})["task"]
            finally:
                nc.set_user("")

        types = nc.ocs("GET", "/ocs/v2.php/taskprocessing/tasks_consumer/tasktypes")["types"]
        listed = types["compat:upper"]
        assert listed["inputShape"]["input"]["type"] == "Text", listed
        assert listed["optionalInputShape"]["mode"]["type"] == "Enum", listed
        assert [v["value"] for v in listed["optionalInputShapeEnumValues"]["mode"]] == ["upper", "title"], listed
        assert listed["optionalInputShapeDefaults"] == {"mode": "upper"}, listed

        # next_task, set_progress, report_result
        scheduled = schedule("hello")
        print("TASK single", scheduled["id"], flush=True)
        claimed = tp.next_task(["compat-provider"], ["compat:upper"])
        assert claimed["provider"]["name"] == "compat-provider", claimed
        task = claimed["task"]
        assert task["id"] == scheduled["id"] and task["status"] == "STATUS_RUNNING", task
        assert task["input"] == {"input": "hello", "mode": "upper"}, task
        progressed = tp.set_progress(task["id"], 50.0)
        assert progressed["task"]["progress"] == 0.5, progressed
        done = tp.report_result(task["id"], {"output": task["input"]["input"].upper()})
        assert done["task"]["status"] == "STATUS_SUCCESSFUL", done
        assert done["task"]["output"] == {"output": "HELLO"}, done
        assert tp.next_task(["compat-provider"], ["compat:upper"]) == {}, "nothing left: 204"
        assert tp.next_task(["someone-else"], ["compat:upper"]) == {}, "not the preferred provider"

        # upload_result_file: a provider whose type's output is a file uploads it, then names it
        render = TaskProcessingProvider(id="compat-render", name="Renderer", task_type="compat:render", expected_runtime=5)
        render_type = TaskType(
            id="compat:render", name="Render", description="Renders text into a file",
            input_shape=[ShapeDescriptor(name="input", description="Text", shape_type=ShapeType.TEXT)],
            output_shape=[ShapeDescriptor(name="file", description="The rendering", shape_type=ShapeType.FILE)])
        tp.register(render, render_type)
        nc.set_user("alice")
        try:
            rendered = nc.ocs("POST", "/ocs/v2.php/taskprocessing/schedule",
                              json={"type": "compat:render", "input": {"input": "pixels"}, "appId": "compat-app"})["task"]
        finally:
            nc.set_user("")
        print("TASK render", rendered["id"], flush=True)
        claimed = tp.next_task(["compat-render"], ["compat:render"])
        assert claimed["task"]["id"] == rendered["id"] and claimed["provider"]["name"] == "compat-render", claimed
        file_id = tp.upload_result_file(rendered["id"], bytes(range(256)) * 4 + b"\r\n--\x00end")
        assert isinstance(file_id, int) and file_id > 0, file_id
        print("FILE render", file_id, flush=True)
        done = tp.report_result(rendered["id"], {"file": file_id})
        assert done["task"]["status"] == "STATUS_SUCCESSFUL", done
        assert done["task"]["output"] == {"file": file_id}, done
        tp.unregister("compat-render")

        # next_task_batch (Nextcloud 33), a failure with a user-facing message
        batch_ids = [schedule(text)["id"] for text in ("a", "b", "c")]
        for name, task_id in zip(("batch-a", "batch-b", "batch-c"), batch_ids):
            print("TASK", name, task_id, flush=True)
        first = tp.next_task_batch(["compat-provider"], ["compat:upper"], 2)
        assert [item["task"]["id"] for item in first["tasks"]] == batch_ids[:2], first
        assert all(item["provider"] == "compat-provider" for item in first["tasks"]), first
        assert first["has_more"] is True, first
        rest = tp.next_task_batch(["compat-provider"], ["compat:upper"], 5)
        assert [item["task"]["id"] for item in rest["tasks"]] == batch_ids[2:], rest
        assert rest["has_more"] is False, rest
        for item in first["tasks"]:
            tp.report_result(item["task"]["id"], {"output": item["task"]["input"]["input"].upper()})
        failed = tp.report_result(batch_ids[2], error_message="model crashed", user_facing_error_message="Try again later")
        assert failed["task"]["status"] == "STATUS_FAILED", failed
        assert failed["task"]["userFacingErrorMessage"] == "Try again later", failed
        empty = tp.next_task_batch(["compat-provider"], ["compat:upper"], 5)
        assert empty == {"tasks": [], "has_more": False}, empty

        # unregister: the type goes with its provider; a second unregister is quiet unless asked
        tp.unregister("compat-provider")
        tp.unregister("compat-provider")
        try:
            tp.unregister("compat-provider", not_fail=False)
            raise AssertionError("unregistering an absent provider must be a 404")
        except NextcloudExceptionNotFound:
            pass
        try:
            schedule("after unregister")
            raise AssertionError("scheduling a type without provider must fail")
        except NextcloudException as error:
            assert error.status_code == 400, error
        types = nc.ocs("GET", "/ocs/v2.php/taskprocessing/tasks_consumer/tasktypes")["types"]
        assert "compat:upper" not in types, types
        print("DONE", flush=True)
        """#

    /// The test virtual environment's Python, able to import `module` (nc_py_api unless told);
    /// a test issue saying how to get it otherwise.
    static func venvPython(importing module: String = "nc_py_api", package: String = "nc-py-api==0.30.3") -> String? {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let python = root.appendingPathComponent(".build/venv/bin/python3").path
        let hasPackage = FileManager.default.isExecutableFile(atPath: python)
            && (try? ChildProcess.run(python, ["-c", "import \(module)"], logPath: "/dev/null", timeoutSeconds: 60).0) == .exited(0)
        guard hasPackage else {
            let hint = "run scripts/test.sh, or `python3 -m venv .build/venv && .build/venv/bin/pip install \(package)`"
            Issue.record("\(module) is not installed in \(python): \(hint)")
            return nil
        }
        return python
    }

    @Test("a real nc_py_api NextcloudApp registers, claims (next_task, next_task_batch), reports progress, uploads a result file, reports results and unregisters; every stored field checked", arguments: [false, true])
    /// Over plain HTTP and over HTTPS, trusting the test CA. nc_py_api hands `NPA_NC_CERT` to
    /// its niquests session, which (0.30.3) does not use it for the handshake; niquests reads
    /// `REQUESTS_CA_BUNDLE`, as the README tells ExApp authors.
    func ncPyApiProvider(tls: Bool) throws {
        guard let python = Self.venvPython() else { return }
        let certificates = try TestCertificates.get()
        let credentials = tls ? try certificates.serverCredentials() : nil
        let server = try TestServer { $0.tls = credentials }
        defer { server.stop() }
        let secret = try server.server.accounts.addApp(appID: Self.appID)
        let folder = try makeTemporaryFolder(prefix: "td-nc-py-api")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let scriptPath = folder + "/ex_app.py"
        try Self.script.write(toFile: scriptPath, atomically: true, encoding: .utf8)

        let (exit, output) = try ChildProcess.run(
            "/usr/bin/env",
            [
                "NEXTCLOUD_URL=\(tls ? "https" : "http")://127.0.0.1:\(server.port)", "NPA_NC_CERT=\(certificates.caCertificate)",
                "REQUESTS_CA_BUNDLE=\(certificates.caCertificate)",
                "APP_ID=\(Self.appID)", "APP_VERSION=1.0.0",
                "APP_SECRET=\(secret)", python, scriptPath,
            ],
            logPath: folder + "/ex_app.log", timeoutSeconds: 120)
        try #require(exit == .exited(0) && output.contains("DONE"), "the nc_py_api ExApp failed (\(exit)):\n\(output)")
        var ids: [String: Int64] = [:]
        var fileIDs: [String: Int64] = [:]
        for line in output.split(separator: "\n") where line.hasPrefix("TASK ") || line.hasPrefix("FILE ") {
            let parts = line.split(separator: " ")
            guard parts.count == 3, let id = Int64(parts[2]) else { continue }
            if parts[0] == "TASK" { ids[String(parts[1])] = id } else { fileIDs[String(parts[1])] = id }
        }

        let database = try server.database()
        defer { database.close() }
        func row(_ name: String) throws -> PostgresRow {
            let id = try #require(ids[name], "no task id for \(name) in:\n\(output)")
            return try #require(try database.query(
                """
                SELECT type, status, user_id, app_id, custom_id, input, output, error_message, user_facing_error_message,
                       progress, attempt, claimed_by, started_at IS NOT NULL AS started, ended_at IS NOT NULL AS ended,
                       extract(epoch FROM completion_expected_at - scheduled_at)::integer AS expected_runtime
                FROM tasks WHERE id = $1
                """, [id]).rows.first)
        }
        for (name, output) in [("single", "HELLO"), ("batch-a", "A"), ("batch-b", "B")] {
            let task = try row(name)
            #expect(task.string("type") == Self.customType, "\(name)")
            #expect(task.int("status") == 3, "\(name): STATUS_SUCCESSFUL")
            #expect(task.string("user_id") == "alice", "\(name)")
            #expect(task.string("app_id") == "compat-app", "\(name)")
            #expect(task.string("custom_id") == "", "\(name)")
            let input: JSONValue = ["input": .string(name == "single" ? "hello" : output.lowercased()), "mode": "upper"]
            #expect(task.string("input").flatMap { try? JSONValue.parse($0) } == input, "\(name): the provider's default filled in")
            #expect(task.string("output").flatMap { try? JSONValue.parse($0) } == ["output": .string(output)], "\(name)")
            #expect(task.isNull("error_message") && task.isNull("user_facing_error_message"), "\(name)")
            #expect(task.double("progress") == 1, "\(name)")
            #expect(task.int("attempt") == 1, "\(name): claimed once")
            #expect(task.string("claimed_by") == Self.appID, "\(name)")
            #expect(task.bool("started") == true && task.bool("ended") == true, "\(name)")
            #expect(task.int("expected_runtime") == 20, "\(name): the provider's expected runtime")
        }
        let failed = try row("batch-c")
        #expect(failed.int("status") == 4, "STATUS_FAILED")
        #expect(failed.string("error_message") == "model crashed")
        #expect(failed.string("user_facing_error_message") == "Try again later")
        #expect(failed.isNull("output"))
        #expect(failed.int("attempt") == 1)
        #expect(failed.bool("ended") == true)

        // The file the ExApp uploaded with upload_result_file: the task's output names it, and its
        // user downloads the very bytes.
        let rendered = try row("render")
        let fileID = try #require(fileIDs["render"], "no file id in:\n\(output)")
        #expect(rendered.int("status") == 3, "STATUS_SUCCESSFUL")
        #expect(rendered.string("output").flatMap { try? JSONValue.parse($0) } == ["file": .int(fileID)])
        let renderID = try #require(ids["render"])
        let downloaded: [UInt8]
        if tls {
            guard case .user(let name, let password) = server.alice else { throw TestFailure("alice is a user") }
            let (exit, output) = try TLSTests.curl([
                "--cacert", certificates.caCertificate, "-u", "\(name):\(password)", "-H", "OCS-APIRequest: true", "--fail",
                "-o", folder + "/download", "https://127.0.0.1:\(server.port)/ocs/v2.php/taskprocessing/tasks/\(renderID)/file/\(fileID)",
            ])
            #expect(exit == .exited(0), "\(output)")
            downloaded = Array(FileManager.default.contents(atPath: folder + "/download") ?? Data())
        } else {
            let download = try server.client(server.alice).call("GET", "tasks/\(renderID)/file/\(fileID)")
            #expect(download.status == 200)
            downloaded = download.body
        }
        #expect(downloaded == Array((0...255).map { UInt8($0) }).repeated(4) + Array("\r\n--".utf8) + [0] + Array("end".utf8))

        #expect(try server.server.catalog.store.providers().allSatisfy { $0.id != "compat-provider" && $0.id != "compat-render" })
        #expect(try server.server.catalog.store.customTypes().isEmpty)
    }
}

extension Array {
    fileprivate func repeated(_ times: Int) -> [Element] { Array((0..<times).map { _ in self }.joined()) }
}
