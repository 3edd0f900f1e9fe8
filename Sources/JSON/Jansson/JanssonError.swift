import CJansson

/// A jansson call that reports failure without detail (a NULL value or a -1 status) failed.
///
/// Values built from Swift are always valid, so in practice this means memory ran out.
struct JanssonError: Error, CustomStringConvertible {
    /// The C function that failed.
    let failedCall: StaticString

    var description: String { "\(failedCall) failed" }

    /// Turns the status of a jansson call (0 success, -1 failure) into an error.
    static func check(_ call: StaticString, _ status: Int32) throws(JanssonError) {
        guard status == 0 else { throw JanssonError(failedCall: call) }
    }
}
