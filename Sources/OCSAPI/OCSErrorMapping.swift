import TaskQueue

/// An error the OCS API answers with an error envelope: each error type says once, here, which
/// status and message it becomes, so endpoints call services and stores without wrappers.
public protocol OCSErrorConvertible: Error {
    var ocsError: OCSError { get }
}

extension OCSError: OCSErrorConvertible {
    public var ocsError: OCSError { self }

    /// The answer for any error: its mapping, or a 500 that logs it (a 500 is a bug).
    init(answering error: any Error) {
        self = (error as? any OCSErrorConvertible)?.ocsError ?? .internalError(cause: "\(error)")
    }
}

extension ServiceError: OCSErrorConvertible {
    public var ocsError: OCSError {
        switch kind {
        case .invalid: .badRequest(message)
        case .forbidden: .forbidden(message)
        case .notFound: .notFound(message)
        case .conflict: .conflict(message)
        case .tooLarge: OCSError(status: 413, message: message)
        case .noProvider: OCSError(status: 412, message: message)
        case .idempotencyKeyReused: OCSError(status: 422, message: message)
        case .rateLimited(let retryAfter): OCSError(status: 429, message: message, headers: [("Retry-After", "\(retryAfter)")])
        }
    }
}

/// Store refusals of provider and custom type changes are client errors; database trouble is
/// 503 while the database is unreachable (clients retry), anything else 500. Task input files
/// and account refusals reach OCS clients only through services (`TaskScheduler`) and the
/// authenticator, which answer them themselves; arriving here, one is a bug.
extension StoreError: OCSErrorConvertible {
    public var ocsError: OCSError {
        switch self {
        case .unknownTaskType, .coreTaskType, .providerNotForType, .unknownApp: .badRequest("\(self)")
        case .ownedByOther, .taskTypeInUse, .changedConcurrently: .conflict("\(self); nothing changed")
        case .providerNotFound, .taskTypeNotFound: .notFound("\(self)")
        case .database(let cause) where cause.isUnavailable:
            .unavailable("the database is unavailable, retry later", cause: "\(self)")
        case .database, .corruptRow, .inputFilesUnavailable, .invalidAccountName, .accountAlreadyExists, .accountNotFound,
            .appSettingRefused:
            .internalError(cause: "\(self)")
        }
    }
}
