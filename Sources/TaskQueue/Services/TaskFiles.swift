/// Files of tasks: uploads (input files for later tasks, a worker's output files) and reads.
///
/// Worker uploads are accepted only for a task that is RUNNING under a claim of the uploading
/// ExApp (Nextcloud checks only that the task exists): a file can then only come from the
/// worker doing the task, and never lands on a finished task. Any ExApp may read a task's
/// files, as in Nextcloud: every ExApp may claim any task, so narrowing reads would protect nothing.
public struct TaskFiles: Sendable {
    let store: TaskStore
    let rules: TaskRules

    /// Longest stored file name, in bytes.
    public static let maxNameBytes = 255

    /// Stores an input file of `owner` for its later tasks; returns the file id.
    public func upload(_ file: NewFile, owner: TaskOwner) throws -> Int64 {
        try store.storeUpload(try checked(file), owner: owner)
    }

    /// Stores an output file of the task `appID` runs (under claim `attempt`, when named).
    public func workerUpload(_ file: NewFile, taskID: Int64, appID: String, attempt: Int?) throws -> Int64 {
        switch try store.storeTaskFile(try checked(file), taskID: taskID, appID: appID, attempt: attempt) {
        case .stored(let id):
            return id
        case .taskNotFound:
            throw ServiceError.notFound("Task not found")
        case .notClaimedByApp(let status):
            throw ServiceError.conflict(
                "task \(taskID) is \(status.wireName), not running under \(attempt.map { "claim \($0)" } ?? "a claim") of "
                    + "'\(appID)': files are accepted only from the worker running the task")
        }
    }

    /// A file of the task; `owner` nil for ExApps, which may read any task's files. A file of
    /// another task, or a task of someone else, is not found like a missing one.
    public func read(fileID: Int64, taskID: Int64, owner: TaskOwner?) throws -> TaskFile {
        guard let file = try store.taskFile(id: fileID, taskID: taskID, owner: owner) else {
            throw ServiceError.notFound("File not found")
        }
        return file
    }

    /// The file within the size limit, under its stored name.
    private func checked(_ file: NewFile) throws -> NewFile {
        guard file.data.count <= rules.maxFileBytes else {
            throw ServiceError(.tooLarge, "the file is larger than \(rules.maxFileBytes) bytes")
        }
        var checked = file
        checked.name = Self.storedName(file.name)
        return checked
    }

    /// The client's file name without any folder part, control characters or NUL, at most
    /// `maxNameBytes` bytes; `file` when there is nothing left.
    public static func storedName(_ filename: String?) -> String {
        let base = (filename ?? "").split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        var name = String(String.UnicodeScalarView(base.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }))
        while name.utf8.count > maxNameBytes { name.removeLast() }
        return name.isEmpty || name == "." || name == ".." ? "file" : name
    }
}
