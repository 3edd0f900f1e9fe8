import BackgroundThreads
import Dispatch
import Logging
import MicroHTTP
import Synchronization
import TaskQueue

/// The long-poll path, in one place: `next` / `next_batch` requests with `wait` claim once,
/// and if nothing was ready they park here with their ``PendingResponse`` (no thread is held
/// for them) until a notice wakes them or their wait ends.
///
/// Every decision (whom a notice wakes, when a claim may be skipped, when to claim again) is
/// the ``ReadinessStateMachine``'s, made under one lock; this class runs what it decides.
/// Claims block on the database, so woken waiters claim on a few dedicated threads: never on
/// libmicrohttpd's worker threads (which must stay free for other requests) nor on Swift's
/// cooperative pool. Another server process's waiters are its own business: each process
/// listens for the same notifications and wakes its own.
public final class LongPollWaiters: Sendable {
    /// One parked request: how to claim for it, and how to answer it.
    struct Waiter: Sendable {
        let pending: PendingResponse
        /// Claims once: the answer and the claimed tasks' types, or nil when nothing was ready.
        /// A failed claim answers with its error (and counts as claimed: the request is done).
        let claim: @Sendable () -> Claimed?
        /// The answer when the wait ends with nothing claimed.
        let emptyResponse: HTTPResponse
        /// The ExApp waiting.
        let appID: String?
    }

    /// What a claim took: the response to send and how many tasks of each type it holds.
    public struct Claimed: Sendable {
        let response: HTTPResponse
        let countsByType: [String: Int]

        public init(response: HTTPResponse, countsByType: [String: Int]) {
            self.response = response
            self.countsByType = countsByType
        }
    }

    typealias Machine = ReadinessStateMachine<Waiter>

    private struct State {
        var machine = Machine()
        /// Claims the machine asked for, in order, for the claim threads.
        var queue: [Machine.Claim] = []
    }

    private let state = Mutex(State())
    /// Counts queued claims (and, at shutdown, one stop signal per claim thread).
    private let claimWork = DispatchSemaphore(value: 0)
    private let claimThreads: [BackgroundThread]
    private let deadlineThread = BackgroundThread(name: "long-poll-deadlines")
    private let logger: Logger

    /// A waiting room with `claimThreads` claim threads and a deadline thread; none runs
    /// until ``start()``.
    public init(claimThreads: Int = 2, logger: Logger) {
        self.logger = logger
        self.claimThreads = (0..<max(claimThreads, 1)).map { BackgroundThread(name: "long-poll-claims-\($0)") }
    }

    /// Starts the claim threads and the deadline thread; later calls do nothing.
    public func start() {
        for thread in claimThreads {
            thread.start { [self] in runClaims() }
        }
        deadlineThread.start { [self] in runDeadlines() }
    }

    /// Requests waiting (parked, or woken and claiming).
    public var waitingCount: Int { state.withLock { $0.machine.waitingCount } }

    /// Waiting requests per ExApp.
    public var waitingByApp: [String: Int] {
        state.withLock { state in
            state.machine.waiters.reduce(into: [:]) { counts, waiter in
                if let appID = waiter.appID { counts[appID, default: 0] += 1 }
            }
        }
    }

    /// Whether a long poll of the ExApp `appID` waits here for tasks of `type` (parked, or
    /// woken and claiming): such a poll takes new work without a trigger call.
    public func isWaiting(appID: String, forType type: String) -> Bool {
        state.withLock { $0.machine.waiters(wanting: type).contains { $0.appID == appID } }
    }

    /// Whether the ready-task listener is connected (notices reach the waiters at once).
    public var isListening: Bool { state.withLock { $0.machine.listening } }

    /// The task types parked requests wait for, for the backstop check.
    public var waitedTypes: [String] { state.withLock { $0.machine.waitedTypes } }

    /// A long poll on `types`: claims at once (unless the types are known empty and it may
    /// wait), then parks for up to `waitSeconds`. `claim` runs on the calling thread first, on
    /// a claim thread after a wakeup.
    func poll(
        types: [String], waitSeconds: Int, emptyResponse: HTTPResponse, appID: String? = nil,
        claim: @escaping @Sendable () -> Claimed?
    ) -> HTTPHandlerResult {
        let typeSet = Set(types)
        let (knownEmpty, seen) = state.withLock { ($0.machine.isKnownEmpty(types: types), $0.machine.generations(of: typeSet)) }
        // An idle fleet costs the database nothing per request: known-empty types park at once.
        if !(knownEmpty && waitSeconds > 0) {
            if let claimed = claim() { return .response(claimed.response) }
            state.withLock { $0.machine.foundNothing(types: typeSet, seen: seen) }
        }
        guard waitSeconds > 0, !types.isEmpty else { return .response(emptyResponse) }
        let pending = PendingResponse()
        let waiter = Waiter(pending: pending, claim: claim, emptyResponse: emptyResponse, appID: appID)
        let (id, next) = state.withLock {
            $0.machine.park(waiter, types: typeSet, deadline: .now + .seconds(waitSeconds), seen: seen, now: .now)
        }
        pending.onCancel { [weak self] in self?.state.withLock { $0.machine.forget(id) } }
        carryOut(next)
        return .deferred(pending)
    }

