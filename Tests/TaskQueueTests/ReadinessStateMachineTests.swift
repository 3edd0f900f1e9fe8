import TaskQueue
import Testing

/// The long-poll bookkeeping without threads, I/O or a clock: every step is an input and the
/// machine's answer, as postgres-nio tests its connection pool's state machine.
@Suite("Readiness state machine")
struct ReadinessStateMachineTests {
    typealias Machine = ReadinessStateMachine<String>

    static let start = ContinuousClock.now
    static func at(_ seconds: Int) -> ContinuousClock.Instant { start + .seconds(seconds) }

    /// A machine with the listener connected and `waiters` parked in order, each (name, types),
    /// due in 60 s; returns the machine and the ids by name.
    static func parked(_ waiters: [(String, Set<String>)]) -> (Machine, [String: UInt64]) {
        var machine = Machine()
        machine.setListening(true)
        var ids: [String: UInt64] = [:]
        for (name, types) in waiters {
            let (id, next) = machine.park(name, types: types, deadline: at(60), seen: machine.generations(of: types), now: start)
            guard case .parked = next else { Issue.record("\(name) did not park: \(next)"); continue }
            ids[name] = id
        }
        return (machine, ids)
    }

    static func names(_ claims: [Machine.Claim]) -> [String] { claims.map(\.waiter) }

    struct WakeCase: CustomTestStringConvertible, Sendable {
        let parked: [(String, Set<String>)]
        let notice: [String: Int]
        let woken: [String]
        var testDescription: String { "\(notice) wakes \(woken)" }
    }

    @Test("the waiters of a type, parked or woken and claiming, are what the trigger sender asks about")
    func waitersWantingType() {
        var (machine, _) = Self.parked([("w1", ["a"]), ("w2", ["a", "b"]), ("w3", ["c"])])
        #expect(machine.waiters(wanting: "a") == ["w1", "w2"])
        #expect(machine.waiters(wanting: "b") == ["w2"])
        #expect(machine.waiters(wanting: "d").isEmpty)
        // Woken by a notice for c, w3 claims: still waiting for c until answered.
        #expect(Self.names(machine.notice(["c": 1])) == ["w3"])
        #expect(machine.waiters(wanting: "c") == ["w3"])
    }

    @Test(
        "a notice wakes at most k of the oldest waiters of each type, each once",
        arguments: [
            WakeCase(parked: [("w1", ["a"]), ("w2", ["a"]), ("w3", ["a"])], notice: ["a": 2], woken: ["w1", "w2"]),
            WakeCase(parked: [("w1", ["a"]), ("w2", ["b"])], notice: ["b": 5], woken: ["w2"]),
            WakeCase(parked: [("w1", ["a", "b"]), ("w2", ["b"])], notice: ["a": 1, "b": 1], woken: ["w1", "w2"]),
            WakeCase(parked: [("w1", ["a"])], notice: ["c": 3], woken: []),
            WakeCase(parked: [("w1", ["a"])], notice: ["a": 0], woken: []),
        ])
    func wakes(_ example: WakeCase) {
        var (machine, _) = Self.parked(example.parked)
        #expect(Self.names(machine.notice(example.notice)) == example.woken)
        #expect(machine.waitingCount == example.parked.count, "woken waiters still count until answered")
    }

    /// The first defect: a waiter for {A, B} woken for A that claims the B task instead must
    /// not leave an A-only waiter parked with an A task ready.
    @Test("a waiter woken for one type that claims another passes the wakeup on")
    func debtPassesOn() throws {
        var (machine, ids) = Self.parked([("both", ["a", "b"]), ("onlyA", ["a"])])
        let woken = machine.notice(["a": 1])
        #expect(Self.names(woken) == ["both"])
        let both = try #require(ids["both"])
        let result = machine.claimFinished(both, claimed: ["b": 1], now: Self.at(1))
        #expect(result.next == nil)
        #expect(Self.names(result.passedOn) == ["onlyA"], "the A task is still ready: the A-only waiter must claim it")
        // It claims the A task: nothing more to pass on.
        let onlyA = try #require(ids["onlyA"])
        let second = machine.claimFinished(onlyA, claimed: ["a": 1], now: Self.at(1))
        #expect(second.passedOn.isEmpty)
        #expect(machine.waitingCount == 0)
    }

    struct DebtCase: CustomTestStringConvertible, Sendable {
        let claimed: [String: Int]
        let passedOn: [String]
        var testDescription: String { "claimed \(claimed) passes on to \(passedOn)" }
    }

