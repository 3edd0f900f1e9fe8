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

    /// How many libmicrohttpd threads read requests and write responses. Default 2.
    ///
    /// Each connection stays with the thread that accepted it. With ``handlerThreads`` above 0
    /// these threads never wait on a handler, so a few serve any number of connections.
    public var threadPoolSize: Int

    /// How many threads run handlers, first come first served, whichever connection a request
    /// came on. Default 16. Handlers may block (on the database); this bounds how many run at once.
    ///
    /// 0 runs each handler on the libmicrohttpd thread of its connection, which then serves
    /// none of its other connections meanwhile; and since a burst of new connections is often
    /// accepted by one thread, those requests would queue behind each other while other threads idle.
    public var handlerThreads: Int

    /// Seconds a connection may stay idle, neither sending nor receiving a byte, before it is
    /// closed. Default 30.
    ///
    /// This is libmicrohttpd's timeout, and it counts idle time only: a client that sends a
    /// byte now and then is never idle. ``requestTimeoutSeconds`` bounds those. 0 disables
    /// this timeout, which is libmicrohttpd's own default.
    public var connectionTimeoutSeconds: UInt32

    /// Seconds, on top of ``connectionTimeoutSeconds``, a connection has to deliver a complete
    /// request. Default 30.
    ///
    /// Each request, head and body, must have arrived within `connectionTimeoutSeconds +
    /// requestTimeoutSeconds` of the connection being accepted or of the previous response
    /// having been sent; the idle part lets a keep-alive connection wait before its next
    /// request. A connection that misses it is closed and logged at `notice`; this is what
    /// stops a client that trickles its request from holding a connection slot for ever.
    /// No deadline runs while the handler computes the response nor while it is sent. The
    /// check runs once a second, so a connection may outlive its deadline by up to a second.
    /// 0 disables the deadline, leaving only the idle timeout.
    public var requestTimeoutSeconds: UInt32

    /// The largest request body accepted, in bytes. Default 1 MiB.
    ///
    /// A larger declared `Content-Length` is refused before any of the body is read; a chunked
    /// body is refused once it grows past the limit. Either way the handler's
    /// ``HTTPHandler/reject(_:reason:)`` answers with ``HTTPRejection/bodyTooLarge(limit:)``.
    /// A handler may set another limit per request with ``HTTPHandler/maxBodyBytes(for:)``.
    public var maxBodyBytes: Int

    /// The most connections open at once. Default 10,000.
    ///
    /// A connection past the limit makes room by closing the oldest connection that is
    /// waiting for a request (one that never sent a request head first, then an idle
    /// keep-alive one); connections whose request is being handled, parked long polls
    /// included, are never closed. With none to close, the new connection is answered `503`
    /// and closed at once. The open file limit is raised to fit; when its hard limit is too
    /// low, the connection limit is lowered to what fits, and the log says so.
    public var connectionLimit: UInt32

    /// The most connections open at once from one client address, under the same rules as
    /// ``connectionLimit``. Default 1,000; 0 for no limit.
    ///
    /// One address may then fill a tenth of the default connection limit: enough for a host
    /// running a large fleet of long-polling workers, too little for one client to crowd
    /// out everyone else. Behind a reverse proxy every client has the proxy's address: set
    /// 0 there, and let the proxy limit per client.
    public var perAddressConnectionLimit: UInt32

    /// Seconds a new connection has to deliver its first request line and headers. Default 5.
    ///
    /// Separate from the idle timeout between keep-alive requests and from how long a long
    /// poll waits: a connection that has not said what it wants after this long is closed.
    /// 0 leaves only ``requestTimeoutSeconds``.
    public var firstRequestHeadTimeoutSeconds: UInt32

    /// With credentials, the server speaks only HTTPS (TLS through libmicrohttpd's GnuTLS) on
    /// its port; a plain HTTP request there fails the handshake and is closed. Default nil.
    public var tls: TLSCredentials?

    /// Memory per connection for the request line, headers and read and write buffers.
    /// Default 16 KiB, which holds a request head of about 12 KiB.
    ///
    /// A request whose head does not fit is answered by libmicrohttpd with an error status.
    /// libmicrohttpd clears the whole of it between keep-alive requests, so every connection
    /// that has served a request holds this much resident memory: with 10,000 parked long
    /// polls, 64 KiB came to 709 MB, 16 KiB to a quarter of that.
    public var connectionMemoryLimitBytes: Int

    /// Creates a configuration; every argument has the default documented on its property.
    public init(
        host: String = "127.0.0.1",
        port: UInt16 = 8080,
        threadPoolSize: Int = 2,
        handlerThreads: Int = 16,
        connectionTimeoutSeconds: UInt32 = 30,
        requestTimeoutSeconds: UInt32 = 30,
        maxBodyBytes: Int = 1 << 20,
        connectionLimit: UInt32 = 10_000,
        perAddressConnectionLimit: UInt32 = 1000,
        firstRequestHeadTimeoutSeconds: UInt32 = 5,
        tls: TLSCredentials? = nil,
        connectionMemoryLimitBytes: Int = 16 * 1024
    ) {
        self.host = host
        self.port = port
        self.threadPoolSize = threadPoolSize
        self.handlerThreads = handlerThreads
        self.connectionTimeoutSeconds = connectionTimeoutSeconds
        self.requestTimeoutSeconds = requestTimeoutSeconds
        self.maxBodyBytes = maxBodyBytes
        self.connectionLimit = connectionLimit
        self.perAddressConnectionLimit = perAddressConnectionLimit
        self.firstRequestHeadTimeoutSeconds = firstRequestHeadTimeoutSeconds
        self.tls = tls
        self.connectionMemoryLimitBytes = connectionMemoryLimitBytes
    }
}
