import Foundation
import JSON
import TaskDispatchTesting
import Testing

@Suite("Task files over HTTP")
struct FileEndpointTests {
    typealias Support = EndpointSupport
    typealias Files = FileSupport

    @Test("input upload, file-typed schedule, worker download, output upload, result, user download: byte-exact")
    func roundTrip() throws {
        let server = try TestServer()
        defer { server.stop() }
        let alice = server.client(server.alice)
        let worker = server.client(server.worker)

        // A user's input file, scheduled in an Audio slot: the task's input names it.
        let inputID = try Files.uploadedFileID(alice, filename: "speech.ogg")
        let scheduled = try Files.scheduleTranscription(alice, fileID: inputID)
        #expect(scheduled.status == 200, "\(scheduled.bodyText)")
        let taskID = try #require(scheduled.taskID)
        #expect(scheduled.task?["input"]?["input"]?.int64Value == inputID)
        #expect(try Files.fileCount(server, taskID: taskID) == 1)

        // The worker reads the input file through the provider route.
        let claimed = try worker.next(types: ["core:audio2text"])
        #expect(claimed.taskID == taskID)
        let input = try worker.call("GET", "tasks_provider/\(taskID)/file/\(inputID)")
        #expect(input.status == 200)
        #expect(input.body == Files.binary)
        #expect(input.header("Content-Disposition") == "attachment; filename=\"speech.ogg\"; filename*=UTF-8''speech.ogg")

        // An image task: the worker uploads two outputs and names them in the result.
        let imageTask = try alice.call(
            "POST", "schedule", json: ["type": "core:text2image", "input": ["input": "a cat"], "appId": "app"])
        let imageTaskID = try #require(imageTask.taskID)
        #expect(try worker.next(types: ["core:text2image"]).taskID == imageTaskID)
        let pngLike: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0, 0, 0xFF, 0xFF, 13, 10]
        let first = try Files.upload(worker, "tasks_provider/\(imageTaskID)/file", data: pngLike, filename: "cat \"1\".png", contentType: "image/png")
        #expect(first.status == 201, "\(first.bodyText)")
        #expect(first.meta?["statuscode"] == 201)
        let firstID = try #require(first.data?["fileId"]?.int64Value)
        let secondID = try Files.uploadedFileID(worker, "tasks_provider/\(imageTaskID)/file", data: Files.binary)
        let result = try worker.call(
            "POST", "tasks_provider/\(imageTaskID)/result", json: ["output": ["images": [.int(firstID), .int(secondID)]]])
        #expect(result.task?["status"] == "STATUS_SUCCESSFUL", "\(result.bodyText)")

