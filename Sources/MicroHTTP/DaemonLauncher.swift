import CMicroHTTPD
import Glibc
import Logging

/// Starts a libmicrohttpd daemon for a configuration.
enum DaemonLauncher {
    static func launch(
        _ configuration: HTTPServerConfiguration,
        handler: any HTTPHandler,
        logger: Logger
    ) throws(HTTPServerError) -> RunningDaemon {
        try validate(configuration)
        let connectionLimit = fittedConnectionLimit(Int(configuration.connectionLimit), logger: logger)
        let address = try ListenAddress(host: configuration.host, port: configuration.port)
        let handlers = configuration.handlerThreads > 0
            ? HandlerPool(threadCount: configuration.handlerThreads, name: "http-handler") : nil
        let context = DaemonContext(
            handler: handler, logger: logger, maxBodyBytes: configuration.maxBodyBytes,
            connections: connections(configuration, limit: connectionLimit),
            tls: configuration.tls, handlers: handlers)
        // Running before the daemon can hand it a request.
        handlers?.start()
        // Lent to the daemon; `RunningDaemon` releases it after `MHD_stop_daemon`.
        let retainedContext = Unmanaged.passRetained(context)

        // A pool of threads, each with its own epoll set, that read requests and write answers;
        // handlers run in the handler pool while their connection is suspended (and long polls
        // stay suspended until answered).
        var flags = MHD_USE_INTERNAL_POLLING_THREAD.rawValue | MHD_USE_EPOLL.rawValue
            | MHD_ALLOW_SUSPEND_RESUME.rawValue | MHD_USE_ERROR_LOG.rawValue
        if configuration.tls != nil {
            flags |= MHD_USE_TLS.rawValue
        }
        if address.isIPv6 {
            flags |= MHD_USE_IPv6.rawValue
        }

        do {
            let daemon = try address.withSocketAddress { socketAddress throws(HTTPServerError) in
                let options = options(
                    configuration, connectionLimit: connectionLimit, context: context, address: socketAddress)
                return try options.withUnsafeBufferPointer { options throws(HTTPServerError) in
                    try CheckedCall.run(
                        {
                            CMicroHTTPD_start(
                                UInt32(flags), configuration.port, microHTTPAccessHandler,
                                retainedContext.toOpaque(), options.baseAddress)
                        },
                        // libmicrohttpd logs the reason (with the errno text) before failing.
                        orThrow: { errnoText in .startFailed(context.latestDaemonMessage ?? errnoText) }
                    )
                }
            }
            let sweeper = DeadlineSweeper(daemon: context)
            sweeper.start()
            return RunningDaemon(daemon: daemon, context: retainedContext, sweeper: sweeper)
        } catch {
            context.handlers?.stop()
            retainedContext.release()
            throw error
        }
    }

    /// Descriptors kept apart from connections: database connections, the listener, files.
    static let reservedDescriptors = 512

    /// Parked long polls keep their sockets open, so thousands of connections are normal: the
    /// soft descriptor limit (often 1024) is raised to what `limit` connections need, up to the
    /// hard limit. When even that is too low, the connection limit is lowered to fit, and said.
    private static func fittedConnectionLimit(_ limit: Int, logger: Logger) -> Int {
        let needed = limit + reservedDescriptors
        do {
            var files = rlimit()
            try CheckedCall.run(
                { getrlimit(Int32(RLIMIT_NOFILE.rawValue), &files) == 0 ? () : nil },
                orThrow: { .callFailed(operation: "getrlimit(RLIMIT_NOFILE)", reason: $0) })
            if files.rlim_cur < rlim_t(needed) {
                files.rlim_cur = min(rlim_t(needed), files.rlim_max)
                try CheckedCall.run(
                    { setrlimit(Int32(RLIMIT_NOFILE.rawValue), &files) == 0 ? () : nil },
                    orThrow: { .callFailed(operation: "setrlimit(RLIMIT_NOFILE)", reason: $0) })
            }
            guard files.rlim_cur < rlim_t(needed) else { return limit }
            let fitted = max(Int(files.rlim_cur) - reservedDescriptors, 16)
            logger.warning(
                "the open file limit caps the connection limit",
                metadata: [
                    "connections.asked": "\(limit)", "connections.limit": "\(fitted)",
                    "open_files.hard_limit": "\(files.rlim_max)",
                ])
            return fitted
        } catch {
            logger.warning("could not raise the open file limit", metadata: ["error": "\(error)"])
            return limit
        }
    }

