import Foundation

/// Runs `body(index)` on `count` plain threads at once and returns when all have finished.
/// Tests use it for blocking work (libpq calls, the loopback HTTP client), which belongs on its
/// own threads rather than on Swift's cooperative pool.
public func onThreads(_ count: Int, stackSize: Int = 1 << 20, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        let thread = Thread {
            body(index)
            group.leave()
        }
        thread.stackSize = stackSize
        thread.start()
    }
    group.wait()
}
