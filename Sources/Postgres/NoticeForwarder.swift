import CLibPQ
import Logging

/// Routes the server's NOTICE, WARNING and similar messages to a logger at `.debug`
/// instead of libpq's default of printing them to standard error.
///
/// The connection owns its forwarder and installs it with ``install(on:)``; libpq holds only an
/// unretained pointer, which stays valid because `PQfinish` runs before the forwarder is released.
final class NoticeForwarder {
    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    /// Makes `connection` report notices to this forwarder.
    func install(on connection: OpaquePointer) {
        PQsetNoticeReceiver(connection, forwardNotice, Unmanaged.passUnretained(self).toOpaque())
    }

    fileprivate func forward(_ notice: OpaquePointer) {
        func field(_ code: Int32) -> String? {
            PQresultErrorField(notice, code).map { String(cString: $0) }
        }
        var metadata: Logger.Metadata = [:]
        if let severity = field(CLibPQ_DIAG_SEVERITY) {
            metadata["postgres.severity"] = .string(severity)
        }
        if let sqlState = field(CLibPQ_DIAG_SQLSTATE) {
            metadata["postgres.sqlstate"] = .string(sqlState)
        }
        if let detail = field(CLibPQ_DIAG_MESSAGE_DETAIL) {
            metadata["postgres.detail"] = .string(detail)
        }
        let message = field(CLibPQ_DIAG_MESSAGE_PRIMARY) ?? String(cString: PQresultErrorMessage(notice))
        logger.debug("\(message)", metadata: metadata)
    }
}

/// The C callback libpq calls with each notice; `context` is the connection's ``NoticeForwarder``.
private nonisolated func forwardNotice(_ context: UnsafeMutableRawPointer?, _ notice: OpaquePointer?) {
    guard let context, let notice else { return }
    Unmanaged<NoticeForwarder>.fromOpaque(context).takeUnretainedValue().forward(notice)
}
