/// A request a service refuses, with a sentence saying why. Front ends map the kind to their
/// own answer (the OCS API: an HTTP status); the message is written for the caller.
public struct ServiceError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The request is malformed or breaks a rule (HTTP 400).
        case invalid
        /// The caller may not do this (403).
        case forbidden
        /// What the request names does not exist for this caller (404).
        case notFound
        /// The task's state does not allow it now (409).
        case conflict
        /// Too large to accept (413).
        case tooLarge
        /// The task type has no provider (412, as in Nextcloud).
        case noProvider
        /// An idempotency key was used before with a different request (422).
        case idempotencyKeyReused
        /// Over the schedule rate limit; retry after this many seconds (429).
        case rateLimited(retryAfterSeconds: Int)
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    public static func invalid(_ message: String) -> ServiceError { ServiceError(.invalid, message) }
    public static func notFound(_ message: String) -> ServiceError { ServiceError(.notFound, message) }
    public static func conflict(_ message: String) -> ServiceError { ServiceError(.conflict, message) }
}