    /// Tasks became claimable, `counts[type]` of each: wakes at most that many of the oldest
    /// waiters wanting each type. Returns how many were woken.
    @discardableResult
    public func wake(_ counts: [String: Int]) -> Int {
        enqueue(state.withLock { $0.machine.notice(counts) })
    }

    /// Something may have become claimable, no one knows what: every waiter checks.
    @discardableResult
    public func wakeAll() -> Int {
        enqueue(state.withLock { $0.machine.noticeAll() })
    }

    /// The listener connected (after checking for what it may have missed) or lost its
    /// connection: what was known empty is forgotten either way.
    public func setListening(_ listening: Bool) {
        state.withLock { $0.machine.setListening(listening) }
    }

    /// Shutdown: answers every waiting request with its empty answer (claims already running
    /// finish first), refuses to park new ones, and ends the threads. Later calls do nothing.
    public func close() {
        let waiters = state.withLock { state -> [Waiter]? in
            guard !state.machine.isClosed else { return nil }
            let queued = state.queue
            state.queue = []
            for claim in queued { state.machine.forget(claim.id) }
            return state.machine.close() + queued.map(\.waiter)
        }
        // Closed already: a second call returns at once.
        guard let waiters else { return }
        for waiter in waiters {
            waiter.pending.complete(with: waiter.emptyResponse)
        }
        for _ in claimThreads { claimWork.signal() }
        for thread in claimThreads { thread.stop() }
        deadlineThread.stop()
    }

    /// Does what the machine decided for a waiter that found nothing.
    private func carryOut(_ next: Machine.Next?) {
        switch next {
        case .parked: deadlineThread.wakeUp()
        case .claim(let claim): enqueue([claim])
        case .answerEmpty(let waiter): waiter.pending.complete(with: waiter.emptyResponse)
        case nil: break
        }
    }

    @discardableResult
    private func enqueue(_ claims: [Machine.Claim]) -> Int {
        guard !claims.isEmpty else { return 0 }
        state.withLock { $0.queue.append(contentsOf: claims) }
        for _ in claims { claimWork.signal() }
        return claims.count
    }

    private func runClaims() {
        while true {
            claimWork.wait()
            let next = state.withLock { state -> Machine.Claim? in
                guard !state.machine.isClosed, !state.queue.isEmpty else { return nil }
                return state.queue.removeFirst()
            }
            guard let next else {
                if state.withLock({ $0.machine.isClosed }) { return }
                continue
            }
            let waiter = next.waiter
            // Its client went away: nothing to claim for.
            if waiter.pending.isCompleted {
                state.withLock { $0.machine.forget(next.id) }
                continue
            }
            let claimed = waiter.claim()
            let result = state.withLock { state -> Machine.ClaimResult? in
                // A failed claim answers with its error: the request is done, nothing to settle.
                if let claimed, claimed.countsByType.isEmpty {
                    state.machine.forget(next.id)
                    return nil
                }
                return state.machine.claimFinished(next.id, claimed: claimed?.countsByType ?? [:], now: .now)
            }
            if let claimed, !waiter.pending.complete(with: claimed.response) {
                logger.notice("claimed for a request whose client has gone; the lease returns the task")
            }
            carryOut(result?.next)
            enqueue(result?.passedOn ?? [])
        }
    }

    /// Answers waiters at their deadlines; sleeps until the earliest one (at most a second).
    private func runDeadlines() {
        while true {
            let now = ContinuousClock.now
            let (expired, earliest) = state.withLock { state in (state.machine.expire(now: now), state.machine.earliestDeadline()) }
            for waiter in expired {
                waiter.pending.complete(with: waiter.emptyResponse)
            }
            let sleep = max(min(earliest.map { now.duration(to: $0) } ?? .seconds(1), .seconds(1)), .milliseconds(1))
            guard deadlineThread.sleep(for: sleep) else { return }
        }
    }
}