    private static func validate(_ configuration: HTTPServerConfiguration) throws(HTTPServerError) {
        guard (1...1024).contains(configuration.threadPoolSize) else {
            throw .invalidConfiguration("threadPoolSize must be between 1 and 1024")
        }
        guard (0...1024).contains(configuration.handlerThreads) else {
            throw .invalidConfiguration("handlerThreads must be between 0 and 1024")
        }
        guard configuration.maxBodyBytes >= 0 else {
            throw .invalidConfiguration("maxBodyBytes must not be negative")
        }
        guard configuration.connectionLimit >= 1 else {
            throw .invalidConfiguration("connectionLimit must be at least 1")
        }
        // Below this even an ordinary request head does not fit.
        guard configuration.connectionMemoryLimitBytes >= 4096 else {
            throw .invalidConfiguration("connectionMemoryLimitBytes must be at least 4096")
        }
    }

    /// Each request (head and body) is due within the idle allowance plus the request
    /// allowance; the idle part lets a keep-alive connection wait before its next request.
    private static func connections(_ configuration: HTTPServerConfiguration, limit: Int) -> ConnectionRegistry {
        let request = Int64(configuration.connectionTimeoutSeconds) + Int64(configuration.requestTimeoutSeconds)
        return ConnectionRegistry(
            limits: ConnectionRegistry.Limits(
                total: limit,
                perAddress: configuration.perAddressConnectionLimit > 0 ? Int(configuration.perAddressConnectionLimit) : nil),
            allowances: ConnectionRegistry.Allowances(
                request: configuration.requestTimeoutSeconds > 0 ? .seconds(request) : nil,
                firstHead: configuration.firstRequestHeadTimeoutSeconds > 0
                    ? .seconds(Int64(configuration.firstRequestHeadTimeoutSeconds)) : nil),
            answersRefusals: configuration.tls == nil)
    }

    /// The option array for `CMicroHTTPD_start`. libmicrohttpd reads `address` while starting
    /// only, so it need not outlive the call.
    private static func options(
        _ configuration: HTTPServerConfiguration,
        connectionLimit: Int,
        context daemon: DaemonContext,
        address: UnsafePointer<sockaddr>
    ) -> [MHD_OptionItem] {
        // Unretained: the caller holds a retained reference for as long as the daemon runs.
        let context = Unmanaged.passUnretained(daemon).toOpaque()
        var options = [
            // First, so that problems with the options that follow are logged through it.
            MHD_OptionItem(
                option: .EXTERNAL_LOGGER,
                value: unsafeBitCast(microHTTPDaemonLog as MHD_LogCallback, to: Int.self),
                ptr_value: context),
            MHD_OptionItem(
                option: .NOTIFY_COMPLETED,
                value: unsafeBitCast(microHTTPRequestCompleted as MHD_RequestCompletedCallback, to: Int.self),
                ptr_value: context),
            MHD_OptionItem(option: .THREAD_POOL_SIZE, value: configuration.threadPoolSize, ptr_value: nil),
            MHD_OptionItem(option: .CONNECTION_TIMEOUT, value: Int(configuration.connectionTimeoutSeconds), ptr_value: nil),
            // libmicrohttpd splits its limit between its threads and, at it, stops accepting
            // (clients wait in the backlog). Twice ours keeps every thread's share above ours:
            // the registry enforces the limit, and answers those past it at once.
            MHD_OptionItem(option: .CONNECTION_LIMIT, value: connectionLimit * 2, ptr_value: nil),
            MHD_OptionItem(
                option: .NOTIFY_CONNECTION,
                value: unsafeBitCast(microHTTPConnectionNotified as MHD_NotifyConnectionCallback, to: Int.self),
                ptr_value: context),
            MHD_OptionItem(option: .CONNECTION_MEMORY_LIMIT, value: configuration.connectionMemoryLimitBytes, ptr_value: nil),
            MHD_OptionItem(option: .SOCK_ADDR, value: 0, ptr_value: UnsafeMutableRawPointer(mutating: address)),
        ]
        if let tls = daemon.tlsMaterial {
            // libmicrohttpd hands these to GnuTLS while starting; they live as long as the context.
            options.append(MHD_OptionItem(option: .HTTPS_MEM_CERT, value: 0, ptr_value: UnsafeMutableRawPointer(tls.certificateChain.pointer)))
            options.append(MHD_OptionItem(option: .HTTPS_MEM_KEY, value: 0, ptr_value: UnsafeMutableRawPointer(tls.privateKey.pointer)))
        }
        options.append(MHD_OptionItem(option: .END, value: 0, ptr_value: nil))
        return options
    }
}
