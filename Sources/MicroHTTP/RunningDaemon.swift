import CMicroHTTPD
import Glibc

/// The one owner of a started `MHD_Daemon`, of the context reference lent to it and of the
/// thread that enforces its request deadlines and watches its parked connections.
///
/// Dropping it stops the deadline sweeper, answers the parked requests (libmicrohttpd must not
/// stop with suspended connections), then stops the daemon (joining its threads, which finish
/// the handlers they are running), and only then releases the context, so no callback can
/// outlive what it uses.
struct RunningDaemon: ~Copyable {
    private let daemon: OpaquePointer
    private let context: Unmanaged<DaemonContext>
    private let sweeper: DeadlineSweeper
    private var quiescedListenSocket: Int32?

    /// Takes ownership of a started daemon, of the retained `context` it was given and of the
    /// running `sweeper`.
    init(daemon: OpaquePointer, context: Unmanaged<DaemonContext>, sweeper: DeadlineSweeper) {
        self.daemon = daemon
        self.context = context
        self.sweeper = sweeper
        self.quiescedListenSocket = nil
    }

    /// The port the daemon listens on, which differs from the configured one for port 0.
    func boundPort() throws(HTTPServerError) -> UInt16 {
        let daemon = self.daemon
        return try CheckedCall.run(
            { () -> UInt16? in
                let port = CMicroHTTPD_boundPort(daemon)
                return port == 0 ? nil : port
            },
            orThrow: { .startFailed("could not read the bound port: \($0)") }
        )
    }

    /// Stops accepting new connections while the existing ones are served.
    mutating func stopAccepting() throws(HTTPServerError) {
        guard quiescedListenSocket == nil else { return }
        let daemon = self.daemon
        quiescedListenSocket = try CheckedCall.run(
            { () -> Int32? in
                let socket = MHD_quiesce_daemon(daemon)
                return socket == MHD_INVALID_SOCKET ? nil : socket
            },
            orThrow: { .callFailed(operation: "MHD_quiesce_daemon", reason: $0) }
        )
    }

    /// Answers every parked request the application has not answered with `response`, so that
    /// their connections resume and can be closed.
    func cancelParkedRequests(answering response: HTTPResponse) {
        let context = context.takeUnretainedValue()
        context.stopping.store(true, ordering: .sequentiallyConsistent)
        context.parked.cancelAll(answering: response, sparingComputing: true)
    }

    /// Waits until no request is between its head and its completion, or `seconds` have passed.
    func waitForRequestsInFlight(upToSeconds seconds: Int) {
        let context = self.context.takeUnretainedValue()
        let pollInterval: useconds_t = 10_000
        var waited = 0
        while context.requestsInFlight.load(ordering: .relaxed) > 0, waited < seconds * 1_000_000 {
            usleep(pollInterval)
            waited += Int(pollInterval)
        }
    }

    deinit {
        // First, so that no socket is shut down while libmicrohttpd tears its connections down.
        sweeper.stop()
        // libmicrohttpd requires every suspended connection to be resumed before it stops.
        context.takeUnretainedValue().stopping.store(true, ordering: .sequentiallyConsistent)
        context.takeUnretainedValue().parked.cancelAll(answering: ParkedConnections.lostConnectionResponse)
        MHD_stop_daemon(daemon)
        // No request reaches the pool any more; handlers still running finish, their answers
        // dropped (their requests were cancelled above).
        context.takeUnretainedValue().handlers?.stop()
        // libmicrohttpd hands the quiesced socket over to us, but its threads may use it until
        // `MHD_stop_daemon` has returned.
        if let quiescedListenSocket {
            Glibc.close(quiescedListenSocket)
        }
        context.release()
    }
}
