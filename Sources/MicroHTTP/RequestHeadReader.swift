import CMicroHTTPD
import Glibc
import Synchronization

/// Builds an ``HTTPRequestHead`` from what libmicrohttpd has parsed, checking that every part
/// is UTF-8.
///
/// Parts that are not UTF-8 are decoded with replacement characters so that the handler's
/// `reject` still gets a usable head, and the first such part is reported as the rejection.
enum RequestHeadReader {
    /// Request numbers are process-wide so that log lines of concurrent servers do not collide.
    private static let requestCounter = Atomic<UInt64>(0)

    static func read(
        connection: OpaquePointer,
        url: UnsafePointer<CChar>?,
        method: UnsafePointer<CChar>?
    ) -> (head: HTTPRequestHead, encodingProblem: String?) {
        var problems: [String] = []
        let methodText = decode(cString: method, part: "method", problems: &problems)
        let path = decode(cString: url, part: "path", problems: &problems)
        let query = FieldCollector.collect(.GET_ARGUMENT_KIND, of: connection)
        if query.hasInvalidUTF8 { problems.append("query") }
        let headers = FieldCollector.collect(.HEADER_KIND, of: connection)
        if headers.hasInvalidUTF8 { problems.append("header") }

        let head = HTTPRequestHead(
            id: requestCounter.add(1, ordering: .relaxed).newValue,
            method: methodText,
            path: path,
            query: query.fields,
            headers: HTTPHeaders(headers.fields.map { ($0.name, $0.value) }),
            remoteAddress: CMicroHTTPD_clientAddress(connection).flatMap(ListenAddress.describe)
        )
        return (head, problems.first)
    }

    private static func decode(cString: UnsafePointer<CChar>?, part: String, problems: inout [String]) -> String {
        guard let cString else { return "" }
        if let text = String(validatingCString: cString) {
            return text
        }
        problems.append(part)
        return String(decoding: UnsafeRawBufferPointer(start: cString, count: strlen(cString)), as: UTF8.self)
    }
}

/// Gathers the name/value pairs of one kind (headers or query arguments) from a connection.
///
/// Passed to libmicrohttpd's iterator as its `cls` for the duration of one synchronous call.
final class FieldCollector {
    private(set) var fields: [(name: String, value: String)] = []
    private(set) var hasInvalidUTF8 = false

    static func collect(_ kind: MHD_ValueKind, of connection: OpaquePointer) -> FieldCollector {
        let collector = FieldCollector()
        // The count is -1 only for a NULL connection, which the access handler never passes on.
        _ = withExtendedLifetime(collector) {
            MHD_get_connection_values_n(
                connection, kind, collectField, Unmanaged.passUnretained(collector).toOpaque())
        }
        return collector
    }

    fileprivate func append(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        fields.append((name: decode(key), value: decode(value)))
    }

    /// Decodes with sizes rather than as C strings: a percent-decoded query value may contain
    /// a NUL byte, which must not cut it short.
    private func decode(_ bytes: UnsafeRawBufferPointer) -> String {
        if let text = String(validating: bytes, as: UTF8.self) {
            return text
        }
        hasInvalidUTF8 = true
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// libmicrohttpd's `MHD_KeyValueIteratorN`; `cls` is an unretained ``FieldCollector``.
private nonisolated func collectField(
    cls: UnsafeMutableRawPointer?,
    kind: MHD_ValueKind,
    key: UnsafePointer<CChar>?,
    keySize: Int,
    value: UnsafePointer<CChar>?,
    valueSize: Int
) -> MHD_Result {
    guard let cls else { return .NO }
    let collector = Unmanaged<FieldCollector>.fromOpaque(cls).takeUnretainedValue()
    // A query argument without `=` has a NULL value: it reads as empty.
    collector.append(
        key: UnsafeRawBufferPointer(start: key, count: key == nil ? 0 : keySize),
        value: UnsafeRawBufferPointer(start: value, count: value == nil ? 0 : valueSize)
    )
    return .YES
}
