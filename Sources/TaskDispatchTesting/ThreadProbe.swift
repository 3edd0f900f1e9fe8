import Dispatch
import Foundation
import Glibc

/// What the tests observe of threads from outside.
public enum ThreadProbe {
    /// Runs `body` on a thread of its own and says whether it returned within `seconds`; a
    /// body that hangs fails the test instead of hanging it.
    public static func returns(within seconds: Double, _ body: @escaping @Sendable () -> Void) -> Bool {
        let returned = DispatchSemaphore(value: 0)
        Thread {
            body()
            returned.signal()
        }.start()
        return returned.wait(timeout: .now() + seconds) == .success
    }

    /// Live threads of this process named `name` (as Linux keeps it: the first 15 bytes).
    public static func threadCount(named name: String) -> Int {
        let shown = String(decoding: name.utf8.prefix(15), as: UTF8.self)
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.filter { task in
            let comm = try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)
            return comm?.trimmingCharacters(in: .newlines) == shown
        }.count
    }

    /// Live threads named `name` once they number `expected`, or after 5 s. A thread signals
    /// its stop before the system has finished ending it, so the count may lag briefly.
    public static func threadCount(named name: String, becoming expected: Int) -> Int {
        var count = threadCount(named: name)
        var tries = 0
        while count != expected, tries < 500 {
            usleep(10_000)
            count = threadCount(named: name)
            tries += 1
        }
        return count
    }

    /// A name no other test uses, short enough to be shown whole.
    public static func uniqueName(_ prefix: String) -> String {
        "\(prefix)-\(UInt32.random(in: 0...UInt32.max) % 100_000)"
    }
}
