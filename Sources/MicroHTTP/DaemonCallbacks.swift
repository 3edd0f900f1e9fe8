import CMicroHTTPD
import Glibc

// The C entry points libmicrohttpd calls on its threads. They must be plain global functions
// (C function pointers capture nothing) and `nonisolated` (they run on no actor). Each one only
// recovers the Swift objects behind its `void *` arguments and hands over to `DaemonContext`.

/// `MHD_AccessHandlerCallback`: called once when the head arrives, once per body chunk, and
/// once more when the body is complete.
nonisolated func microHTTPAccessHandler(
    cls: UnsafeMutableRawPointer?,
    connection: OpaquePointer?,
    url: UnsafePointer<CChar>?,
    method: UnsafePointer<CChar>?,
    version: UnsafePointer<CChar>?,
    uploadData: UnsafePointer<CChar>?,
    uploadDataSize: UnsafeMutablePointer<Int>?,
    conCls: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) -> MHD_Result {
    guard let cls, let connection, let uploadDataSize, let conCls else { return .NO }
    let daemon = Unmanaged<DaemonContext>.fromOpaque(cls).takeUnretainedValue()

    guard let requestPointer = conCls.pointee else {
        let request = daemon.begin(connection: connection, url: url, method: method)
        // Released exactly once, in `microHTTPRequestCompleted`.
        conCls.pointee = Unmanaged.passRetained(request).toOpaque()
        if case .refusing = request.phase {
            // Answered before the body is read: a refused upload costs no more than its head.
            return daemon.answer(request, on: connection) ? .YES : .NO
        }
        return .YES
    }
    let request = Unmanaged<RequestContext>.fromOpaque(requestPointer).takeUnretainedValue()

    if uploadDataSize.pointee > 0 {
        let chunk = UnsafeRawBufferPointer(start: uploadData, count: uploadData == nil ? 0 : uploadDataSize.pointee)
        uploadDataSize.pointee = 0
        switch request.receive(chunk) {
        case .keepReading: return .YES
        case .closeConnection: return .NO
        }
    }
    return daemon.answer(request, on: connection) ? .YES : .NO
}

/// `MHD_RequestCompletedCallback`: the request is over; release its context.
nonisolated func microHTTPRequestCompleted(
    cls: UnsafeMutableRawPointer?,
    connection: OpaquePointer?,
    conCls: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
    termination: MHD_RequestTerminationCode
) {
    guard let cls, let connection, let conCls else { return }
    let daemon = Unmanaged<DaemonContext>.fromOpaque(cls).takeUnretainedValue()
    daemon.connections.requestFinished(on: connection)
    guard let requestPointer = conCls.pointee else { return }
    conCls.pointee = nil
    let request = Unmanaged<RequestContext>.fromOpaque(requestPointer).takeRetainedValue()
    daemon.complete(request, termination: termination)
}

/// `MHD_NotifyConnectionCallback`: a connection was accepted, or is about to be closed.
nonisolated func microHTTPConnectionNotified(
    cls: UnsafeMutableRawPointer?,
    connection: OpaquePointer?,
    socketContext: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
    code: MHD_ConnectionNotificationCode
) {
    guard let cls, let connection else { return }
    let daemon = Unmanaged<DaemonContext>.fromOpaque(cls).takeUnretainedValue()
    switch code {
    case .CONNECTION_NOTIFY_STARTED: daemon.connectionOpened(connection)
    case .CONNECTION_NOTIFY_CLOSED: daemon.connections.closed(connection)
    }
}

/// `MHD_LogCallback`: libmicrohttpd's own diagnostics, printf-style.
nonisolated func microHTTPDaemonLog(
    cls: UnsafeMutableRawPointer?,
    format: UnsafePointer<CChar>?,
    arguments: CVaListPointer?
) {
    guard let cls, let format, let arguments else { return }
    let daemon = Unmanaged<DaemonContext>.fromOpaque(cls).takeUnretainedValue()
    var buffer = [CChar](repeating: 0, count: 512)
    // A message longer than the buffer is cut short, which is fine for a log line.
    guard let written = try? CheckedCall.run(
        { () -> Int? in
            let count = vsnprintf(&buffer, buffer.count, format, arguments)
            return count < 0 ? nil : min(Int(count), buffer.count - 1)
        },
        orThrow: { .callFailed(operation: "vsnprintf", reason: $0) }
    ) else { return }
    var text = String(decoding: buffer.prefix(written).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    while let last = text.last, last.isWhitespace {
        text.removeLast()
    }
    daemon.recordDaemonMessage(text)
}
