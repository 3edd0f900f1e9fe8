import Dispatch
import Synchronization

/// Runs a sender's blocking outbound calls (webhooks, ExApp triggers) on a queue of their own,
/// at most `limit` at once, so that one slow receiver does not hold up the others and the
/// sender's loop never waits on the network. Never on Swift's cooperative pool.
final class OutboundCalls: Sendable {
    let limit: Int
    private let queue: DispatchQueue
    private let running = DispatchGroup()
    private let inFlight = Mutex(0)

    init(label: String, limit: Int) {
        self.limit = limit
        queue = DispatchQueue(label: label, attributes: .concurrent)
    }

    /// Calls that may start now.
    var freeSlots: Int { limit - inFlight.withLock { $0 } }

    /// Runs `call`, then `finished` once its slot is free again.
    func start(_ call: @escaping @Sendable () -> Void, finished: @escaping @Sendable () -> Void) {
        inFlight.withLock { $0 += 1 }
        running.enter()
        queue.async { [self] in
            call()
            inFlight.withLock { $0 -= 1 }
            running.leave()
            finished()
        }
    }

    /// Waits until every call started has ended.
    func waitForAll() {
        running.wait()
    }
}
