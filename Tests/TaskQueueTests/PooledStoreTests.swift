import Postgres
import Testing
@testable import TaskQueue

/// The one `withConnection` every store runs its statements through.
@Suite("Pooled store connections")
struct PooledStoreTests {
    private struct Unexpected: Error, CustomStringConvertible {
        var description: String { "something else" }
    }

    @Test("database failures become .database, store errors pass through, anything else is a corrupt row")
    func mapping() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let tasks = store.tasks

        let failed = #expect(throws: StoreError.self) {
            try tasks.withConnection { try $0.query("SELECT * FROM no_such_table") }
        }
        guard case .database(let cause)? = failed else {
            Issue.record("not a database error: \(String(describing: failed))")
            return
        }
        #expect(cause.sqlState == .undefinedTable)
        #expect(failed?.isUnavailable == false)

        let refused = #expect(throws: StoreError.self) {
            try tasks.withConnection { _ in throw StoreError.providerNotFound("p") }
        }
        #expect(refused?.description == "no provider 'p'")

        let other = #expect(throws: StoreError.self) {
            try tasks.withConnection { _ in throw Unexpected() }
        }
        #expect(other?.description == "corrupt row: unexpected error: something else")
    }

    @Test("a unique violation is the caller's refusal when it names one, else a database error")
    func uniqueViolation() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let accounts = store.accounts
        _ = try accounts.addApp(appID: "worker")
        let insertAgain = "INSERT INTO ex_apps (app_id, salt, secret_hash) VALUES ('worker', '\\x00', '\\x00')"

        let plain = #expect(throws: StoreError.self) { try accounts.withConnection { try $0.query(insertAgain) } }
        guard case .database(let cause)? = plain else {
            Issue.record("not a database error: \(String(describing: plain))")
            return
        }
        #expect(cause.sqlState == .uniqueViolation)

        let refused = #expect(throws: StoreError.self) {
            try accounts.withConnection(onUniqueViolation: { _ in .accountAlreadyExists("worker") }) { try $0.query(insertAgain) }
        }
        #expect(refused?.description == "'worker' already exists")
    }

    @Test("account refusals keep the messages the commands print")
    func accountMessages() throws {
        let store = try StoreFixture()
        defer { store.close() }
        _ = try store.accounts.addUser(name: "alice", isAdmin: false)
        let messages = [
            #expect(throws: StoreError.self) { try store.accounts.addUser(name: "alice", isAdmin: false) },
            #expect(throws: StoreError.self) { try store.accounts.addUser(name: "bad name!", isAdmin: false) },
            #expect(throws: StoreError.self) { try store.accounts.addAppPassword(userName: "nobody") },
            #expect(throws: StoreError.self) { try store.accounts.removeApp(appID: "nobody") },
        ].map { $0?.description }
        #expect(messages == [
            "'alice' already exists",
            "a user name must be 1 to 64 letters, digits or _ . @ -",
            "'nobody' does not exist",
            "'nobody' does not exist",
        ])
    }
}
