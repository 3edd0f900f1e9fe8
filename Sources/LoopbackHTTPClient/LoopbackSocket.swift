import Glibc

/// One connected TCP socket, closed when released, optionally carrying TLS. Every wait is
/// bounded by a ``Deadline``.
final class LoopbackSocket {
    private let descriptor: Int32
    /// Set by ``startTLS(_:before:)``: from then on every byte goes through it.
    private var tls: TLSClientSession?
    /// Where `read` receives, allocated once per connection rather than once per read.
    private var chunk = [UInt8](repeating: 0, count: 64 * 1024)

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit {
        tls = nil  // the session is ended before its socket is closed
        Glibc.close(descriptor)
    }

    /// Makes the connection a TLS one: the handshake runs now, and must succeed (certificate
    /// chain and name verified) before `deadline`.
    func startTLS(_ configuration: TLSClientConfiguration, before deadline: Deadline) throws(LoopbackHTTPError) {
        // GnuTLS reads and writes the socket itself: non-blocking, so that no call outlives the deadline.
        guard fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK) == 0 else {
            throw LoopbackHTTPError(.connectFailed, errnoText(errno))
        }
        tls = try TLSClientSession(descriptor: descriptor, configuration: configuration, deadline: deadline)
    }

    /// Connects to a numeric address (or a name the resolver knows, such as `localhost`).
    static func connect(host: String, port: UInt16) throws(LoopbackHTTPError) -> LoopbackSocket {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var addresses: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &addresses)
        guard status == 0, let first = addresses else {
            throw LoopbackHTTPError(.connectFailed, "cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(addresses) }

        var lastError = ECONNREFUSED
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let address = candidate {
            candidate = address.pointee.ai_next
            // Close-on-exec: a child process (a server under test) must not inherit the connection.
            let descriptor = socket(address.pointee.ai_family, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
            guard descriptor >= 0 else {
                lastError = errno
                continue
            }
            let socket = LoopbackSocket(descriptor: descriptor)
            if Glibc.connect(descriptor, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 {
                // Requests are written whole; waiting to coalesce them would only add latency.
                var enabled: Int32 = 1
                setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &enabled, socklen_t(MemoryLayout<Int32>.size))
                return socket
            }
            lastError = errno
        }
        throw LoopbackHTTPError(.connectFailed, "\(host):\(port): \(errnoText(lastError))")
    }

    /// Writes all of `bytes`.
    func write(_ bytes: [UInt8], before deadline: Deadline) throws(LoopbackHTTPError) {
        var offset = 0
        while offset < bytes.count {
            if let tls {
                // withUnsafeBytes does not carry typed throws: the outcome comes out as a Result.
                let sent = try bytes[offset...].withUnsafeBytes { unsent in Result { () throws(LoopbackHTTPError) in try tls.send(unsent) } }
                    .get()
                if sent == 0 { try wait(for: Int16(POLLOUT), before: deadline, doing: "sending") }
                offset += sent
                continue
            }
            let sent = bytes[offset...].withUnsafeBytes { unsent in
                Glibc.send(descriptor, unsent.baseAddress, unsent.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            }
            if sent < 0 {
                guard errno == EAGAIN || errno == EINTR else {
                    throw LoopbackHTTPError(.sendFailed, errnoText(errno))
                }
                // Only a full send buffer is waited for; a request usually fits at once.
                try wait(for: Int16(POLLOUT), before: deadline, doing: "sending")
                continue
            }
            offset += sent
        }
    }

    /// Reads what has arrived (waiting for something if nothing has) and appends it to
    /// `buffer`; returns the number of bytes read, 0 at end of stream.
    func read(appendingTo buffer: inout [UInt8], before deadline: Deadline) throws(LoopbackHTTPError) -> Int {
        while true {
            if let tls {
                if !tls.hasPendingBytes { try wait(for: Int16(POLLIN), before: deadline, doing: "receiving") }
                let outcome = chunk.withUnsafeMutableBytes { space in Result { () throws(LoopbackHTTPError) in try tls.receive(space) } }
                guard let received = try outcome.get() else { continue }
                buffer.append(contentsOf: chunk[..<received])
                return received
            }
            try wait(for: Int16(POLLIN), before: deadline, doing: "receiving")
            let received = chunk.withUnsafeMutableBytes { space in
                Glibc.recv(descriptor, space.baseAddress, space.count, Int32(MSG_DONTWAIT))
            }
            if received < 0 {
                guard errno == EAGAIN || errno == EINTR else {
                    throw LoopbackHTTPError(.receiveFailed, errnoText(errno))
                }
                continue
            }
            buffer.append(contentsOf: chunk[..<received])
            return received
        }
    }

    /// Whether the peer has closed (or reset) the connection, or sent bytes nobody asked for;
    /// either way the connection cannot carry a new request.
    var isUnusable: Bool {
        var descriptorPoll = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&descriptorPoll, 1, 0) != 0
    }

    private func wait(for events: Int16, before deadline: Deadline, doing activity: String) throws(LoopbackHTTPError) {
        while true {
            var descriptorPoll = pollfd(fd: descriptor, events: events, revents: 0)
            let ready = poll(&descriptorPoll, 1, deadline.remainingMilliseconds)
            if ready > 0 { return }
            if ready == 0 { throw LoopbackHTTPError(.timedOut, "timed out \(activity)") }
            guard errno == EINTR else { throw LoopbackHTTPError(.receiveFailed, errnoText(errno)) }
        }
    }
}

func errnoText(_ code: Int32) -> String {
    String(cString: strerror(code))
}
