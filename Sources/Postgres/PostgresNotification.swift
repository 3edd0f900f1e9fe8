/// One `NOTIFY` received by a ``PostgresListener``.
public struct PostgresNotification: Sendable, Equatable {
    /// The channel it was sent on.
    public let channel: String
    /// The payload; empty when none was sent.
    public let payload: String
    /// The process ID of the backend that sent it.
    public let senderPID: Int32

    public init(channel: String, payload: String, senderPID: Int32) {
        self.channel = channel
        self.payload = payload
        self.senderPID = senderPID
    }
}
