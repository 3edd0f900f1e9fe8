import Synchronization

/// A response the handler gives later, from any thread: the answer to a long poll.
///
/// The handler returns it as ``HTTPHandlerResult/deferred(_:)``; the server parks the
/// connection (`MHD_suspend_connection`, so no worker thread waits) until ``complete(with:)``
/// is called, then sends the response. Only the first completion counts.
///
/// A parked connection is lost when its client hangs up or the server stops: the server then
/// calls the ``onCancel(_:)`` handler (so the application can forget the waiter) and completes
/// the response itself; the application's later completion is ignored.
public final class PendingResponse: Sendable {
    private enum State {
        /// Not answered yet; `resume` is set once the connection is parked.
        case open(resume: (@Sendable () -> Void)?)
        /// Answered; the response is taken once by the access handler call after the resume.
        case completed(HTTPResponse?)
    }

    private let state = Mutex<State>(.open(resume: nil))
    private let cancellation = Mutex<(handler: (@Sendable () -> Void)?, cancelled: Bool)>((nil, false))

    /// True while a handler in the server's handler pool computes this response: a request in
    /// flight, which stopping lets finish, unlike a parked long poll.
    private let computing: Atomic<Bool>

    /// Creates an open response.
    public init() {
        computing = Atomic(false)
    }

    /// A response a handler pool thread is about to compute.
    init(computedByHandler: Bool) {
        computing = Atomic(computedByHandler)
    }

    /// Whether a handler is still computing the response (see ``init(computedByHandler:)``).
    var isComputing: Bool { computing.load(ordering: .acquiring) }

    /// Answers the request with `response`. Returns false, and does nothing, if it was answered
    /// already (by an earlier completion or by the server after a hang-up).
    @discardableResult
    public func complete(with response: HTTPResponse) -> Bool {
        let resume = state.withLock { state -> (@Sendable () -> Void)?? in
            guard case .open(let resume) = state else { return .none }
            state = .completed(response)
            return .some(resume)
        }
        guard let resume else { return false }
        // Outside the lock: resuming takes libmicrohttpd's own lock.
        resume?()
        return true
    }

    /// Answers with what a handler returned: a response at once; a pending response when that
    /// one is answered. Losing this connection cancels the handler's pending response, so the
    /// application hears of it.
    func complete(with result: HTTPHandlerResult) {
        computing.store(false, ordering: .releasing)
        switch result {
        case .response(let response):
            complete(with: response)
        case .deferred(let inner):
            onCancel { inner.cancel(answering: ParkedConnections.lostConnectionResponse) }
            let forwarded = inner.park(suspend: {}, resume: { [self] in
                if let response = inner.takeResponse() { complete(with: response) }
            })
            if !forwarded {
                complete(with: inner.takeResponse() ?? HTTPResponse(status: 500))
            }
        }
    }

    /// Whether the response has been given.
    public var isCompleted: Bool {
        state.withLock { if case .completed = $0 { true } else { false } }
    }

    /// Sets what to run if the connection is lost before the response is given; runs it at
    /// once if that has happened already. Called at most once.
    public func onCancel(_ handler: @escaping @Sendable () -> Void) {
        let runNow = cancellation.withLock { cancellation -> Bool in
            if cancellation.cancelled { return true }
            cancellation.handler = handler
            return false
        }
        if runNow { handler() }
    }

    /// The connection is lost: tell the application, then complete with `response` so that the
    /// connection resumes and libmicrohttpd closes it.
    func cancel(answering response: HTTPResponse) {
        let handler = cancellation.withLock { cancellation -> (@Sendable () -> Void)? in
            guard !cancellation.cancelled else { return nil }
            cancellation.cancelled = true
            defer { cancellation.handler = nil }
            return cancellation.handler
        }
        handler?()
        complete(with: response)
    }

    /// Parks the connection unless the response is already there: `suspend` runs under the
    /// lock, so a completion on another thread cannot resume before the suspension. Returns
    /// false (and does not call `suspend`) when the response can be sent at once.
    func park(suspend: () -> Void, resume: @escaping @Sendable () -> Void) -> Bool {
        state.withLock { state in
            guard case .open = state else { return false }
            suspend()
            state = .open(resume: resume)
            return true
        }
    }

    /// The response, once, for the access handler call that follows the resume.
    func takeResponse() -> HTTPResponse? {
        state.withLock { state in
            guard case .completed(let response) = state else { return nil }
            state = .completed(nil)
            return response
        }
    }
}
