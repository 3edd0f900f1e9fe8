import JSON
import MicroHTTP
import TaskQueue

/// The file routes: uploads (a user's or consumer's input files, a worker's output files) and
/// downloads of a task's files. The rules (who may upload to which task, sizes, stored names)
/// live in ``TaskFiles``; these read the multipart body and map answers.
struct FileEndpoints: Sendable {
    let files: TaskFiles
    let configuration: OCSServerConfiguration

    /// Room for the multipart framing and part headers around the largest file.
    static let multipartOverheadBytes = 64 * 1024

    /// The body limit of the upload routes.
    var uploadBodyLimit: Int {
        let (sum, overflow) = configuration.maxFileBytes.addingReportingOverflow(Self.multipartOverheadBytes)
        return overflow ? Int.max : sum
    }

    /// `POST /files` (beyond Nextcloud, which has its own file storage): stores an input file
    /// for the caller's later tasks; 201 `{"fileId"}`. The owner is the user (or, for an ExApp
    /// acting for nobody, the app); unused uploads are deleted after a while.
    func upload(_ context: EndpointContext, _ request: HTTPRequest) throws -> EndpointResult {
        let owner: TaskOwner
        if case .exApp = context.principal {
            owner = try context.consumerOwner()
        } else {
            owner = try context.userOwner()
        }
        let id = try files.upload(try uploadedFile(request), owner: owner)
        return EndpointResult(status: 201, data: ["fileId": .int(id)])
    }

    /// `POST tasks_provider/{taskId}/file`: a worker's output file for the task it runs. The
    /// query may name the claim (`attempt`, beyond Nextcloud), as results do, so that a worker
    /// whose lease ran out cannot add files to the task's next run.
    func providerUpload(_ context: EndpointContext, _ request: HTTPRequest, taskID: Int64) throws -> EndpointResult {
        let appID = try context.requireExApp()
        let attempt = try context.parameters.int("attempt", in: ParameterRanges.attempt)
        let id = try files.workerUpload(try uploadedFile(request), taskID: taskID, appID: appID, attempt: attempt)
        return EndpointResult(status: 201, data: ["fileId": .int(id)])
    }

    /// `GET tasks/{taskId}/file/{fileId}` (the task's user) and `GET tasks_provider/{taskId}/file/{fileId}`
    /// (any ExApp, `owner` nil): the raw bytes.
    func download(_ context: EndpointContext, taskID: Int64, fileID: Int64, owner: TaskOwner?) throws -> EndpointResult {
        let file = try files.read(fileID: fileID, taskID: taskID, owner: owner)
        var headers = HTTPHeaders()
        headers.add("Content-Type", file.contentType)
        headers.add("Content-Disposition", Self.contentDisposition(filename: file.name))
        // The stored type is the uploader's claim: browsers must not guess another.
        headers.add("X-Content-Type-Options", "nosniff")
        return EndpointResult(raw: HTTPResponse(status: 200, headers: headers, body: file.data))
    }

    /// The `file` part of a multipart body: 400 when there is none or the body is not multipart.
    private func uploadedFile(_ request: HTTPRequest) throws(OCSError) -> NewFile {
        let parts: [MultipartPart]
        do {
            let boundary = try MultipartFormData.boundary(contentType: request.headers["Content-Type"] ?? "")
            parts = try MultipartFormData.parse(request.body, boundary: boundary)
        } catch {
            throw .badRequest("\(error)")
        }
        guard let part = parts.first(where: { $0.name == "file" }) else {
            throw .badRequest("missing multipart field 'file'")
        }
        return NewFile(name: part.filename ?? "", contentType: Self.storedContentType(part.contentType), data: part.body)
    }

    /// The part's content type if it looks like `type/subtype` with printable ASCII parameters,
    /// else `application/octet-stream`: it is sent back as a header, so nothing else may pass.
    static func storedContentType(_ contentType: String?) -> String {
        guard let contentType, !contentType.isEmpty, contentType.utf8.count <= 255,
            contentType.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }),
            let header = HeaderParameters(contentType), header.value.split(separator: "/").count == 2
        else { return "application/octet-stream" }
        return contentType
    }

    /// `attachment; filename="..."; filename*=UTF-8''...`: the quoted name keeps printable ASCII
    /// only (`"` and `\` replaced), the RFC 8187 form carries the exact name percent-encoded.
    static func contentDisposition(filename: String) -> String {
        let ascii = String(
            String.UnicodeScalarView(
                filename.unicodeScalars.map { scalar -> Unicode.Scalar in
                    scalar.value >= 0x20 && scalar.value < 0x7F && scalar != "\"" && scalar != "\\" ? scalar : "_"
                }))
        let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)
        let encoded = filename.utf8.map { byte in
            unreserved.contains(byte) ? String(UnicodeScalar(byte)) : "%" + String(byte, radix: 16, uppercase: true).leftPadded
        }.joined()
        return "attachment; filename=\"\(ascii)\"; filename*=UTF-8''\(encoded)"
    }
}

extension String {
    /// Two hex digits: "A" becomes "0A".
    fileprivate var leftPadded: String { count == 1 ? "0" + self : self }
}
