import TaskQueue
import Testing
@testable import OCSAPI

@Suite("multipart/form-data parser (no I/O)")
struct MultipartFormDataTests {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test("one file part: name, filename, content type and the exact bytes")
    func singleFile() throws {
        let body = Self.bytes(
            "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n")
            + [0, 255, 13, 10, 45, 45, 1] + Self.bytes("\r\n--XyZ--\r\n")
        let parts = try MultipartFormData.parse(body, boundary: "XyZ")
        #expect(parts == [MultipartPart(name: "file", filename: "a.png", contentType: "image/png", body: [0, 255, 13, 10, 45, 45, 1])])
    }

    @Test("several parts in order; preamble and epilogue ignored; empty content kept")
    func severalParts() throws {
        let body = Self.bytes(
            "preamble text\r\n--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\none\r\n"
                + "--b\r\ncontent-disposition: form-data; name=b\r\n\r\n\r\n"
                + "--b  \r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\nthree\r\n--b--epilogue")
        let parts = try MultipartFormData.parse(body, boundary: "b")
        #expect(parts.map(\.name) == ["a", "b", "file"])
        #expect(parts.map(\.body) == [Self.bytes("one"), [], Self.bytes("three")])
        #expect(parts[0].filename == nil)
        #expect(parts[2].filename == "x")
    }

    @Test("the boundary from Content-Type: quoted, token, case of the parameter name", arguments: [
        ("multipart/form-data; boundary=abc123", "abc123"),
        ("multipart/form-data; boundary=\"with space:and=more\"", "with space:and=more"),
        ("Multipart/Form-Data; charset=utf-8; BOUNDARY=\"q\\\"x\"", "q\"x"),
    ])
    func boundary(contentType: String, expected: String) throws {
        if expected.contains("\"") {
            // A quote is not a valid boundary character: the header parses, the boundary is refused.
            #expect(throws: MultipartError.invalidBoundary) { try MultipartFormData.boundary(contentType: contentType) }
        } else {
            #expect(try MultipartFormData.boundary(contentType: contentType) == expected)
        }
    }

    @Test("a quoted boundary with a space frames the body")
    func quotedBoundaryBody() throws {
        let boundary = try MultipartFormData.boundary(contentType: "multipart/form-data; boundary=\"a b'c\"")
        let body = Self.bytes("--a b'c\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nhi\r\n--a b'c--")
        #expect(try MultipartFormData.parse(body, boundary: boundary).map(\.body) == [Self.bytes("hi")])
    }

    @Test("refused Content-Types", arguments: [
        "application/json", "multipart/form-data", "multipart/form-data; boundary=", "multipart/mixed; boundary=x",
        "multipart/form-data; boundary=\"unclosed", "multipart/form-data; boundary=" + String(repeating: "x", count: 71),
        "multipart/form-data; boundary=bad\u{1}char",
    ])
    func refusedContentTypes(contentType: String) {
        #expect(throws: MultipartError.self) { try MultipartFormData.boundary(contentType: contentType) }
    }

    @Test("truncated bodies", arguments: [
        "",
        "--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nno end",
        "--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\ndata\r\n--b",
        "--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\ndata\r\n--b-",
        "--b",
        "no delimiter at all",
    ])
    func truncated(body: String) {
        #expect(throws: MultipartError.truncated) { try MultipartFormData.parse(Self.bytes(body), boundary: "b") }
    }

    @Test("malformed parts", arguments: [
        "--b\r\n\r\nno disposition\r\n--b--",
        "--b\r\nContent-Disposition: attachment; name=\"file\"\r\n\r\nx\r\n--b--",
        "--b\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--b--",
        "--b\r\nContent-Disposition: form-data; name=\"file\"\r\nno blank line\r\n--b--",
        "--bX\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nx\r\n--b--",
        "--b\r\nBroken header line\r\n\r\nx\r\n--b--",
    ])
    func malformed(body: String) {
        #expect(throws: MultipartError.self) { try MultipartFormData.parse(Self.bytes(body), boundary: "b") }
    }

    @Test("part headers over 8 KiB are refused; a large part body is fine")
    func oversizedHeaders() throws {
        let longHeader = "X-Padding: " + String(repeating: "p", count: 9000) + "\r\n"
        let body = Self.bytes("--b\r\n\(longHeader)Content-Disposition: form-data; name=\"file\"\r\n\r\nx\r\n--b--")
        #expect(throws: MultipartError.malformed("a part's headers are too long")) { try MultipartFormData.parse(body, boundary: "b") }
        let content = [UInt8](repeating: 0xFF, count: 1 << 20)
        let large = Self.bytes("--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n") + content + Self.bytes("\r\n--b--")
        #expect(try MultipartFormData.parse(large, boundary: "b").first?.body == content)
    }

    @Test("more parts than the limit are refused")
    func tooManyParts() {
        let part = "--b\r\nContent-Disposition: form-data; name=\"p\"\r\n\r\nx\r\n"
        let body = String(repeating: part, count: MultipartFormData.maxParts + 1) + "--b--"
        #expect(throws: MultipartError.tooManyParts(limit: MultipartFormData.maxParts)) {
            try MultipartFormData.parse(Self.bytes(body), boundary: "b")
        }
    }

    @Test("a boundary-like line inside content that is not a delimiter stays content")
    func nearDelimiterInContent() throws {
        let content = "line\r\n--bb not it\r\n-b\r\n--"
        let body = Self.bytes("--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n\(content)\r\n--b--\r\n")
        // "--bb" starts with the delimiter "--b" and is not followed by CRLF or "--": malformed by RFC 2046,
        // so a sender must pick a boundary absent from the content; here the content's "--bb" is read as one.
        #expect(throws: MultipartError.self) { try MultipartFormData.parse(body, boundary: "b") }
        let safe = Self.bytes("--zz9\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n\(content)\r\n--zz9--\r\n")
        #expect(try MultipartFormData.parse(safe, boundary: "zz9").first?.body == Self.bytes(content))
    }

    @Test("file names and content types are cleaned before storing; Content-Disposition escapes names")
    func storedNames() {
        #expect(TaskFiles.storedName("../../etc/passwd") == "passwd")
        #expect(TaskFiles.storedName("C:\\dir\\a b.txt") == "a b.txt")
        #expect(TaskFiles.storedName(nil) == "file")
        #expect(TaskFiles.storedName("..") == "file")
        #expect(TaskFiles.storedName("a\u{0}b\u{7}c") == "abc")
        #expect(FileEndpoints.storedContentType("image/png") == "image/png")
        #expect(FileEndpoints.storedContentType("text/html\r\nX-Evil: 1") == "application/octet-stream")
        #expect(FileEndpoints.storedContentType("nonsense") == "application/octet-stream")
        #expect(
            FileEndpoints.contentDisposition(filename: "a\"b\\ä.txt")
                == "attachment; filename=\"a_b__.txt\"; filename*=UTF-8''a%22b%5C%C3%A4.txt")
    }
}
