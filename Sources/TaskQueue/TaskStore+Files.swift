import Postgres

/// A stored file's description and, when read for download, its bytes.
public struct TaskFile: Sendable, Equatable {
    public var id: Int64
    /// The task it belongs to; nil while an upload waits to be named in a schedule.
    public var taskID: Int64?
    public var name: String
    public var contentType: String
    public var size: Int64
    public var data: [UInt8]

    public init(id: Int64, taskID: Int64?, name: String, contentType: String, size: Int64, data: [UInt8]) {
        self.id = id
        self.taskID = taskID
        self.name = name
        self.contentType = contentType
        self.size = size
        self.data = data
    }
}

/// A file to store: its name and content type as the client sent them (already checked).
public struct NewFile: Sendable {
    public var name: String
    public var contentType: String
    public var data: [UInt8]

    public init(name: String, contentType: String, data: [UInt8]) {
        self.name = name
        self.contentType = contentType
        self.data = data
    }
}

/// The answer to a worker's upload for a task.
public enum TaskFileUploadOutcome: Sendable, Equatable {
    case stored(fileID: Int64)
    case taskNotFound
    /// The task exists but is not running under a claim of the uploading app (or not under
    /// the claim the upload names).
    case notClaimedByApp(status: TaskStatus)
}

extension TaskStore {
    /// Stores an upload of `owner` that no task uses yet; scheduling a task that names it in a
    /// file slot attaches it. Returns the file id.
    public func storeUpload(_ file: NewFile, owner: TaskOwner) throws(StoreError) -> Int64 {
        try withConnection { connection in
            let result = try connection.query(
                // A user's upload has no owning app (app_id ''): only user_id decides who may use it.
                """
                INSERT INTO task_files (user_id, app_id, name, content_type, size, data)
                VALUES (\(bind: owner.userID), \(bind: owner.appID ?? ""), \(bind: file.name), \(bind: file.contentType),
                        \(bind: file.data.count), \(bind: file.data))
                RETURNING id
                """)
            guard let id = result.rows.first?.int64("id") else { throw StoreError.corruptRow("insert returned no file id") }
            return id
        }
    }

    /// Stores a worker's output file for a task it runs: only while the task is RUNNING under a
    /// claim of `appID` (and, when `attempt` is given, that very claim), checked in the same
    /// statement as the insert.
    public func storeTaskFile(
        _ file: NewFile, taskID: Int64, appID: String, attempt: Int? = nil
    ) throws(StoreError) -> TaskFileUploadOutcome {
        try withConnection { connection in
            let inserted = try connection.query(
                """
                INSERT INTO task_files (task_id, user_id, app_id, name, content_type, size, data)
                SELECT id, NULL, \(bind: appID), \(bind: file.name), \(bind: file.contentType), \(bind: file.data.count),
                    \(bind: file.data) FROM tasks
                WHERE id = \(bind: taskID) AND status = \(TaskStatus.running) AND claimed_by = \(bind: appID)
                  AND (\(bind: attempt)::integer IS NULL OR attempt = \(bind: attempt))
                RETURNING id
                """)
            if let id = inserted.rows.first?.int64("id") { return .stored(fileID: id) }
            let task = try connection.query("SELECT status FROM tasks WHERE id = \(bind: taskID)")
            guard let code = task.rows.first?.int("status") else { return .taskNotFound }
            return .notClaimedByApp(status: TaskStatus(rawValue: code) ?? .unknown)
        }
    }

