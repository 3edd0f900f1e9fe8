/// Which parked long polls to wake, and when a claim may be skipped: the bookkeeping of the
/// long-poll path as a state machine with no threads, no I/O and no clock of its own (the
/// caller passes `now`). The driver (`LongPollWaiters` in the OCS layer) runs the claims it
/// asks for and reports back; every decision is made here, under the driver's one lock.
///
/// - A notice "k tasks of type T became claimable" wakes at most k of the oldest waiters
///   parked for T. Each woken waiter owes T: if its claim takes tasks of its other types
///   instead, the debt passes to the next waiter parked for T (bounded by what it took, so a
///   claim that lost a race to another process starts no chain).
/// - Generations: a counter per type, bumped by each notice for it, and one for all types
///   (wake-all, the listener (dis)connecting). A claim reads them before it runs; if one of
///   its types moved meanwhile, its empty result proves nothing and it claims again.
/// - Emptiness: a type a claim found empty, with no notice since, is known empty while the
///   listener is connected, so a long poll on known-empty types parks without a claim.
public struct ReadinessStateMachine<Waiter: Sendable>: Sendable {
    /// The generations a claim saw before it ran.
    public struct Generations: Sendable, Equatable {
        var all: UInt64
        var byType: [String: UInt64]
    }

    /// Run a claim for this waiter, then report it with ``claimFinished(_:claimed:now:)``.
    public struct Claim: Sendable {
        public let id: UInt64
        public let waiter: Waiter
    }

    /// What becomes of a waiter whose claim found nothing, or that asks to park.
    public enum Next: Sendable {
        /// Parked until a notice or its deadline.
        case parked
        /// A notice came since its claim looked: claim again.
        case claim(Claim)
        /// Its deadline has passed, or the machine is closed: answer it empty.
        case answerEmpty(Waiter)
    }

    /// What a finished claim leads to.
    public struct ClaimResult: Sendable {
        /// For a claim that found nothing: what becomes of its waiter. Nil when it claimed.
        public var next: Next?
        /// Other waiters to claim for: the debts the claim did not pay.
        public var passedOn: [Claim]
    }

    struct ParkedEntry: ParkableWaiter, Sendable {
        let id: UInt64
        let types: Set<String>
        let deadline: ContinuousClock.Instant
        let waiter: Waiter
    }

    struct ClaimingEntry: Sendable {
        let entry: ParkedEntry
        /// Types whose notice woke it, with how many tasks it owes them.
        var owed: [String: Int]
        /// The generations its claim read before it ran.
        let seen: Generations
    }

    private var parked = ParkedWaiters<ParkedEntry>()
    private var claiming: [UInt64: ClaimingEntry] = [:]
    private var nextID: UInt64 = 0
    private var allGeneration: UInt64 = 0
    private var typeGenerations: [String: UInt64] = [:]
    /// Types a claim found nothing of, with the generation pair it saw.
    private var knownEmpty: [String: Token] = [:]
    /// Whether the listener is connected, so that every notice reaches this machine.
    public private(set) var listening = false
    public private(set) var isClosed = false

    struct Token: Equatable, Sendable {
        let all: UInt64
        let type: UInt64
    }

    public init() {}

    // MARK: Reading

    /// Waiters parked or claiming.
    public var waitingCount: Int { parked.count + claiming.count }

    /// The waiters parked or claiming, in no order.
    public var waiters: [Waiter] { parked.all.map(\.waiter) + claiming.values.map(\.entry.waiter) }

    /// The types parked waiters want, for the backstop check.
    public var waitedTypes: [String] { parked.wantedTypes }

    /// The waiters parked for `type` or claiming for it.
    public func waiters(wanting type: String) -> [Waiter] {
        parked.waiters(wanting: type).map(\.waiter)
            + claiming.values.filter { $0.entry.types.contains(type) }.map(\.entry.waiter)
    }

    /// The earliest deadline of a parked waiter.
    public mutating func earliestDeadline() -> ContinuousClock.Instant? { parked.earliestDeadline() }

    /// The generations of `types` now: read before a claim runs.
    public func generations(of types: some Sequence<String>) -> Generations {
        Generations(all: allGeneration, byType: Dictionary(types.map { ($0, typeGenerations[$0, default: 0]) }) { first, _ in first })
    }

    /// Whether a claim of `types` is known to find nothing: each was found empty with no
    /// notice since, while the listener was connected.
    public func isKnownEmpty(types: [String]) -> Bool {
        listening && !types.isEmpty && types.allSatisfy { knownEmpty[$0] == token($0) }
    }

    // MARK: Claims and parking

    /// A claim of `types` that read `seen` before it ran found nothing: each type with no
    /// notice since becomes known empty.
    public mutating func foundNothing(types: some Sequence<String>, seen: Generations) {
        guard seen.all == allGeneration else { return }
        for type in types where seen.byType[type] == typeGenerations[type, default: 0] {
            knownEmpty[type] = token(type)
        }
    }

