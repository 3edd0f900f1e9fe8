import Dispatch
import Foundation
import Synchronization

/// Waits for SIGINT or SIGTERM. The signals' default action (ending the process at once) is
/// replaced by libdispatch signal sources, so the server can shut down in order. Nothing is
/// blocked with a signal mask: Foundation's `Process`, used for the embedded cluster, stops
/// noticing its children's exit when the spawning thread blocks signals.
enum TerminationSignals {
    static func wait() -> Int32 {
        let received = Atomic<Int32>(0)
        let arrived = DispatchSemaphore(value: 0)
        let queue = DispatchQueue(label: "taskdispatch.signals")
        let sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler {
                received.store(number, ordering: .relaxed)
                arrived.signal()
            }
            source.resume()
            return source
        }
        arrived.wait()
        sources.forEach { $0.cancel() }
        return received.load(ordering: .relaxed)
    }
}
