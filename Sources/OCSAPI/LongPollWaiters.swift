import Dispatch
import class Foundation.Thread
import Logging
import MicroHTTP
import Synchronization

/// The `next` / `next_batch` requests of this server process that wait for a task (`wait`).
///
/// A request that found nothing to claim parks here with its ``PendingResponse``; no thread is
/// held for it. ``wake(_:)`` (a notification said k tasks of type T became claimable) hands at
/// most k of the oldest waiters wanting T to the claim threads, which retry the claim; a
/// waiter that loses the race parks again with its remaining time. At its deadline a waiter
/// gets its empty answer. ``wakeAll()`` is for "something may have changed" (a reconnected
/// listener, an unspecified notification).
///
/// Claims block on the database, so they run on a few dedicated threads: never on
/// libmicrohttpd's worker threads (which must stay free for other requests) nor on Swift's
/// cooperative pool. Another server process's waiters are its own business: each process
/// listens for the same notifications and wakes its own.
public final class LongPollWaiters: Sendable {
    /// One parked request.
    struct Waiter: Sendable, ParkableWaiter {
        /// Increasing: a lower id parked earlier, and keeps its place when it parks again.
        let id: UInt64
        let types: Set<String>
        let deadline: ContinuousClock.Instant
        let pending: PendingResponse
        /// Claims once: the response when something was claimed (or the claim failed), nil
        /// when there was nothing.
        let attempt: @Sendable () -> HTTPResponse?
        /// The answer when the wait ends with nothing claimed.
        let emptyResponse: HTTPResponse
    }

    private struct State {
        var parked = ParkedWaiters<Waiter>()
        /// Woken waiters for the claim threads, in order.
        var claimQueue: [Waiter] = []
        /// Waiters taken off the queue whose claim is running.
        var claiming = 0
        var nextID: UInt64 = 0
        /// Counts wakeups, so a claim can tell whether one came while it ran.
        var wakeups: UInt64 = 0
        var closed = false
        var threadsRunning = 0
        /// Whether this process's listener is connected: only then does every change that
        /// makes a task claimable reach ``wake(_:)``, so that "known empty" can be trusted.
        var listening = false
        /// Bumped when every type may have changed (``wakeAll()``, the listener (dis)connecting).
        var allTypesGeneration: UInt64 = 0
        /// Bumped per type by ``wake(_:)``.
        var typeGenerations: [String: UInt64] = [:]
        /// Types a claim found nothing of, with the generations it saw.
        var knownEmpty: [String: EmptinessToken] = [:]

        func token(_ type: String) -> EmptinessToken {
            EmptinessToken(allTypes: allTypesGeneration, type: typeGenerations[type, default: 0])
        }
    }

    /// What a claim saw of one type's wakeups; read before the claim, recorded after it if it
    /// found nothing (``recordEmpty(types:seen:)``).
    public struct EmptinessToken: Sendable, Equatable {
        let allTypes: UInt64
        let type: UInt64
    }

    private let state = Mutex(State())
    private let claimWork = DispatchSemaphore(value: 0)
    private let timerWakeUp = DispatchSemaphore(value: 0)
    private let threadExited = DispatchSemaphore(value: 0)
    private let logger: Logger

    /// Starts `claimThreads` claim threads and the deadline thread.
    public init(claimThreads: Int = 2, logger: Logger) {
        self.logger = logger
        state.withLock { $0.threadsRunning = claimThreads + 1 }
        for index in 0..<claimThreads {
            let thread = Thread { [self] in runClaims() }
            thread.name = "long-poll-claims-\(index)"
            thread.start()
        }
        let timer = Thread { [self] in runDeadlines() }
        timer.name = "long-poll-deadlines"
        timer.start()
    }

    /// The wakeup count now: read before a claim, passed to ``park(types:deadline:seenWakeups:pending:emptyResponse:attempt:)``.
    public var wakeups: UInt64 { state.withLock { $0.wakeups } }