        // The user downloads them from the user route, bytes and headers intact.
        let download = try alice.call("GET", "tasks/\(imageTaskID)/file/\(firstID)")
        #expect(download.status == 200)
        #expect(download.body == pngLike)
        #expect(download.header("Content-Type") == "image/png")
        #expect(download.header("X-Content-Type-Options") == "nosniff")
        #expect(download.header("Content-Disposition") == "attachment; filename=\"cat _1_.png\"; filename*=UTF-8''cat%20%221%22.png")
        #expect(try alice.call("GET", "tasks/\(imageTaskID)/file/\(secondID)").body == Files.binary)
        // The v1 path serves the same bytes.
        #expect(try alice.call("GET", "/ocs/v1.php/taskprocessing/tasks/\(imageTaskID)/file/\(secondID)").body == Files.binary)
    }

    @Test("ownership: another user's task file, a file of another task, unknown ids: all 404")
    func ownership() throws {
        let server = try TestServer()
        defer { server.stop() }
        let alice = server.client(server.alice)
        let bob = server.client(server.bob)
        let worker = server.client(server.worker)

        let inputID = try Files.uploadedFileID(alice)
        let taskID = try #require(try Files.scheduleTranscription(alice, fileID: inputID).taskID)
        let otherTask = try alice.schedule()

        #expect(try alice.call("GET", "tasks/\(taskID)/file/\(inputID)").status == 200)
        Support.expectOCSError(try bob.call("GET", "tasks/\(taskID)/file/\(inputID)"), status: 404)
        Support.expectOCSError(try alice.call("GET", "tasks/\(otherTask)/file/\(inputID)"), status: 404)
        Support.expectOCSError(try worker.call("GET", "tasks_provider/\(otherTask)/file/\(inputID)"), status: 404)
        Support.expectOCSError(try alice.call("GET", "tasks/\(taskID)/file/999999"), status: 404)
        Support.expectOCSError(try alice.call("GET", "tasks/\(taskID)/file/0"), status: 400)
        // A user cannot use the worker route, nor an ExApp the user route without a user.
        Support.expectOCSError(try alice.call("GET", "tasks_provider/\(taskID)/file/\(inputID)"), status: 403)
        Support.expectOCSError(try worker.call("GET", "tasks/\(taskID)/file/\(inputID)"), status: 403)
        Support.expectStillServing(server)
    }

    @Test("file inputs must be the owner's unused uploads: others' files, used files, unknown ids are 400, nothing stored")
    func inputChecks() throws {
        let server = try TestServer()
        defer { server.stop() }
        let alice = server.client(server.alice)
        let bob = server.client(server.bob)
        let aliceUpload = try Files.uploadedFileID(alice)
        let bobUpload = try Files.uploadedFileID(bob)

        Support.expectOCSError(try Files.scheduleTranscription(alice, fileID: bobUpload), status: 400, mentioning: ["\(bobUpload)"])
        Support.expectOCSError(try Files.scheduleTranscription(alice, fileID: 987_654), status: 400, mentioning: ["987654"])
        #expect(try Support.taskCount(server) == 0)

        #expect(try Files.scheduleTranscription(alice, fileID: aliceUpload).status == 200)
        // Each upload serves one task: naming it again is refused, and so is a batch reusing it.
        Support.expectOCSError(try Files.scheduleTranscription(alice, fileID: aliceUpload), status: 400)
        let second = try Files.uploadedFileID(alice)
        let batch = try alice.call("POST", "schedule/batch", json: ["tasks": [
            ["type": "core:audio2text", "input": ["input": .int(second)], "appId": "app"],
            ["type": "core:audio2text", "input": ["input": .int(second)], "appId": "app"],
        ]])
        Support.expectOCSError(batch, status: 400)
        #expect(try Support.taskCount(server) == 1)
        #expect(try Files.fileCount(server) == 3)
        // The refused batch attached nothing: the upload still schedules alone.
        #expect(try Files.scheduleTranscription(alice, fileID: second).status == 200)
        Support.expectStillServing(server)
    }

    @Test("8 threads schedule with the same upload at once: exactly one task gets it, the others 400")
    func concurrentAttach() throws {
        let server = try TestServer()
        defer { server.stop() }
        let fileID = try FileSupport.uploadedFileID(server.client(server.alice))
        let password = try #require(server.alice.password)
        let statuses = Support.Collector<Int>()
        onThreads(8) { _ in
            let client = server.client(.user("alice", password))
            let response = try? Files.scheduleTranscription(client, fileID: fileID)
            statuses.append(response?.status ?? 0)
        }
        #expect(statuses.values.sorted() == [200] + Array(repeating: 400, count: 7))
        #expect(try Support.taskCount(server) == 1)
        #expect(try Files.fileCount(server) == 1)
    }

    @Test("worker uploads: unknown task 404, task not running for this app 409, no file part or not multipart 400, users 403")
    func providerUploadChecks() throws {
        let server = try TestServer()
        defer { server.stop() }
        let alice = server.client(server.alice)
        let worker = server.client(server.worker)
        let cancelled = try Support.cancelledTask(alice)

        Support.expectOCSError(try Files.upload(worker, "tasks_provider/999999/file", data: [1]), status: 404)
        Support.expectOCSError(try Files.upload(worker, "tasks_provider/\(cancelled)/file", data: [1]), status: 409)
        let running = try Support.runningTask(alice, worker)
        let noFilePart = try worker.call(
            "POST", "tasks_provider/\(running)/file", body: Files.body(field: "other", data: [1]), contentType: Files.contentType)
        Support.expectOCSError(noFilePart, status: 400, mentioning: ["'file'"])
        let json = try worker.call("POST", "tasks_provider/\(running)/file", json: ["file": "x"])
        Support.expectOCSError(json, status: 400, mentioning: ["multipart/form-data"])
        let truncated = try worker.call(
            "POST", "tasks_provider/\(running)/file", body: Array(Files.body(data: [1, 2, 3]).dropLast(4)), contentType: Files.contentType)
        Support.expectOCSError(truncated, status: 400, mentioning: ["truncated"])
        Support.expectOCSError(try Files.upload(alice, "tasks_provider/\(running)/file", data: [1]), status: 403)
        // A stale claim (attempt) is refused like a stale result.
        Support.expectOCSError(try Files.upload(worker, "tasks_provider/\(running)/file?attempt=2", data: [1]), status: 409)
        Support.expectOCSError(try Files.upload(worker, "tasks_provider/\(running)/file?attempt=0", data: [1]), status: 400)
        #expect(try Files.fileCount(server) == 0)
        #expect(try Files.upload(worker, "tasks_provider/\(running)/file?attempt=1", data: [1]).status == 201)

        // An output naming a file that is not this task's fails the task, as invalid output does.
        _ = try worker.call("POST", "tasks_provider/\(running)/result", json: ["output": ["output": "done"]])
        let foreign = try Files.uploadedFileID(alice)
        let imageTask = try Support.runningTask(alice, worker, type: "core:text2image")
        let result = try worker.call("POST", "tasks_provider/\(imageTask)/result", json: ["output": ["images": [.int(foreign)]]])
        #expect(result.status == 200)
        #expect(result.task?["status"] == "STATUS_FAILED")
        #expect(try Support.storedRow(server, id: imageTask)?.contains("were not uploaded for this task") == true)
        Support.expectStillServing(server)
    }

    @Test("413 for a file over max-file-bytes: in the body, by Content-Length before reading, and for chunked bodies")
    func sizeLimits() throws {
        let server = try TestServer {
            $0.maxFileBytes = 1024
            $0.maxBodyBytes = 512
        }
        defer { server.stop() }
        let alice = server.client(server.alice)

        // Within the route's body limit (file limit plus framing), but the file itself is too big.
        Support.expectOCSError(try Files.upload(alice, "files", data: [UInt8](repeating: 7, count: 1025)), status: 413)
        #expect(try Files.uploadedFileID(alice, data: [UInt8](repeating: 7, count: 1024)) > 0)
        // Uploads may be larger than other bodies; other routes keep their own limit.
        #expect(try Files.uploadedFileID(alice, data: [UInt8](repeating: 8, count: 1000) + [UInt8](repeating: 9, count: 24)) > 0)
        let bigSchedule = try alice.call(
            "POST", "schedule", json: ["type": "core:text2text", "input": ["input": .string(String(repeating: "x", count: 5000))], "appId": "a"])
        #expect(bigSchedule.status == 413)
        let password = try #require(server.alice.password)
        let authorization = "Authorization: Basic \(Data("alice:\(password)".utf8).base64EncodedString())\r\n"

        // Declared far over the limit: answered from the head, no body byte sent.
        let declared = try Support.sendRaw(server, Array((
            "POST /ocs/v2.php/taskprocessing/files HTTP/1.1\r\nHost: 127.0.0.1\r\n\(authorization)OCS-APIRequest: true\r\n"
                + "Content-Type: \(Files.contentType)\r\nContent-Length: 1000000000\r\n\r\n").utf8))
        #expect(declared.status == 413)
        #expect(declared.json?["ocs"]?["meta"]?["statuscode"] == 413)

        // Chunked, a modest overshoot: read, dropped, answered 413.
        let chunk = [UInt8](repeating: 65, count: 200 * 1024)
        let chunked = Array((
            "POST /ocs/v2.php/taskprocessing/files HTTP/1.1\r\nHost: 127.0.0.1\r\n\(authorization)OCS-APIRequest: true\r\n"
                + "Content-Type: \(Files.contentType)\r\nTransfer-Encoding: chunked\r\n\r\n"
                + String(chunk.count, radix: 16) + "\r\n").utf8) + chunk + Array("\r\n0\r\n\r\n".utf8)
        let overshoot = try Support.sendRaw(server, chunked)
        #expect(overshoot.status == 413)

        // Chunked without end: the server closes the connection long before 64 MiB are sent.
        let connection = try Support.RawConnection(port: server.port)
        try connection.send(
            "POST /ocs/v2.php/taskprocessing/files HTTP/1.1\r\nHost: 127.0.0.1\r\n\(authorization)OCS-APIRequest: true\r\n"
                + "Content-Type: \(Files.contentType)\r\nTransfer-Encoding: chunked\r\n\r\n")
        let piece = String(65536, radix: 16) + "\r\n" + String(repeating: "B", count: 65536) + "\r\n"
        var sent = 0
        while sent < 64 << 20, (try? connection.send(piece)) != nil {
            sent += 65536
        }
        #expect(sent < 64 << 20, "the server read a 64 MiB body for a 1 KiB file limit")
        #expect(try FileSupport.fileCount(server) == 2)
        Support.expectStillServing(server)
    }

    @Test("files go with their task (delete, retention); unused uploads expire; used ones stay")
    func lifetimes() throws {
        let server = try TestServer()
        defer { server.stop() }
        let alice = server.client(server.alice)
        let worker = server.client(server.worker)

        let inputID = try Files.uploadedFileID(alice)
        let taskID = try #require(try Files.scheduleTranscription(alice, fileID: inputID).taskID)
        #expect(try alice.call("DELETE", "task/\(taskID)").status == 200)
        #expect(try Files.fileCount(server) == 0)

        let imageTask = try Support.runningTask(alice, worker, type: "core:text2image")
        let outputID = try Files.uploadedFileID(worker, "tasks_provider/\(imageTask)/file")
        _ = try worker.call("POST", "tasks_provider/\(imageTask)/result", json: ["output": ["images": [.int(outputID)]]])
        #expect(try server.server.tasks.deleteFinishedTasks(olderThanSeconds: 0) == 1)
        #expect(try Files.fileCount(server) == 0)

        let unused = try Files.uploadedFileID(alice)
        let used = try Files.uploadedFileID(alice)
        _ = try Files.scheduleTranscription(alice, fileID: used)
        #expect(try server.server.tasks.deleteUnattachedFiles(olderThanSeconds: 0) == 1)
        #expect(try Files.fileCount(server) == 1)
        Support.expectOCSError(
            try Files.scheduleTranscription(alice, fileID: unused),
            status: 400)
    }

    @Test("the maintenance pass deletes uploads older than --unused-file-retention, and only those")
    func maintenanceExpiresUploads() throws {
        let server = try TestServer { $0.unusedFileRetentionSeconds = 3600 }
        defer { server.stop() }
        let alice = server.client(server.alice)
        let old = try Files.uploadedFileID(alice)
        let fresh = try Files.uploadedFileID(alice)
        let connection = try server.database()
        defer { connection.close() }
        _ = try connection.query("UPDATE task_files SET created_at = now() - interval '2 hours' WHERE id = $1", [old])
        #expect(eventually { (try? Files.fileCount(server)) == 1 }, "the maintenance loop did not delete the old upload")
        let left = try connection.query("SELECT id FROM task_files").rows.compactMap { $0.int64("id") }
        #expect(left == [fresh])
    }

    @Test("an ExApp acting for nobody uploads its own inputs for consumer schedules")
    func consumerUpload() throws {
        let server = try TestServer()
        defer { server.stop() }
        let worker = server.client(server.worker)
        let alice = server.client(server.alice)
        let fileID = try Files.uploadedFileID(worker)
        let scheduled = try worker.call(
            "POST", "tasks_consumer/schedule", json: ["type": "core:audio2text", "input": ["input": .int(fileID)]])
        #expect(scheduled.status == 200, "\(scheduled.bodyText)")
        // A user cannot take the app's upload.
        let aliceFile = try Files.uploadedFileID(alice)
        Support.expectOCSError(
            try worker.call("POST", "tasks_consumer/schedule", json: ["type": "core:audio2text", "input": ["input": .int(aliceFile)]]),
            status: 400)
    }
}
