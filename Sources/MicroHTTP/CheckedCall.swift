import CMicroHTTPD
import Glibc

/// The one place where a failing C call becomes an ``HTTPServerError``.
///
/// Every call into libmicrohttpd or the socket API that can fail goes through here, so no
/// failure is silently ignored and every one carries the errno text of the moment it happened.
enum CheckedCall {
    /// Runs `call`; a `nil` result is a failure, reported through `error` with the errno text.
    static func run<Result>(
        _ call: () -> Result?,
        orThrow error: (_ errnoText: String) -> HTTPServerError
    ) throws(HTTPServerError) -> Result {
        errno = 0
        if let result = call() {
            return result
        }
        throw error(errnoText(errno))
    }

    /// Runs a libmicrohttpd call that answers `MHD_YES` or `MHD_NO`.
    static func run(_ operation: String, _ call: () -> MHD_Result) throws(HTTPServerError) {
        try run({ call() == .YES ? () : nil }, orThrow: { .callFailed(operation: operation, reason: $0) })
    }

    /// `strerror` text for `code`, or a fixed text when the call failed without setting errno.
    static func errnoText(_ code: Int32) -> String {
        guard code != 0, let text = strerror(code) else {
            return "no further detail"
        }
        return String(cString: text)
    }
}