    /// Parks a new waiter for `types` whose first claim (or known emptiness) read `seen`.
    /// It claims again at once if a notice for its types came since.
    /// Returns the waiter's id (for ``forget(_:)``) and what became of it.
    public mutating func park(
        _ waiter: Waiter, types: Set<String>, deadline: ContinuousClock.Instant, seen: Generations,
        now: ContinuousClock.Instant
    ) -> (id: UInt64, next: Next) {
        nextID += 1
        return (nextID, settle(ParkedEntry(id: nextID, types: types, deadline: deadline, waiter: waiter), seen: seen, now: now))
    }

    /// A claim asked for by a ``Claim`` has ended. `claimed` counts the tasks it took by type
    /// (empty: it found nothing).
    public mutating func claimFinished(_ id: UInt64, claimed: [String: Int], now: ContinuousClock.Instant) -> ClaimResult {
        guard let finished = claiming.removeValue(forKey: id) else { return ClaimResult(next: nil, passedOn: []) }
        let total = claimed.values.reduce(0, +)
        guard total > 0 else {
            foundNothing(types: finished.entry.types, seen: finished.seen)
            return ClaimResult(next: settle(finished.entry, seen: finished.seen, now: now), passedOn: [])
        }
        // Tasks it took that paid no debt of its own: each may have been another type's
        // instead of a task it was woken for, which then waits for someone else.
        var spare = total - finished.owed.reduce(0) { $0 + min($1.value, claimed[$1.key, default: 0]) }
        var passedOn: [Claim] = []
        for (type, owed) in finished.owed.sorted(by: { $0.key < $1.key }) where spare > 0 {
            let unpaid = min(owed - min(owed, claimed[type, default: 0]), spare)
            guard unpaid > 0 else { continue }
            spare -= unpaid
            passedOn += wake(type, count: unpaid)
        }
        return ClaimResult(next: nil, passedOn: passedOn)
    }

    /// The waiter's client went away, or its claim will not run (shutdown): it is dropped,
    /// parked or claiming.
    public mutating func forget(_ id: UInt64) {
        parked.remove(id)
        claiming[id] = nil
    }

    /// Takes out the parked waiters whose deadline is at or before `now`, to answer empty.
    public mutating func expire(now: ContinuousClock.Instant) -> [Waiter] {
        parked.takeExpired(at: now).map(\.waiter)
    }

    // MARK: Notices

    /// Tasks became claimable, `counts[type]` of each: claims for at most that many of the
    /// oldest waiters parked for each type, and what was known empty of those types is forgotten.
    public mutating func notice(_ counts: [String: Int]) -> [Claim] {
        var claims: [Claim] = []
        // Sorted: the same notice wakes the same waiters whatever the dictionary's order.
        for (type, count) in counts.sorted(by: { $0.key < $1.key }) where count > 0 {
            typeGenerations[type, default: 0] += 1
            knownEmpty[type] = nil
            claims += wake(type, count: count)
        }
        return claims
    }

    /// Something may have become claimable, no one knows what: every parked waiter claims.
    public mutating func noticeAll() -> [Claim] {
        allGeneration += 1
        knownEmpty = [:]
        return parked.takeAll().map { startClaim($0, owed: [:]) }
    }

    /// The listener connected (after checking what it may have missed) or lost its
    /// connection: what was known empty is forgotten either way.
    public mutating func setListening(_ listening: Bool) {
        self.listening = listening
        allGeneration += 1
        knownEmpty = [:]
    }

    /// Shutdown: takes out every parked waiter to answer empty; waiters that park later are
    /// answered empty at once, and claims still running report back as usual.
    public mutating func close() -> [Waiter] {
        isClosed = true
        return parked.takeAll().map(\.waiter)
    }

    // MARK: Internals

    private func token(_ type: String) -> Token {
        Token(all: allGeneration, type: typeGenerations[type, default: 0])
    }

    private mutating func settle(_ entry: ParkedEntry, seen: Generations, now: ContinuousClock.Instant) -> Next {
        if isClosed || now >= entry.deadline { return .answerEmpty(entry.waiter) }
        if generations(of: entry.types) != seen { return .claim(startClaim(entry, owed: [:])) }
        parked.insert(entry)
        return .parked
    }

    private mutating func wake(_ type: String, count: Int) -> [Claim] {
        parked.takeOldest(wanting: type, count: count).map { startClaim($0, owed: [type: 1]) }
    }

    private mutating func startClaim(_ entry: ParkedEntry, owed: [String: Int]) -> Claim {
        let seen = generations(of: entry.types)
        claiming[entry.id] = ClaimingEntry(entry: entry, owed: owed, seen: seen)
        return Claim(id: entry.id, waiter: entry.waiter)
    }
}
