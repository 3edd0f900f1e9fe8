/// The parallel arrays that `PQexecParams` and `PQexecPrepared` read their parameters from.
/// The pointers are valid only inside ``withParameterArrays(_:_:)``.
struct ParameterArrays {
    let count: Int32
    let values: UnsafePointer<UnsafePointer<CChar>?>?
    let lengths: UnsafePointer<Int32>?
    let formats: UnsafePointer<Int32>?
}

/// Lends libpq the parameters' own storage for exactly the duration of `body`.
///
/// Nothing is copied: each text is pinned with `withCString` and each binary value with
/// `withUnsafeBufferPointer`, one nested scope per parameter, so a 64 MiB file goes to libpq
/// from the caller's array. No pointer outlives the scope it was obtained in.
func withParameterArrays<Result>(_ parameters: [PostgresParameter], _ body: (ParameterArrays) -> Result) -> Result {
    var values = [UnsafePointer<CChar>?](repeating: nil, count: parameters.count)
    let lengths = parameters.map { Int32(clamping: $0.binaryLength) }
    let formats = parameters.map(\.formatCode)

    func pin(from index: Int) -> Result {
        guard index < parameters.count else {
            return values.withUnsafeBufferPointer { values in
                lengths.withUnsafeBufferPointer { lengths in
                    formats.withUnsafeBufferPointer { formats in
                        body(ParameterArrays(
                            count: Int32(parameters.count), values: values.baseAddress,
                            lengths: lengths.baseAddress, formats: formats.baseAddress))
                    }
                }
            }
        }
        switch parameters[index].value {
        case .null:
            return pin(from: index + 1)
        case .text(let text):
            return text.withCString { pointer in
                values[index] = pointer
                return pin(from: index + 1)
            }
        case .binary(let bytes) where bytes.isEmpty:
            // An empty array may have no storage, and a NULL pointer would mean SQL NULL.
            return "".withCString { pointer in
                values[index] = pointer
                return pin(from: index + 1)
            }
        case .binary(let bytes):
            return bytes.withUnsafeBytes { buffer in
                values[index] = buffer.baseAddress?.assumingMemoryBound(to: CChar.self)
                return pin(from: index + 1)
            }
        }
    }
    return pin(from: 0)
}
