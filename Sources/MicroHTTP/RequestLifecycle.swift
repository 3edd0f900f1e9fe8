import CMicroHTTPD
import Logging

/// A suspended connection, to be resumed from whichever thread completes its response;
/// libmicrohttpd allows `MHD_resume_connection` from any thread.
struct ConnectionHandle: @unchecked Sendable {
    let connection: OpaquePointer
    init(_ connection: OpaquePointer) { self.connection = connection }
}

/// The three moments of a request as libmicrohttpd reports them, on its worker threads.
extension DaemonContext {
    /// The head has arrived: decide from it alone whether the request is refused, so that an
    /// oversized body is answered before it is read.
    func begin(connection: OpaquePointer, url: UnsafePointer<CChar>?, method: UnsafePointer<CChar>?)
        -> RequestContext
    {
        let (head, encodingProblem) = RequestHeadReader.read(connection: connection, url: url, method: method)
        var rejection: HTTPRejection?
        var bodyLimit = maxBodyBytes
        if let encodingProblem {
            rejection = .invalidEncoding(encodingProblem)
        } else {
            bodyLimit = handler.maxBodyBytes(for: head) ?? maxBodyBytes
            if let declared = head.declaredContentLength, declared > bodyLimit {
                rejection = .bodyTooLarge(limit: bodyLimit)
            }
        }
        requestsInFlight.add(1, ordering: .relaxed)
        connections.requestArrived(on: connection, id: head.id)
        return RequestContext(head: head, bodyLimit: bodyLimit, rejection: rejection)
    }

    /// The body is complete (or the request was refused before it): ask the application for
    /// the response and queue it. Returns whether the connection may stay open.
    func answer(_ request: RequestContext, on connection: OpaquePointer) -> Bool {
        let response: HTTPResponse
        switch request.phase {
        case .answered:
            return true
        case .receiving:
            // The request has arrived in full: however long the handler takes is not the
            // client's doing, so the connection's deadline stops until the response is sent.
            connections.handlingStarted(on: connection)
            let complete = HTTPRequest(head: request.head, body: request.body)
            let result: HTTPHandlerResult
            if let handlers {
                // The handler runs on the pool while the connection is suspended.
                let pending = PendingResponse(computedByHandler: true)
                let handler = self.handler
                handlers.submit {
                    // A request cancelled while queued (its client left, the server stops) is not run.
                    guard !pending.isCompleted else { return }
                    pending.complete(with: handler.respond(to: complete))
                }
                result = .deferred(pending)
            } else {
                result = handler.respond(to: complete)
            }
            switch result {
            case .response(let given):
                response = given
            case .deferred(let pending):
                if park(request, until: pending, on: connection) { return true }
                response = pending.takeResponse() ?? HTTPResponse(status: 500)
            }
        case .parked(let pending):
            // The call libmicrohttpd makes after `MHD_resume_connection`: the only moment the
            // deferred response may be queued.
            response = pending.takeResponse() ?? HTTPResponse(status: 500)
        case .refusing(let rejection):
            connections.handlingStarted(on: connection)
            response = handler.reject(request.head, reason: rejection)
        }
        do {
            try ResponseQueue.queue(response, requestID: request.head.requestID, on: connection)
            request.markAnswered(status: response.status)
        } catch {
            logger.error("could not send the response, answering 500", metadata: metadata(of: request.head, error))
            guard (try? ResponseQueue.queue(HTTPResponse(status: 500), requestID: request.head.requestID, on: connection)) != nil
            else {
                return false
            }
            request.markAnswered(status: 500)
        }
        logAnswered(request)
        if case .answered(let status) = request.phase {
            handler.requestAnswered(request.head, status: status, seconds: request.age)
        }
        return true
    }

    /// Suspends the connection until `pending` is completed; false when it already is, so the
    /// response can be queued at once.
    private func park(_ request: RequestContext, until pending: PendingResponse, on connection: OpaquePointer) -> Bool {
        let socket = CMicroHTTPD_connectionSocket(connection)
        let parked = self.parked
        let handle = ConnectionHandle(connection)
        let suspended = pending.park(
            suspend: {
                MHD_suspend_connection(connection)
                // Registered even without a socket to watch (poll skips -1): stopping must
                // resume every suspended connection.
                parked.add(connection, socket: socket == MHD_INVALID_SOCKET ? -1 : socket, pending: pending)
            },
            resume: {
                parked.remove(handle.connection)
                MHD_resume_connection(handle.connection)
            })
        if suspended {
            request.markParked(pending)
            // Parked after the server began stopping, so missed by its sweep of parked requests:
            // answered at once, since the daemon must not stop with a suspended connection.
            if stopping.load(ordering: .sequentiallyConsistent) {
                pending.cancel(answering: ParkedConnections.lostConnectionResponse)
            }
        }
        return suspended
    }

    /// libmicrohttpd is done with the request, whether answered, timed out or torn down.
    func complete(_ request: RequestContext, termination: MHD_RequestTerminationCode) {
        requestsInFlight.subtract(1, ordering: .relaxed)
        if case .answered = request.phase { return }
        logger.debug("request ended without an answer", metadata: [
            "request.id": "\(request.head.requestID)",
            "termination": "\(termination.rawValue)",
        ])
    }

    /// Method and path only: header values carry credentials and bodies carry user data.
    private func logAnswered(_ request: RequestContext) {
        guard logger.logLevel <= .trace, case .answered(let status) = request.phase else { return }
        var metadata = metadata(of: request.head, nil)
        metadata["response.status"] = "\(status)"
        metadata["duration"] = "\((request.age * 1_000_000).rounded() / 1_000_000)"
        logger.trace("request", metadata: metadata)
    }

    private func metadata(of head: HTTPRequestHead, _ error: HTTPServerError?) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "request.id": "\(head.requestID)",
            "request.method": "\(head.method)",
            "request.path": "\(head.path)",
        ]
        if let error { metadata["error"] = "\(error)" }
        return metadata
    }
}
