import Testing
@testable import TaskQueue

@Suite("Accounts")
struct AccountStoreTests {
    @Test("users authenticate with their app password, by Basic (with name) or Bearer (without)")
    func users() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let (alice, password) = try store.accounts.addUser(name: "alice", isAdmin: false)
        let (_, adminPassword) = try store.accounts.addUser(name: "root", isAdmin: true)
        #expect(try store.accounts.authenticateUser(userName: "alice", appPassword: password) == alice)
        #expect(try store.accounts.authenticateUser(userName: nil, appPassword: password) == alice)
        #expect(try store.accounts.authenticateUser(userName: "root", appPassword: password) == nil)
        #expect(try store.accounts.authenticateUser(userName: nil, appPassword: adminPassword)?.isAdmin == true)
        var tampered = Array(password)
        tampered[30] = tampered[30] == "a" ? "b" : "a"
        #expect(try store.accounts.authenticateUser(userName: nil, appPassword: String(tampered)) == nil)
        #expect(try store.accounts.authenticateUser(userName: nil, appPassword: "short") == nil)

        let second = try store.accounts.addAppPassword(userName: "alice")
        #expect(try store.accounts.authenticateUser(userName: "alice", appPassword: second) == alice)
        #expect(throws: StoreError.self) { try store.accounts.addUser(name: "alice", isAdmin: false) }
        #expect(throws: StoreError.self) { try store.accounts.addUser(name: "bad name!", isAdmin: false) }
        #expect(throws: StoreError.self) { try store.accounts.addAppPassword(userName: "nobody") }

        try store.accounts.removeUser(name: "alice")
        #expect(try store.accounts.authenticateUser(userName: nil, appPassword: password) == nil)
    }

    @Test("ExApps authenticate with their secret; secrets are stored only hashed")
    func apps() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let secret = try store.accounts.addApp(appID: "worker")
        #expect(try store.accounts.authenticateApp(appID: "worker", secret: secret))
        #expect(try !store.accounts.authenticateApp(appID: "worker", secret: secret + "x"))
        #expect(try !store.accounts.authenticateApp(appID: "other", secret: secret))
        #expect(throws: StoreError.self) { try store.accounts.addApp(appID: "worker") }
        let stored = try store.query("SELECT app_id, encode(salt, 'hex') AS salt, encode(secret_hash, 'hex') AS hash FROM ex_apps")
        #expect(stored.rowCount == 1)
        #expect(stored[0].string("hash")?.contains(secret) == false)
        #expect(stored[0].string("hash")?.count == 64)
    }
}
