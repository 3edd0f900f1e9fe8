@testable import TaskQueue
import Testing

/// The index of parked long polls, without threads or HTTP.
@Suite("Parked waiters index")
struct ParkedWaitersTests {
    struct Waiter: ParkableWaiter, Equatable {
        let id: UInt64
        let types: Set<String>
        let deadline: ContinuousClock.Instant
    }

    static let start = ContinuousClock.now

    static func waiter(_ id: UInt64, _ types: Set<String>, dueIn seconds: Int) -> Waiter {
        Waiter(id: id, types: types, deadline: start + .seconds(seconds))
    }

    @Test("wakes the oldest waiters of a type, by id whatever the insertion order, and takes them out of every type")
    func oldestFirst() {
        var parked = ParkedWaiters<Waiter>()
        for waiter in [Self.waiter(5, ["a"], dueIn: 30), Self.waiter(2, ["a", "b"], dueIn: 30), Self.waiter(9, ["b"], dueIn: 30),
                       Self.waiter(3, ["a"], dueIn: 30)] {
            parked.insert(waiter)
        }
        #expect(parked.takeOldest(wanting: "a", count: 2).map(\.id) == [2, 3])
        #expect(parked.wantedTypes == ["a", "b"])
        #expect(parked.takeOldest(wanting: "b", count: 5).map(\.id) == [9], "2 left every type when woken for a")
        #expect(parked.takeOldest(wanting: "c", count: 1).isEmpty)
        #expect(parked.count == 1)
        #expect(parked.wantedTypes == ["a"])
    }

    @Test("expires by deadline, skips waiters that left, and a waiter parked again keeps one place")
    func deadlines() {
        var parked = ParkedWaiters<Waiter>()
        parked.insert(Self.waiter(1, ["a"], dueIn: 10))
        parked.insert(Self.waiter(2, ["a"], dueIn: 5))
        parked.insert(Self.waiter(3, ["a"], dueIn: 20))
        #expect(parked.earliestDeadline() == Self.start + .seconds(5))
        #expect(parked.remove(2)?.id == 2)
        #expect(parked.earliestDeadline() == Self.start + .seconds(10), "the entry of a waiter that left is skipped")
        // Woken, then parked again with its own deadline: expires once.
        #expect(parked.takeOldest(wanting: "a", count: 1).map(\.id) == [1])
        parked.insert(Self.waiter(1, ["a"], dueIn: 10))
        #expect(parked.takeExpired(at: Self.start + .seconds(11)).map(\.id) == [1])
        #expect(parked.takeExpired(at: Self.start + .seconds(19)).isEmpty)
        #expect(parked.takeExpired(at: Self.start + .seconds(20)).map(\.id) == [3])
        #expect(parked.count == 0 && parked.earliestDeadline() == nil && parked.wantedTypes.isEmpty)
    }

    @Test("takeAll answers everyone oldest first and leaves nothing behind")
    func takeAll() {
        var parked = ParkedWaiters<Waiter>()
        for id: UInt64 in [7, 1, 4] { parked.insert(Self.waiter(id, ["a"], dueIn: Int(id))) }
        #expect(parked.takeAll().map(\.id) == [1, 4, 7])
        #expect(parked.count == 0 && parked.earliestDeadline() == nil)
        #expect(parked.takeOldest(wanting: "a", count: 3).isEmpty)
    }
}
