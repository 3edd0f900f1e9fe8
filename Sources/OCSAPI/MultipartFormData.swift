/// One part of a `multipart/form-data` body.
public struct MultipartPart: Sendable, Equatable {
    /// The `name` of its `Content-Disposition: form-data` header.
    public var name: String
    /// The `filename` parameter, if the part is a file.
    public var filename: String?
    /// The part's `Content-Type` header, if it has one.
    public var contentType: String?
    /// The part's bytes, exactly as sent.
    public var body: [UInt8]
}

/// Why a `multipart/form-data` body was refused; the description is what the client reads.
public enum MultipartError: Error, Sendable, Equatable, CustomStringConvertible {
    case notMultipart(contentType: String)
    case invalidBoundary
    /// The body ends before its closing delimiter (`--boundary--`).
    case truncated
    case malformed(String)
    case tooManyParts(limit: Int)

    public var description: String {
        switch self {
        case .notMultipart(let contentType):
            "the Content-Type must be multipart/form-data, got '\(contentType)'"
        case .invalidBoundary:
            "the multipart boundary parameter is missing or not 1 to 70 valid characters"
        case .truncated:
            "the multipart body is truncated: it ends before the closing boundary"
        case .malformed(let what):
            "the multipart body is malformed: \(what)"
        case .tooManyParts(let limit):
            "the multipart body has more than \(limit) parts"
        }
    }
}

/// A parser of `multipart/form-data` bodies (RFC 7578, framing from RFC 2046 section 5.1.1).
///
/// The delimiter is CRLF, `--`, the boundary; the first one may start the body without the CRLF
/// (anything before it is a preamble and ignored). After a delimiter comes `--` (the close, after
/// which an epilogue is ignored) or optional spaces and CRLF, then the part's headers, an empty
/// line, and its bytes up to the next delimiter. A body without its close delimiter is truncated.
public enum MultipartFormData {
    /// Most parts accepted in one body; a form upload has a handful.
    public static let maxParts = 64
    /// Most bytes of headers accepted for one part.
    static let maxHeaderBytes = 8 * 1024

    /// The boundary from a `Content-Type` header value.
    public static func boundary(contentType: String) throws(MultipartError) -> String {
        guard let header = HeaderParameters(contentType), header.value == "multipart/form-data" else {
            throw .notMultipart(contentType: contentType)
        }
        guard let boundary = header.parameters["boundary"], isValidBoundary(boundary) else { throw .invalidBoundary }
        return boundary
    }

    /// RFC 2046: 1 to 70 characters of `bchars`, not ending in a space.
    static func isValidBoundary(_ boundary: String) -> Bool {
        let allowed = Set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? ".utf8)
        let bytes = Array(boundary.utf8)
        return (1...70).contains(bytes.count) && bytes.allSatisfy(allowed.contains) && bytes.last != UInt8(ascii: " ")
    }

    /// The parts of `body`, in order.
    public static func parse(_ body: [UInt8], boundary: String) throws(MultipartError) -> [MultipartPart] {
        guard isValidBoundary(boundary) else { throw .invalidBoundary }
        let delimiter = Array("--\(boundary)".utf8)
        let crlfDelimiter = [UInt8(ascii: "\r"), UInt8(ascii: "\n")] + delimiter

        // The first delimiter: at the very start, or after a preamble and CRLF.
        var position: Int
        if body.starts(with: delimiter) {
            position = delimiter.count
        } else if let found = find(crlfDelimiter, in: body, from: 0) {
            position = found + crlfDelimiter.count
        } else {
            throw .truncated
        }

        var parts: [MultipartPart] = []
        while true {
            // After a delimiter: "--" closes the body, else optional padding and CRLF open a part.
            if body.count - position >= 2, body[position] == UInt8(ascii: "-"), body[position + 1] == UInt8(ascii: "-") {
                return parts
            }
            while position < body.count, body[position] == UInt8(ascii: " ") || body[position] == UInt8(ascii: "\t") {
                position += 1
            }
            guard body.count - position >= 2 else { throw .truncated }
            guard body[position] == UInt8(ascii: "\r"), body[position + 1] == UInt8(ascii: "\n") else {
                throw .malformed("a boundary line must end with CRLF")
            }
            position += 2
            guard let end = find(crlfDelimiter, in: body, from: position) else { throw .truncated }
            guard parts.count < maxParts else { throw .tooManyParts(limit: maxParts) }
            parts.append(try part(body[position..<end]))
            position = end + crlfDelimiter.count
        }
    }

    /// One part: header lines, an empty line, the content.
    private static func part(_ bytes: ArraySlice<UInt8>) throws(MultipartError) -> MultipartPart {
        let blankLine: [UInt8] = [13, 10, 13, 10]
        let headerEnd: Int
        let contentStart: Int
        if bytes.starts(with: [13, 10]) {
            // No headers at all: RFC 7578 requires Content-Disposition, refused below.
            headerEnd = bytes.startIndex
            contentStart = bytes.startIndex + 2
        } else if let found = find(blankLine, in: bytes, from: bytes.startIndex) {
            headerEnd = found
            contentStart = found + 4
        } else {
            throw .malformed("a part has no empty line after its headers")
        }
        guard headerEnd - bytes.startIndex <= maxHeaderBytes else { throw .malformed("a part's headers are too long") }
        guard let headerText = String(validating: bytes[bytes.startIndex..<headerEnd], as: UTF8.self) else {
            throw .malformed("a part's headers are not UTF-8")
        }
        var disposition: HeaderParameters?
        var contentType: String?
        for line in headerText.split(separator: "\r\n", omittingEmptySubsequences: false) where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":"), line.first != " ", line.first != "\t" else {
                throw .malformed("a part header line is not 'Name: value'")
            }
            let name = line[..<colon].lowercased()
            let value = String(line[line.index(after: colon)...]).trimmingWhitespace()
            switch name {
            case "content-disposition":
                guard let parsed = HeaderParameters(value) else { throw .malformed("unreadable Content-Disposition") }
                disposition = parsed
            case "content-type":
                contentType = value
            default:
                continue
            }
        }
        guard let disposition, disposition.value == "form-data", let name = disposition.parameters["name"] else {
            throw .malformed("every part needs 'Content-Disposition: form-data; name=\"...\"'")
        }
        return MultipartPart(
            name: name, filename: disposition.parameters["filename"], contentType: contentType,
            body: Array(bytes[contentStart...]))
    }

    /// The index of the first occurrence of `needle` in `haystack` at or after `start`.
    static func find<C: RandomAccessCollection<UInt8>>(_ needle: [UInt8], in haystack: C, from start: C.Index) -> C.Index?
    where C.Index == Int {
        guard let first = needle.first, haystack.endIndex - start >= needle.count else { return nil }
        let result: Int?? = haystack.withContiguousStorageIfAvailable { buffer -> Int? in
            let base = haystack.startIndex
            let last = buffer.count - needle.count
            var index = start - base
            while index <= last {
                if buffer[index] == first {
                    var matched = true
                    for offset in 1..<needle.count where buffer[index + offset] != needle[offset] {
                        matched = false
                        break
                    }
                    if matched { return base + index }
                }
                index += 1
            }
            return nil
        }
        if let result { return result }
        var index = start
        while index <= haystack.endIndex - needle.count {
            if haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}