    /// The file `fileID` of task `taskID`, with its bytes, if the file belongs to that task and
    /// the task to `owner` (nil: any owner, for workers).
    public func taskFile(id fileID: Int64, taskID: Int64, owner: TaskOwner?) throws(StoreError) -> TaskFile? {
        try withConnection { connection in
            let result = try connection.query(
                """
                SELECT f.id, f.task_id, f.name, f.content_type, f.size, f.data
                FROM task_files f JOIN tasks ON tasks.id = f.task_id
                WHERE f.id = \(bind: fileID) AND f.task_id = \(bind: taskID)
                  AND (\(bind: owner == nil)::boolean
                       OR \(fragment: TaskOwner.condition(userID: owner?.userID, appID: owner?.appID, table: "tasks")))
                """,
                // The bytes come as they are, not as hex text twice their size.
                resultFormat: .binary)
            guard let row = result.rows.first else { return nil }
            guard let id = row.int64("id"), let name = row.string("name"), let contentType = row.string("content_type"),
                let size = row.int64("size"), let data = row.bytes("data")
            else { throw StoreError.corruptRow("a file row lacks a required column") }
            return TaskFile(id: id, taskID: row.int64("task_id"), name: name, contentType: contentType, size: size, data: data)
        }
    }

    /// The files stored for task `taskID` (its inputs and its worker's uploads), without their
    /// bytes, in id order.
    public func files(ofTask taskID: Int64) throws(StoreError) -> [TaskFile] {
        try withConnection { connection in
            try connection.query(
                "SELECT id, name, content_type, size FROM task_files WHERE task_id = \(bind: taskID) ORDER BY id"
            ).rows.map { row throws(StoreError) in
                guard let id = row.int64("id"), let name = row.string("name"), let contentType = row.string("content_type"),
                    let size = row.int64("size")
                else { throw StoreError.corruptRow("a file row lacks a required column") }
                return TaskFile(id: id, taskID: taskID, name: name, contentType: contentType, size: size, data: [])
            }
        }
    }

    /// Which of `fileIDs` were stored for task `taskID` (by its worker, or as its inputs).
    public func fileIDs(ofTask taskID: Int64, among fileIDs: [Int64]) throws(StoreError) -> Set<Int64> {
        guard !fileIDs.isEmpty else { return [] }
        return try withConnection { connection in
            let rows = try connection.query(
                "SELECT id FROM task_files WHERE task_id = \(bind: taskID) AND id = ANY(\(bind: fileIDs)::bigint[])"
            ).rows
            return Set(rows.compactMap { $0.int64("id") })
        }
    }

    /// Attaches the uploads named by a new task's input to it. Each must be an upload of the
    /// task's owner not yet attached to any task; otherwise nothing is attached and the caller's
    /// transaction is rolled back by the error.
    static func attachInputFiles(_ fileIDs: [Int64], to task: TaskRecord, on connection: PostgresConnection) throws {
        let wanted = Array(Set(fileIDs)).sorted()
        guard !wanted.isEmpty else { return }
        let attached = try connection.query(
            """
            UPDATE task_files SET task_id = \(bind: task.id)
            WHERE id = ANY(\(bind: wanted)::bigint[]) AND task_id IS NULL
              AND \(fragment: TaskOwner.condition(userID: task.userID, appID: task.userID == nil ? task.appID : nil))
            RETURNING id
            """)
        let attachedIDs = Set(attached.rows.compactMap { $0.int64("id") })
        guard attachedIDs.count == wanted.count else {
            throw StoreError.inputFilesUnavailable(wanted.filter { !attachedIDs.contains($0) })
        }
    }

    /// Deletes up to `batch` uploads older than `olderThanSeconds` that no task ever used.
    /// Returns how many.
    @discardableResult
    public func deleteUnattachedFiles(olderThanSeconds: Int, batch: Int = 100) throws(StoreError) -> Int {
        try withConnection { connection in
            try connection.query(
                """
                DELETE FROM task_files
                WHERE id IN (
                    SELECT id FROM task_files
                    WHERE task_id IS NULL AND created_at < now() - make_interval(secs => \(bind: olderThanSeconds)::integer)
                    ORDER BY created_at
                    LIMIT \(bind: batch)
                    FOR UPDATE SKIP LOCKED
                )
                """
            ).affectedRows
        }
    }
}
