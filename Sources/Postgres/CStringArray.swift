import Glibc

/// Copies `values` into C memory for exactly the duration of `body` and passes them as the
/// `const char * const *` array that libpq's parameter and keyword arguments take (`nil` stays a NULL pointer).
///
/// Each string gets its own copy that is freed afterwards, so no pointer obtained from Swift's
/// implicit array or string bridging outlives the call it was made for.
func withCStringArray<Result, Failure: Error>(
    _ values: [String?],
    _ body: (UnsafePointer<UnsafePointer<CChar>?>?) throws(Failure) -> Result
) throws(Failure) -> Result {
    let copies: [UnsafeMutablePointer<CChar>?] = values.map { value in
        value.map { text in
            guard let copy = strdup(text) else {
                fatalError("out of memory copying a query parameter")
            }
            return copy
        }
    }
    defer {
        for copy in copies {
            free(copy)
        }
    }
    let pointers = copies.map { $0.map { UnsafePointer($0) } }
    return try pointers.withUnsafeBufferPointer { buffer throws(Failure) in
        try body(buffer.baseAddress)
    }
}
