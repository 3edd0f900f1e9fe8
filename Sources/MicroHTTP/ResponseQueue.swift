import CMicroHTTPD

/// Turns an ``HTTPResponse`` into a libmicrohttpd response and queues it on a connection.
enum ResponseQueue {
    /// Queues `response` with the request's id in `X-Request-Id` (unless the handler set one);
    /// the libmicrohttpd response is released here whatever happens, since queueing takes its
    /// own reference.
    static func queue(_ response: HTTPResponse, requestID: String, on connection: OpaquePointer) throws(HTTPServerError) {
        guard (200...999).contains(response.status) else {
            throw .invalidResponse("status \(response.status) is not between 200 and 999")
        }
        // HTTP forbids a body on these; dropping it here keeps that true whatever the handler
        // returned and whichever libmicrohttpd version frames the response.
        let body = response.status == 204 || response.status == 304 ? [] : response.body
        // MUST_COPY: the array's storage is only valid inside `withUnsafeBytes`.
        let mhdResponse = try CheckedCall.run(
            {
                body.withUnsafeBytes { bytes in
                    MHD_create_response_from_buffer(
                        bytes.count, UnsafeMutableRawPointer(mutating: bytes.baseAddress), .RESPMEM_MUST_COPY)
                }
            },
            orThrow: { .callFailed(operation: "MHD_create_response_from_buffer", reason: $0) }
        )
        defer { MHD_destroy_response(mhdResponse) }

        var headers = response.headers
        if headers[RequestID.headerName] == nil { headers.add(RequestID.headerName, requestID) }
        for (name, value) in headers where !isFraming(name) {
            try checkFieldSyntax(name: name, value: value)
            try CheckedCall.run("MHD_add_response_header(\(name))") {
                MHD_add_response_header(mhdResponse, name, value)
            }
        }
        try CheckedCall.run("MHD_queue_response") {
            MHD_queue_response(connection, UInt32(response.status), mhdResponse)
        }
    }

    /// libmicrohttpd computes these from the body it is given; a second copy from the handler
    /// could only disagree with it.
    private static func isFraming(_ name: String) -> Bool {
        HTTPHeaders.namesMatch(name, "Content-Length") || HTTPHeaders.namesMatch(name, "Transfer-Encoding")
    }

    /// Refuses what would split or truncate the header line: C strings end at NUL, and CR or
    /// LF would let a value inject further header lines.
    private static func checkFieldSyntax(name: String, value: String) throws(HTTPServerError) {
        let forbidden: (UInt8) -> Bool = { $0 == 0 || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") }
        let nameIsToken = !name.isEmpty && !name.utf8.contains { forbidden($0) || $0 == UInt8(ascii: ":") || $0 <= 0x20 }
        guard nameIsToken, !value.utf8.contains(where: forbidden) else {
            throw .invalidResponse("header \(name.debugDescription) has a forbidden character")
        }
    }
}