    @Test(
        "only tasks of other types pass a debt on, never more than they were",
        arguments: [
            DebtCase(claimed: ["a": 1], passedOn: []),  // paid its debt
            DebtCase(claimed: ["b": 1], passedOn: ["a1"]),  // took another type's task instead
            DebtCase(claimed: ["a": 1, "b": 3], passedOn: []),  // a batch that also took the A task
            DebtCase(claimed: ["b": 2], passedOn: ["a1"]),  // owed one A task: passes on one
        ])
    func debts(_ example: DebtCase) throws {
        var (machine, ids) = Self.parked([("ab", ["a", "b"]), ("a1", ["a"]), ("a2", ["a"])])
        _ = machine.notice(["a": 1])
        let result = machine.claimFinished(try #require(ids["ab"]), claimed: example.claimed, now: Self.at(1))
        #expect(Self.names(result.passedOn) == example.passedOn)
    }

    @Test("a claim that finds nothing passes nothing on (it lost the task to another worker) and parks again")
    func lostRaceParks() throws {
        var (machine, ids) = Self.parked([("first", ["a"]), ("second", ["a"])])
        _ = machine.notice(["a": 1])
        let result = machine.claimFinished(try #require(ids["first"]), claimed: [:], now: Self.at(1))
        guard case .parked = result.next else { Issue.record("expected to park again, got \(String(describing: result.next))"); return }
        #expect(result.passedOn.isEmpty)
        #expect(machine.waitingCount == 2)
        // It kept its place: the next notice wakes it first.
        #expect(Self.names(machine.notice(["a": 1])) == ["first"])
    }

    @Test("a claim that found nothing while a notice for its types came claims again at once")
    func noticeDuringClaim() throws {
        var (machine, ids) = Self.parked([("w", ["a", "b"])])
        _ = machine.notice(["a": 1])
        // While its claim runs, a B task is announced: no one is parked for it.
        #expect(machine.notice(["b": 1]).isEmpty)
        let result = machine.claimFinished(try #require(ids["w"]), claimed: [:], now: Self.at(1))
        guard case .claim(let again) = result.next else { Issue.record("expected a new claim, got \(String(describing: result.next))"); return }
        #expect(again.waiter == "w")
    }

    @Test("a new waiter whose claim missed a notice claims again instead of parking")
    func parkAfterNotice() {
        var machine = Machine()
        let seen = machine.generations(of: ["a"])
        _ = machine.notice(["a": 1])
        let (_, next) = machine.park("late", types: ["a"], deadline: Self.at(60), seen: seen, now: Self.start)
        guard case .claim(let claim) = next else { Issue.record("expected a claim, got \(next)"); return }
        #expect(claim.waiter == "late")
        #expect(machine.waitingCount == 1)
    }

    @Test("waiters past their deadline are answered empty, whether parked or back from a claim")
    func deadlines() throws {
        var machine = Machine()
        let types: Set<String> = ["a"]
        _ = machine.park("soon", types: types, deadline: Self.at(5), seen: machine.generations(of: types), now: Self.start)
        let (lateID, _) = machine.park("late", types: types, deadline: Self.at(10), seen: machine.generations(of: types), now: Self.start)
        #expect(machine.earliestDeadline() == Self.at(5))
        #expect(machine.expire(now: Self.at(4)).isEmpty)
        #expect(machine.expire(now: Self.at(5)) == ["soon"])
        _ = machine.notice(["a": 1])
        let result = machine.claimFinished(lateID, claimed: [:], now: Self.at(11))
        guard case .answerEmpty(let waiter) = result.next else { Issue.record("expected the empty answer"); return }
        #expect(waiter == "late")
        #expect(machine.waitingCount == 0)
    }

    @Test("a type found empty is known empty until a notice names it, and only while the listener is connected")
    func knownEmpty() {
        var machine = Machine()
        let types = ["a", "b"]
        machine.setListening(true)
        #expect(!machine.isKnownEmpty(types: types), "nothing is known before a claim")
        machine.foundNothing(types: types, seen: machine.generations(of: types))
        #expect(machine.isKnownEmpty(types: types))

        // A notice between reading the generations and the claim's end: nothing is recorded.
        let seen = machine.generations(of: types)
        _ = machine.notice(["a": 1])
        machine.foundNothing(types: types, seen: seen)
        #expect(!machine.isKnownEmpty(types: ["a"]))
        #expect(machine.isKnownEmpty(types: ["b"]), "a notice for one type leaves the others known")

        machine.foundNothing(types: ["a"], seen: machine.generations(of: ["a"]))
        #expect(machine.isKnownEmpty(types: types))
        _ = machine.noticeAll()
        #expect(!machine.isKnownEmpty(types: ["b"]), "a notice for all types forgets every type")

        machine.foundNothing(types: types, seen: machine.generations(of: types))
        machine.setListening(false)
        #expect(!machine.isKnownEmpty(types: types), "without a listener nothing is trusted")
        machine.foundNothing(types: types, seen: machine.generations(of: types))
        #expect(!machine.isKnownEmpty(types: types))
    }

    @Test("a waiter whose client went away is dropped, parked or claiming")
    func forget() throws {
        var (machine, ids) = Self.parked([("parked", ["a"]), ("claiming", ["b"])])
        _ = machine.notice(["b": 1])
        machine.forget(try #require(ids["parked"]))
        machine.forget(try #require(ids["claiming"]))
        #expect(machine.waitingCount == 0)
        #expect(machine.notice(["a": 1]).isEmpty)
        let late = machine.claimFinished(try #require(ids["claiming"]), claimed: [:], now: Self.at(1))
        #expect(late.next == nil && late.passedOn.isEmpty, "a forgotten claim's report changes nothing")
    }

    @Test("closing answers every parked waiter; later waiters and finished claims are answered empty")
    func close() throws {
        var (machine, ids) = Self.parked([("a", ["a"]), ("b", ["b"])])
        _ = machine.notice(["b": 1])
        #expect(machine.close() == ["a"])
        let (_, next) = machine.park("new", types: ["a"], deadline: Self.at(60), seen: machine.generations(of: ["a"]), now: Self.start)
        guard case .answerEmpty("new") = next else { Issue.record("expected the empty answer, got \(next)"); return }
        let result = machine.claimFinished(try #require(ids["b"]), claimed: [:], now: Self.at(1))
        guard case .answerEmpty("b") = result.next else { Issue.record("expected the empty answer"); return }
    }
}

extension ReadinessStateMachine.Next: Equatable where Waiter: Equatable {
    public static func == (lhs: Self, rhs: Self) -> Bool {
        switch (lhs, rhs) {
        case (.parked, .parked): true
        case (.claim(let l), .claim(let r)): l.id == r.id && l.waiter == r.waiter
        case (.answerEmpty(let l), .answerEmpty(let r)): l == r
        default: false
        }
    }
}
