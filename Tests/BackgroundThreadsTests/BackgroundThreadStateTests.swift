import BackgroundThreads
import Testing

/// The start/stop rules as a plain value: no threads, no clocks.
@Suite("Background thread state (no I/O)")
struct BackgroundThreadStateTests {
    enum Event: CaseIterable {
        case start, stop, exit
    }

    /// One row: from a state, an event, the state after and what the caller was told to do.
    struct Transition: Sendable, CustomTestStringConvertible {
        let from: BackgroundThreadState
        let event: String
        let to: BackgroundThreadState
        let action: String
        var testDescription: String { "\(from) --\(event)--> \(to) (\(action))" }
    }

    static let table: [Transition] = [
        Transition(from: .idle, event: "start", to: .running, action: "startThread"),
        Transition(from: .running, event: "start", to: .running, action: "none"),
        Transition(from: .stopping, event: "start", to: .stopping, action: "none"),
        Transition(from: .stopped, event: "start", to: .stopped, action: "none"),
        Transition(from: .idle, event: "stop", to: .stopped, action: "none"),
        Transition(from: .running, event: "stop", to: .stopping, action: "interruptAndWait"),
        Transition(from: .stopping, event: "stop", to: .stopping, action: "none"),
        Transition(from: .stopped, event: "stop", to: .stopped, action: "none"),
        Transition(from: .running, event: "exit", to: .stopped, action: "-"),
        Transition(from: .stopping, event: "exit", to: .stopped, action: "-"),
    ]

    @Test("each state and event", arguments: table)
    func transition(_ row: Transition) {
        var state = row.from
        let action: String
        switch row.event {
        case "start": action = "\(state.start())"
        case "stop": action = "\(state.stop())"
        default:
            state.threadExited()
            action = "-"
        }
        #expect(state == row.to)
        #expect(action == row.action)
    }

    @Test("only a stop asked (or the exit) tells the body to wind up")
    func shouldStop() {
        #expect(BackgroundThreadState.allCases.filter(\.shouldStop) == [.stopping, .stopped])
    }

    /// Every sequence of starts and stops up to five long, the thread exiting after the stop
    /// that waits for it (as the real thread does) or on its own at any point it may.
    static let sequences: [[Event]] = {
        var all: [[Event]] = [[]]
        var longest: [[Event]] = [[]]
        for _ in 0..<5 {
            longest = longest.flatMap { prefix in Event.allCases.map { prefix + [$0] } }
            all += longest
        }
        return all.filter { sequence in
            var state = BackgroundThreadState.idle
            for event in sequence {
                switch event {
                case .start: _ = state.start()
                case .stop: _ = state.stop()
                case .exit:
                    guard state == .running || state == .stopping else { return false }
                    state.threadExited()
                }
            }
            return true
        }
    }()

    @Test("every order: one thread at most, one waiting stop at most, none after a stop that came first")
    func everyOrder() {
        #expect(Self.sequences.count > 100)
        for sequence in Self.sequences {
            var state = BackgroundThreadState.idle
            var threadsStarted = 0
            var waitingStops = 0
            var stopsBeforeStart = 0
            for event in sequence {
                switch event {
                case .start:
                    if state.start() == .startThread { threadsStarted += 1 }
                case .stop:
                    if threadsStarted == 0 { stopsBeforeStart += 1 }
                    if state.stop() == .interruptAndWait {
                        waitingStops += 1
                        #expect(threadsStarted == 1, "\(sequence): a stop waits only for a started thread")
                    }
                case .exit:
                    state.threadExited()
                }
            }
            #expect(threadsStarted <= 1, "\(sequence)")
            #expect(waitingStops <= 1, "\(sequence)")
            if stopsBeforeStart > 0 { #expect(threadsStarted == 0, "\(sequence): a stop before any start") }
            if let firstStart = sequence.firstIndex(of: .start), !sequence[..<firstStart].contains(.stop) {
                #expect(threadsStarted == 1, "\(sequence): the first start starts the thread")
            }
            if sequence.contains(.stop) { #expect(state.shouldStop, "\(sequence)") }
        }
    }

    @Test("start, stop, stop, start and its permutations end stopped with one thread at most")
    func permutationsOfTwoStartsAndTwoStops() {
        let orders: Set<[Event]> = [
            [.start, .stop, .stop, .start], [.start, .start, .stop, .stop], [.stop, .stop, .start, .start],
            [.stop, .start, .stop, .start], [.start, .stop, .start, .stop], [.stop, .start, .start, .stop],
        ]
        for order in orders {
            var state = BackgroundThreadState.idle
            var actions: [String] = []
            for event in order {
                actions.append(event == .start ? "\(state.start())" : "\(state.stop())")
            }
            #expect(actions.filter { $0 == "startThread" }.count == (order.first == .start ? 1 : 0), "\(order)")
            #expect(actions.filter { $0 == "interruptAndWait" }.count == (order.first == .start ? 1 : 0), "\(order)")
            #expect(state == (order.first == .start ? .stopping : .stopped), "\(order): stopping until the thread exits")
        }
    }
}