    /// Requests waiting (parked, or woken and claiming).
    public var waitingCount: Int {
        state.withLock { $0.parked.count + $0.claimQueue.count + $0.claiming }
    }

    /// The generations of `types` now: read before a claim, passed to ``recordEmpty(types:seen:)``.
    public func emptinessTokens(types: [String]) -> [String: EmptinessToken] {
        state.withLock { state in Dictionary(uniqueKeysWithValues: Set(types).map { ($0, state.token($0)) }) }
    }

    /// A claim found nothing of `types`: remember it for each type with no wakeup since
    /// `seen`, so that new long polls on those types park without a claim of their own (an
    /// idle fleet then costs the database nothing per request).
    public func recordEmpty(types: [String], seen: [String: EmptinessToken]) {
        state.withLock { state in
            for type in types where seen[type] == state.token(type) {
                state.knownEmpty[type] = state.token(type)
            }
        }
    }

    /// Whether a claim of `types` is known to find nothing: each was found empty with no
    /// wakeup since, while the listener was connected.
    public func isKnownEmpty(types: [String]) -> Bool {
        state.withLock { state in
            state.listening && !types.isEmpty && types.allSatisfy { type in state.knownEmpty[type].map { $0 == state.token(type) } ?? false }
        }
    }

    /// The listener connected (after checking for what it may have missed) or lost its
    /// connection: what was known empty is forgotten either way.
    public func setListening(_ listening: Bool) {
        state.withLock { state in
            state.listening = listening
            state.allTypesGeneration += 1
            state.knownEmpty = [:]
        }
    }

    /// The task types parked requests wait for, for the backstop check.
    public var waitedTypes: [String] {
        state.withLock { $0.parked.wantedTypes }
    }

    /// Parks a request whose claim found nothing, until ``wake(_:)`` or its deadline. If a
    /// wakeup came since `seenWakeups` (read before that claim), the claim is retried at once
    /// instead: the task it announced may have been committed just after the claim looked.
    public func park(
        types: [String], deadline: ContinuousClock.Instant, seenWakeups: UInt64, pending: PendingResponse,
        emptyResponse: HTTPResponse, attempt: @escaping @Sendable () -> HTTPResponse?
    ) {
        let waiter = state.withLock { state -> Waiter? in
            guard !state.closed else { return nil }
            state.nextID += 1
            return Waiter(
                id: state.nextID, types: Set(types), deadline: deadline, pending: pending, attempt: attempt,
                emptyResponse: emptyResponse)
        }
        guard let waiter else {
            pending.complete(with: emptyResponse)
            return
        }
        pending.onCancel { [weak self] in self?.forget(waiter.id) }
        requeue(waiter, seenWakeups: seenWakeups)
    }

    /// Tasks became claimable, `counts[type]` of each: wakes at most that many of the oldest
    /// waiters wanting each type. Returns how many were woken.
    @discardableResult
    public func wake(_ counts: [String: Int]) -> Int {
        let woken = state.withLock { state -> Int in
            state.wakeups += 1
            var woken: [Waiter] = []
            for (type, count) in counts where count > 0 {
                state.typeGenerations[type, default: 0] += 1
                woken += state.parked.takeOldest(wanting: type, count: count)
            }
            state.claimQueue.append(contentsOf: woken.sorted { $0.id < $1.id })
            return woken.count
        }
        for _ in 0..<woken { claimWork.signal() }
        return woken
    }

    /// Something may have become claimable, no one knows what: every waiter checks.
    @discardableResult
    public func wakeAll() -> Int {
        let woken = state.withLock { state -> Int in
            state.wakeups += 1
            state.allTypesGeneration += 1
            let woken = state.parked.takeAll()
            state.claimQueue.append(contentsOf: woken)
            return woken.count
        }
        for _ in 0..<woken { claimWork.signal() }
        return woken
    }

