import Dispatch
import Foundation
import Synchronization

/// Catches SIGINT and SIGTERM with libdispatch signal sources, so the server can shut down in order.
///
/// Call ``catchSignals()`` first thing, before the database or the server starts: a signal
/// that arrives later is kept until ``wait()``. (The sources are registered asynchronously, so
/// a signal in the first moments after the call may still end the process, which is harmless
/// while nothing runs yet.)
///
/// The signals are not set to `SIG_IGN`: libdispatch installs its own handler when it registers
/// a source and hands the signal to it, and a signal ignored before that handler is installed
/// would be lost, leaving a server that never stops. Nothing is blocked with a signal mask: Foundation's `Process`,
/// used for the embedded cluster, stops noticing its children's exit when the spawning thread
/// blocks signals.
struct TerminationSignals {
    /// What the sources report; shared with their handlers.
    private final class Arrival: Sendable {
        let signal = Atomic<Int32>(0)
        let semaphore = DispatchSemaphore(value: 0)
    }

    private let arrival: Arrival
    private let sources: [any DispatchSourceSignal]

    /// Starts catching SIGINT and SIGTERM.
    static func catchSignals() -> TerminationSignals {
        let arrival = Arrival()
        let queue = DispatchQueue(label: "taskdispatch.signals")
        let sources = [SIGINT, SIGTERM].map { number in
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler {
                arrival.signal.store(number, ordering: .relaxed)
                arrival.semaphore.signal()
            }
            source.resume()
            return source
        }
        return TerminationSignals(arrival: arrival, sources: sources)
    }

    /// Waits for SIGINT or SIGTERM (returns at once for one that arrived earlier) and returns its number.
    func wait() -> Int32 {
        arrival.semaphore.wait()
        sources.forEach { $0.cancel() }
        return arrival.signal.load(ordering: .relaxed)
    }
}
