import JSON
import Synchronization
import TaskDispatchTesting
import Testing
@testable import TaskQueue

@Suite("Task files and the schedule rate limit in the store")
struct FilesAndRateLimitStoreTests {
    static let bytes: [UInt8] = [0, 255, 13, 10, 0, 1]

    func audioTask(_ fileID: Int64, user: String? = "alice", app: String = "app") -> NewTask {
        NewTask(type: "core:audio2text", input: ["input": .int(fileID)], userID: user, appID: app, inputFileIDs: [fileID])
    }

    @Test("an upload attaches to the first task of its owner that names it; bytes round-trip; the task's deletion takes it")
    func attachAndCascade() throws {
        let fixture = try StoreFixture()
        defer { fixture.close() }
        let upload = try fixture.tasks.storeUpload(NewFile(name: "a.wav", contentType: "audio/wav", data: Self.bytes), owner: .user("alice"))

        #expect(throws: StoreError.self) { try fixture.tasks.schedule(audioTask(upload, user: "bob")) }
        #expect(throws: StoreError.self) { try fixture.tasks.schedule(audioTask(upload, user: nil)) }
        let task = try fixture.tasks.schedule(audioTask(upload))
        #expect(throws: StoreError.self) { try fixture.tasks.schedule(audioTask(upload)) }
        #expect(try fixture.query("SELECT count(*)::bigint AS n FROM tasks").rows.first?.int64("n") == 1)

        let file = try #require(try fixture.tasks.taskFile(id: upload, taskID: task.id, owner: .user("alice")))
        #expect(file.data == Self.bytes)
        #expect(file.name == "a.wav")
        #expect(try fixture.tasks.taskFile(id: upload, taskID: task.id, owner: .user("bob")) == nil)
        #expect(try fixture.tasks.taskFile(id: upload, taskID: task.id, owner: nil) != nil)

        #expect(try fixture.tasks.delete(id: task.id, owner: .user("alice")))
        #expect(try fixture.query("SELECT count(*)::bigint AS n FROM task_files").rows.first?.int64("n") == 0)
    }

    @Test("worker files only for a task running under that app's claim")
    func workerFiles() throws {
        let fixture = try StoreFixture()
        defer { fixture.close() }
        let file = NewFile(name: "out.png", contentType: "image/png", data: Self.bytes)
        let waiting = try fixture.schedule()
        #expect(try fixture.tasks.storeTaskFile(file, taskID: waiting.id, appID: "worker") == .notClaimedByApp(status: .scheduled))
        #expect(try fixture.tasks.storeTaskFile(file, taskID: 999_999, appID: "worker") == .taskNotFound)
        let claimed = try #require(try fixture.claimOne())
        #expect(try fixture.tasks.storeTaskFile(file, taskID: claimed.id, appID: "other") == .notClaimedByApp(status: .running))
        #expect(try fixture.tasks.storeTaskFile(file, taskID: claimed.id, appID: "worker", attempt: 2) == .notClaimedByApp(status: .running))
        guard case .stored(let id) = try fixture.tasks.storeTaskFile(file, taskID: claimed.id, appID: "worker", attempt: 1) else {
            Issue.record("the claimant's upload was refused")
            return
        }
        #expect(try fixture.tasks.fileIDs(ofTask: claimed.id, among: [id, id + 100]) == [id])
    }

    @Test("200 quota requests of 1 from 8 threads against a limit of 50: exactly 50 allowed; given back, they count again")
    func quotaUnderConcurrency() throws {
        let fixture = try StoreFixture()
        defer { fixture.close() }
        let limit = ScheduleRateLimit(limit: 50, periodSeconds: 600)
        let allowed = Mutex(0)
        onThreads(8) { _ in
            for _ in 0..<25 {
                if (try? fixture.tasks.consumeScheduleQuota(subject: "user:alice", count: 1, limit: limit)) == .allowed {
                    allowed.withLock { $0 += 1 }
                }
            }
        }
        #expect(allowed.withLock { $0 } == 50)
        guard case .limited(let retryAfter) = try fixture.tasks.consumeScheduleQuota(subject: "user:alice", count: 1, limit: limit) else {
            Issue.record("the 51st was allowed")
            return
        }
        #expect((1...600).contains(retryAfter))
        try fixture.tasks.returnScheduleQuota(subject: "user:alice", count: 2)
        #expect(try fixture.tasks.consumeScheduleQuota(subject: "user:alice", count: 2, limit: limit) == .allowed)
        #expect(try fixture.tasks.consumeScheduleQuota(subject: "user:bob", count: 50, limit: limit) == .allowed)
    }
}
