/// Settings for an ``HTTPServer``.
///
/// The defaults suit a server that sits behind a reverse proxy on the same host and whose
/// handlers block on database calls.
public struct HTTPServerConfiguration: Sendable {
    /// The numeric address to listen on: `"127.0.0.1"` (default), `"::1"`, `"0.0.0.0"` or `"::"`.
    ///
    /// Host names are not resolved. An IPv6 address listens on IPv6 only.
    public var host: String

    /// The TCP port to listen on. Default 8080; 0 picks a free port, see ``HTTPServer/boundPort``.
    public var port: UInt16

    /// How many worker threads run handlers. Default 16.
    ///
    /// Each thread serves its connections one request at a time and may block on the database
    /// while doing so, so this bounds the number of requests handled concurrently.
    public var threadPoolSize: Int

    /// Seconds a connection may stay idle (or trickle bytes) before it is closed. Default 30.
    ///
    /// 0 disables the timeout, which is libmicrohttpd's own default and lets slow clients hold
    /// every connection slot.
    public var connectionTimeoutSeconds: UInt32

    /// The largest request body accepted, in bytes. Default 1 MiB.
    ///
    /// A larger declared `Content-Length` is refused before any of the body is read; a chunked
    /// body is refused once it grows past the limit. Either way the handler's
    /// ``HTTPHandler/reject(_:reason:)`` answers with ``HTTPRejection/bodyTooLarge(limit:)``.
    public var maxBodyBytes: Int

    /// The most connections open at once; further ones are refused. Default 1000.
    public var connectionLimit: UInt32

    /// Memory per connection for the request line, headers and read buffers. Default 64 KiB.
    ///
    /// A request whose head does not fit is answered by libmicrohttpd with an error status.
    public var connectionMemoryLimitBytes: Int

    /// Creates a configuration; every argument has the default documented on its property.
    public init(
        host: String = "127.0.0.1",
        port: UInt16 = 8080,
        threadPoolSize: Int = 16,
        connectionTimeoutSeconds: UInt32 = 30,
        maxBodyBytes: Int = 1 << 20,
        connectionLimit: UInt32 = 1000,
        connectionMemoryLimitBytes: Int = 64 * 1024
    ) {
        self.host = host
        self.port = port
        self.threadPoolSize = threadPoolSize
        self.connectionTimeoutSeconds = connectionTimeoutSeconds
        self.maxBodyBytes = maxBodyBytes
        self.connectionLimit = connectionLimit
        self.connectionMemoryLimitBytes = connectionMemoryLimitBytes
    }
}
