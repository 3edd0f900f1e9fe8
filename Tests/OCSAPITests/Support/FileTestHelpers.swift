import Foundation
import JSON

/// Multipart bodies and file calls for the file suites.
enum FileSupport {
    static let boundary = "----TaskDispatchTestBoundary7MA4YWxk"
    static let contentType = "multipart/form-data; boundary=\(boundary)"

    /// Every byte value, NUL and 0xFF included, and a CRLF followed by dashes (a near-boundary).
    static let binary: [UInt8] = Array(0...255) + [13, 10, 45, 45, 0, 255] + Array((0...255).reversed())

    /// A `multipart/form-data` body with one part named `field`.
    static func body(field: String = "file", filename: String? = "data.bin", contentType: String? = "application/octet-stream", data: [UInt8]) -> [UInt8] {
        var head = "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(field)\""
        if let filename { head += "; filename=\"\(filename.replacingOccurrences(of: "\"", with: "\\\""))\"" }
        head += "\r\n"
        if let contentType { head += "Content-Type: \(contentType)\r\n" }
        head += "\r\n"
        return Array(head.utf8) + data + Array("\r\n--\(boundary)--\r\n".utf8)
    }

    /// Uploads `data` as the `file` part to `path` (relative to the v2 prefix unless absolute).
    static func upload(
        _ client: APIClient, _ path: String, data: [UInt8], filename: String = "data.bin",
        contentType: String = "application/octet-stream"
    ) throws -> APIResponse {
        try client.call(
            "POST", path, body: body(filename: filename, contentType: contentType, data: data), contentType: Self.contentType)
    }

    /// The id of a new upload, failing the test's call when the upload is refused.
    static func uploadedFileID(_ client: APIClient, _ path: String = "files", data: [UInt8] = binary, filename: String = "data.bin") throws -> Int64 {
        let response = try upload(client, path, data: data, filename: filename)
        guard response.status == 201, let id = response.data?["fileId"]?.int64Value else {
            throw TestFailure("upload to \(path) answered \(response.status): \(response.bodyText)")
        }
        return id
    }

    /// Schedules a `core:audio2text` task whose input is the uploaded file `fileID`.
    static func scheduleTranscription(_ client: APIClient, fileID: Int64) throws -> APIResponse {
        try client.call("POST", "schedule", json: ["type": "core:audio2text", "input": ["input": .int(fileID)], "appId": "app"])
    }

    /// The number of rows in `task_files`, all or of one task.
    static func fileCount(_ server: TestServer, taskID: Int64? = nil) throws -> Int64 {
        let connection = try server.database()
        defer { connection.close() }
        let result = try connection.query(
            "SELECT count(*)::bigint AS n FROM task_files WHERE $1::bigint IS NULL OR task_id = $1", [taskID])
        return result.rows.first?.int64("n") ?? -1
    }
}
