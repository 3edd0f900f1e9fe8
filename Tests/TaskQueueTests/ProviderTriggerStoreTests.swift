import Dispatch
import Foundation
import Synchronization
import Testing
@testable import TaskQueue

/// Provider trigger requests in PostgreSQL: one row per provider however many requests race,
/// one call in flight, a row served once its work is taken, retries and giving up.
@Suite("Provider trigger store")
struct ProviderTriggerStoreTests {
    /// A fixture with the ExApp `exapp` (URL and sealed secret) providing core:text2text.
    static func fixture() throws -> (StoreFixture, ProviderTriggerStore) {
        let fixture = try StoreFixture()
        let sealer = try SecretSealer(key: SecretSealer.generateKey())
        _ = try fixture.accounts.addApp(appID: "exapp", sealer: sealer, baseURL: try ExAppBaseURL("http://127.0.0.1:9/base/"))
        try ProviderStore(pool: fixture.pool).register(
            TaskProvider(id: "exapp-llm", appID: "exapp", displayName: "LLM", taskType: "core:text2text", expectedRuntimeSeconds: 5))
        return (fixture, ProviderTriggerStore(pool: fixture.pool))
    }

    static func rowCount(_ fixture: StoreFixture) throws -> Int {
        try fixture.query("SELECT count(*)::int AS n FROM provider_triggers").rows.first?.int("n") ?? -1
    }

    @Test("400 requests from 8 threads leave one row; 4 racing senders claim one call; in flight, nothing more")
    func coalescing() throws {
        let (fixture, store) = try Self.fixture()
        defer { fixture.close() }
        #expect(try store.request(providerIDs: ["exapp-llm"], rearm: true).isEmpty, "nothing waits yet: no request")
        try fixture.schedule()
        let created = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<50 {
                if let new = try? store.request(providerIDs: ["exapp-llm"], rearm: true) { created.add(new.count, ordering: .relaxed) }
            }
        }
        #expect(created.load(ordering: .relaxed) == 1)
        #expect(try Self.rowCount(fixture) == 1)