    /// Shutdown: answers every waiting request with its empty answer (claims already running
    /// finish first), refuses to park new ones, and ends the threads. Later calls do nothing.
    public func close() {
        let closing = state.withLock { state -> (waiters: [Waiter], threads: Int)? in
            guard !state.closed else { return nil }
            state.closed = true
            defer { state.claimQueue = [] }
            return (state.parked.takeAll() + state.claimQueue, state.threadsRunning)
        }
        // Closed already: a second call returns at once.
        guard let (waiters, threads) = closing else { return }
        for waiter in waiters {
            waiter.pending.complete(with: waiter.emptyResponse)
        }
        for _ in 0..<threads { claimWork.signal() }
        timerWakeUp.signal()
        for _ in 0..<threads { threadExited.wait() }
    }

    /// Parks `waiter` again, unless it has run out of time (empty answer) or a wakeup came
    /// since `seenWakeups` (claim again).
    /// `afterClaim`: the waiter comes from a claim thread, which stops counting it here.
    private func requeue(_ waiter: Waiter, seenWakeups: UInt64, afterClaim: Bool = false) {
        enum Next { case parked, claimAgain, expired, closed, gone }
        let next = state.withLock { state -> Next in
            if afterClaim { state.claiming -= 1 }
            if state.closed { return .closed }
            // Answered already (its client went away): nothing left to do.
            if waiter.pending.isCompleted { return .gone }
            if ContinuousClock.now >= waiter.deadline { return .expired }
            if state.wakeups != seenWakeups {
                state.claimQueue.append(waiter)
                return .claimAgain
            }
            state.parked.insert(waiter)
            return .parked
        }
        switch next {
        case .parked: timerWakeUp.signal()
        case .claimAgain: claimWork.signal()
        case .expired, .closed: waiter.pending.complete(with: waiter.emptyResponse)
        case .gone: break
        }
    }

    /// The client went away: forget its waiter (if it is being claimed for, the claim's
    /// completion is ignored and a claimed task returns through its lease).
    private func forget(_ id: UInt64) {
        _ = state.withLock { $0.parked.remove(id) }
    }

    private func runClaims() {
        defer { exited() }
        while true {
            claimWork.wait()
            let next = state.withLock { state -> (Waiter, UInt64)? in
                guard !state.closed, !state.claimQueue.isEmpty else { return nil }
                state.claiming += 1
                return (state.claimQueue.removeFirst(), state.wakeups)
            }
            guard let (waiter, seenWakeups) = next else {
                if state.withLock({ $0.closed }) { return }
                continue
            }
            let response = waiter.pending.isCompleted ? nil : waiter.attempt()
            guard let response else {
                requeue(waiter, seenWakeups: seenWakeups, afterClaim: true)
                continue
            }
            // Counted out before the answer goes, so the count never includes answered requests.
            state.withLock { $0.claiming -= 1 }
            if !waiter.pending.complete(with: response) {
                logger.notice("claimed for a request whose client has gone; the lease returns the task")
            }
        }
    }

    /// Answers waiters at their deadlines; sleeps until the earliest one (at most a second).
    private func runDeadlines() {
        defer { exited() }
        while true {
            let now = ContinuousClock.now
            let (expired, earliest, closed) = state.withLock { state -> ([Waiter], ContinuousClock.Instant?, Bool) in
                let expired = state.parked.takeExpired(at: now)
                return (expired, state.parked.earliestDeadline(), state.closed)
            }
            if closed { return }
            for waiter in expired {
                waiter.pending.complete(with: waiter.emptyResponse)
            }
            let sleep = min(earliest.map { now.duration(to: $0) } ?? .seconds(1), .seconds(1))
            let nanoseconds = max(Int(sleep.components.seconds) * 1_000_000_000 + Int(sleep.components.attoseconds / 1_000_000_000), 1_000_000)
            _ = timerWakeUp.wait(timeout: .now() + .nanoseconds(nanoseconds))
        }
    }

    private func exited() {
        threadExited.signal()
    }
}
