import Dispatch
import Foundation
import Synchronization

/// One named thread that runs a loop, sleeps between rounds, and stops when asked.
///
/// For work that blocks (libpq, sockets) and so must not run on Swift's cooperative pool.
/// Nothing starts in `init`. ``start(_:)`` and ``stop()`` may be called in any order, from any
/// thread, any number of times (``BackgroundThreadState`` has the rules): the first start
/// starts the one thread; a stop before any start makes later starts do nothing; the first
/// stop of a running thread wakes it and waits until its body has returned; every other stop
/// returns at once.
///
/// The body loops on ``sleep(for:)`` or ``sleep(until:)``, which return false once a stop was
/// asked, or checks ``shouldStop`` between blocking calls of its own. ``wakeUp()`` ends a
/// sleep early, for loops that wait for work.
///
/// `stop()` must not be called from the body itself: it would wait for itself.
///
/// Not swift-service-lifecycle's `Service`: its `run()` is `async` and runs on the cooperative
/// pool, where these loops, blocked in libpq and sockets, would hold its few threads. The names
/// follow the same idea: a service runs until asked to shut down, then winds up its work.
public final class BackgroundThread: Sendable {
    /// The thread's name, as the system shows it (Linux keeps the first 15 bytes).
    public let name: String
    private let shared = Mutex(Shared())
    /// Ends a sleep early: signalled by `wakeUp()` (at most once until the sleeper wakes) and by `stop()`.
    private let wakeSignal = DispatchSemaphore(value: 0)
    /// Signalled once, when the body has returned.
    private let exited = DispatchSemaphore(value: 0)

    private struct Shared {
        var state = BackgroundThreadState.idle
        var wakeUpPending = false
    }

    /// A thread named `name`; nothing runs until ``start(_:)``.
    public init(name: String) {
        self.name = name
    }

    /// Starts the thread running `body`, unless it was started or stopped before.
    ///
    /// The body is passed here rather than to `init` so that an owner whose body captures it
    /// and that is never started does not keep itself alive.
    public func start(_ body: @escaping @Sendable () -> Void) {
        guard shared.withLock({ $0.state.start() }) == .startThread else { return }
        let thread = Thread { [self] in
            Self.showName(name)
            body()
            shared.withLock { $0.state.threadExited() }
            exited.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Asks the body to end and waits until it has returned; returns at once if the thread never
    /// started, has exited, or another stop is already waiting for it.
    public func stop() {
        guard shared.withLock({ $0.state.stop() }) == .interruptAndWait else { return }
        wakeSignal.signal()
        exited.wait()
    }

    /// Where the thread is in its life.
    public var state: BackgroundThreadState {
        shared.withLock { $0.state }
    }

    /// Whether a stop was asked: the body should return.
    public var shouldStop: Bool {
        shared.withLock { $0.state.shouldStop }
    }

    /// Ends the current (or next) sleep early. Cheap: wake-ups that arrive before the sleeper
    /// has woken are merged into one.
    public func wakeUp() {
        let signal = shared.withLock { shared in
            defer { shared.wakeUpPending = true }
            return !shared.wakeUpPending
        }
        if signal { wakeSignal.signal() }
    }

    /// Gives the calling thread `name` where the system shows it (ps, top, gdb). On Linux,
    /// Foundation passes a name set before `start()` only to its own `Thread` object, and one
    /// set from inside the thread is lost when the thread runs before `start()` has returned;
    /// the thread's own `comm` file takes it always (cut to 15 bytes). Best effort: a name is
    /// for people reading thread lists, so failing to set it is no reason to fail.
    private static func showName(_ name: String) {
        #if os(Linux)
        guard let comm = try? FileHandle(forWritingTo: URL(fileURLWithPath: "/proc/thread-self/comm")) else { return }
        try? comm.write(contentsOf: Array(name.utf8))
        try? comm.close()
        #endif
    }

    /// Sleeps up to `duration`, less if woken or stopped. Returns false once a stop was asked.
    public func sleep(for duration: Duration) -> Bool {
        let (seconds, attoseconds) = duration.components
        return sleep(until: .now() + (Double(seconds) + Double(attoseconds) * 1e-18))
    }

    /// Sleeps until `deadline`, less if woken or stopped. Returns false once a stop was asked.
    public func sleep(until deadline: DispatchTime) -> Bool {
        if shouldStop { return false }
        _ = wakeSignal.wait(timeout: deadline)
        return shared.withLock { shared in
            // Cleared after the wait, before the caller looks for work: a wake-up from now on
            // signals again, and one that came during the wait is covered by the work that follows.
            shared.wakeUpPending = false
            return !shared.state.shouldStop
        }
    }
}