        let claimed = Mutex<[ProviderTriggerCall]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            let calls = (try? store.claimDue(limit: 8, leaseSeconds: 30)) ?? []
            claimed.withLock { $0 += calls }
        }
        let calls = claimed.withLock { $0 }
        #expect(calls.count == 1)
        let call = try #require(calls.first)
        #expect(call.providerID == "exapp-llm" && call.appID == "exapp" && call.attempt == 1)
        #expect(call.baseURL == "http://127.0.0.1:9/base", "stored without the trailing slash")
        #expect(call.sealedSecret != nil)
        #expect(try store.claimDue(limit: 8, leaseSeconds: 30).isEmpty, "in flight: not due")
        try fixture.schedule()
        #expect(try store.request(providerIDs: ["exapp-llm"], rearm: true).isEmpty, "a row exists: coalesced")
        #expect(try store.states().first?.inFlight == true)
    }

    @Test("an answered call keeps the row until the recheck; then called again if the work waits, deleted once it is taken")
    func recheck() throws {
        let (fixture, store) = try Self.fixture()
        defer { fixture.close() }
        try fixture.schedule()
        try store.request(providerIDs: ["exapp-llm"], rearm: true)
        let first = try #require(try store.claimDue(limit: 8, leaseSeconds: 30).first)
        try store.markAnswered(first, recheckSeconds: 0.2)
        #expect(try store.states().first?.sentAt != nil)
        #expect(try store.claimDue(limit: 8, leaseSeconds: 30).isEmpty, "before the recheck")
        #expect(try fixture.accounts.apps().first { $0.appID == "exapp" }?.lastTriggeredAt != nil)
        Thread.sleep(forTimeInterval: 0.3)
        let second = try #require(try store.claimDue(limit: 8, leaseSeconds: 30).first, "the task still waits: called again")
        #expect(second.attempt == 2)
        try store.markAnswered(second, recheckSeconds: 0.2)
        _ = try fixture.claimOne()
        Thread.sleep(forTimeInterval: 0.3)
        #expect(try store.claimDue(limit: 8, leaseSeconds: 30).isEmpty)
        #expect(try Self.rowCount(fixture) == 0, "the work was taken: the request is served")

        // An ExApp that finds its queue empty ends an answered call's coalescing, not one in flight.
        _ = try fixture.query("UPDATE tasks SET status = 3, ended_at = now() WHERE status = 2")
        try fixture.schedule()
        try store.request(providerIDs: ["exapp-llm"], rearm: true)
        let third = try #require(try store.claimDue(limit: 8, leaseSeconds: 30).first)
        try store.providersFoundNothing(["exapp-llm"])
        #expect(try Self.rowCount(fixture) == 1, "in flight: kept")
        try store.markAnswered(third, recheckSeconds: 60)
        try store.providersFoundNothing(["other"])
        #expect(try Self.rowCount(fixture) == 1)
        try store.providersFoundNothing(["exapp-llm"])
        let rearmed = try #require(try store.states().first, "work waits (it arrived after that empty claim): due at once")
        #expect(rearmed.sentAt == nil && rearmed.attempts == 0)
        let fourth = try #require(try store.claimDue(limit: 8, leaseSeconds: 30).first)
        try store.markAnswered(fourth, recheckSeconds: 60)
        _ = try fixture.claimOne()
        _ = try fixture.query("UPDATE tasks SET status = 3, ended_at = now() WHERE status = 2")
        try store.providersFoundNothing(["exapp-llm"])
        #expect(try Self.rowCount(fixture) == 0, "answered, then the queue was found empty: the next work gets a call")
    }

    @Test("no request while the type runs, is paused, or the app has no URL; a due row for such a type is deleted, not called")
    func nothingToCall() throws {
        let (fixture, store) = try Self.fixture()
        defer { fixture.close() }
        try fixture.schedule()
        try fixture.schedule()
        _ = try fixture.claimOne()
        #expect(try store.request(providerIDs: ["exapp-llm"], rearm: true).isEmpty, "one runs: the provider asks again when done")
        _ = try fixture.query("UPDATE tasks SET status = 4, ended_at = now() WHERE status = 2")
        #expect(try store.request(providerIDs: ["exapp-llm"], rearm: true) == ["exapp-llm"])
        _ = try fixture.query("INSERT INTO task_type_settings (type, paused) VALUES ('core:text2text', true)")
        #expect(try store.claimDue(limit: 8, leaseSeconds: 30).isEmpty)
        #expect(try Self.rowCount(fixture) == 0, "paused: served without a call")
        #expect(try store.request(providerIDs: ["exapp-llm"], rearm: true).isEmpty)
        _ = try fixture.query("DELETE FROM task_type_settings")
        try fixture.accounts.setAppURL(appID: "exapp", url: nil)
        #expect(try store.appsWithURL().isEmpty)
        #expect(try store.request(providerIDs: ["exapp-llm"], rearm: true).isEmpty)
    }

    @Test("a failed call is due after its backoff; given up it stays for operators; only new work restarts it")
    func failures() throws {
        let (fixture, store) = try Self.fixture()
        defer { fixture.close() }
        try fixture.schedule()
        try store.request(providerIDs: ["exapp-llm"], rearm: true)
        let first = try #require(try store.claimDue(limit: 8, leaseSeconds: 30).first)
        try store.markFailed(first, error: "connection refused", retrySeconds: 0.1)
        #expect(try store.states().first?.lastError == "connection refused")
        Thread.sleep(forTimeInterval: 0.2)
        let second = try #require(try store.claimDue(limit: 8, leaseSeconds: 30).first)
        #expect(second.attempt == 2)
        try store.markFailed(second, error: "answered HTTP 404", retrySeconds: nil)
        let state = try #require(try store.states().first)
        #expect(state.givenUpAt != nil && state.attempts == 2 && state.lastError == "answered HTTP 404")
        #expect(try store.claimDue(limit: 8, leaseSeconds: 30).isEmpty)
        #expect(try store.request(providerIDs: ["exapp-llm"], rearm: false).isEmpty, "the sweep does not restart it")
        #expect(try store.states().first?.givenUpAt != nil)
        #expect(try store.request(providerIDs: ["exapp-llm"], rearm: true) == ["exapp-llm"], "new work does")
        let restarted = try #require(try store.states().first)
        #expect(restarted.givenUpAt == nil && restarted.attempts == 0 && restarted.lastError == nil)
    }

    @Test("secrets: sealed per app, opened only with the same key and app id; set-url needs a sealed or given secret")
    func sealing() throws {
        let fixture = try StoreFixture()
        defer { fixture.close() }
        let sealer = try SecretSealer(key: SecretSealer.generateKey())
        let sealed = sealer.seal("s3cret", appID: "a")
        #expect(try sealer.open(sealed, appID: "a") == "s3cret")
        #expect(throws: SecretSealer.Failure.cannotOpen) { try sealer.open(sealed, appID: "b") }
        #expect(throws: SecretSealer.Failure.cannotOpen) { try SecretSealer(key: SecretSealer.generateKey()).open(sealed, appID: "a") }
        var altered = sealed
        altered[altered.count - 1] ^= 1
        #expect(throws: SecretSealer.Failure.cannotOpen) { try sealer.open(altered, appID: "a") }
        #expect(throws: SecretSealer.Failure.badKeyLength(16)) { try SecretSealer(key: Array(repeating: 0, count: 16)) }

        let secret = try fixture.accounts.addApp(appID: "old")
        let url = try ExAppBaseURL("https://exapps.internal:8443/exapps/old")
        #expect(throws: StoreError.self) { try fixture.accounts.setAppURL(appID: "old", url: url) }
        #expect(throws: StoreError.self) { try fixture.accounts.setAppURL(appID: "old", url: url, secret: "wrong", sealer: sealer) }
        try fixture.accounts.setAppURL(appID: "old", url: url, secret: secret, sealer: sealer)
        let stored = try #require(try fixture.query("SELECT sealed_secret FROM ex_apps WHERE app_id = 'old'").rows.first?.bytes("sealed_secret"))
        #expect(try sealer.open(stored, appID: "old") == secret)
        #expect(!stored.contains(Array(secret.utf8)), "not stored in clear")
        #expect(try fixture.accounts.apps().first?.baseURL == "https://exapps.internal:8443/exapps/old")

        for bad in ["ftp://host", "http://", "http://host/?q=1", "http://host/#x", "http://user:pw@host", "not a url"] {
            #expect(throws: WebhookTargetError.self, "\(bad)") { try ExAppBaseURL(bad) }
        }
        let target = try url.triggerTarget(providerID: "a b+c&d=é")
        #expect(target.requestTarget == "/exapps/old/trigger?providerId=a%20b%2Bc%26d%3D%C3%A9")
        #expect(target.httpMethod == "POST" && target.port == 8443 && target.host == "exapps.internal")
    }
}
