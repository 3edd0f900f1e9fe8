import Dispatch
import Foundation
@testable import OCSAPI
import Synchronization
import TaskQueue
import Testing

/// Requests arriving together with one credential cost one lookup, not one each.
@Suite("Credential cache")
struct CredentialCacheTests {
    @Test("concurrent requests with the same credential share one lookup; a failed lookup is not shared")
    func oneLookupPerCredential() throws {
        let cache = CredentialCache(ttl: .seconds(30))
        let key = CredentialCache.key("app", "worker", "", "secret")
        let lookups = Atomic<Int>(0)
        let release = DispatchSemaphore(value: 0)
        let results = Mutex<[Principal]>([])
        let group = DispatchGroup()
        let callers = 8
        for _ in 0..<callers {
            group.enter()
            Thread {
                let principal = try? cache.principal(for: key) { () throws(OCSError) -> Principal in
                    lookups.add(1, ordering: .relaxed)
                    // Held until the test lets go, so that the other callers arrive meanwhile.
                    release.wait()
                    return .exApp(appID: "worker", userID: nil)
                }
                if let principal { results.withLock { $0.append(principal) } }
                group.leave()
            }.start()
        }
        Thread.sleep(forTimeInterval: 0.2)
        release.signal()
        #expect(group.wait(timeout: .now() + 20) == .success)
        #expect(lookups.load(ordering: .relaxed) == 1)
        #expect(results.withLock { $0 } == Array(repeating: .exApp(appID: "worker", userID: nil), count: callers))

        let wrong = CredentialCache.key("app", "worker", "", "wrong")
        var refusals = 0
        for _ in 0..<2 {
            do {
                _ = try cache.principal(for: wrong) { () throws(OCSError) -> Principal in throw .unauthorized("invalid") }
            } catch {
                refusals += 1
            }
        }
        #expect(refusals == 2, "a refused credential is never cached")
    }
}
