import Dispatch
import Foundation

/// What the tests observe of threads from outside (as in BackgroundThreadsTests).
enum ThreadProbe {
    /// Runs `body` on a thread of its own and says whether it returned within `seconds`; a
    /// body that hangs fails the test instead of hanging it.
    static func returns(within seconds: Double, _ body: @escaping @Sendable () -> Void) -> Bool {
        let returned = DispatchSemaphore(value: 0)
        Thread {
            body()
            returned.signal()
        }.start()
        return returned.wait(timeout: .now() + seconds) == .success
    }
}
