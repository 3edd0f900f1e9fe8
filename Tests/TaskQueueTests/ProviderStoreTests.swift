import Foundation
import JSON
import Synchronization
import TaskDispatchTesting
import Testing
@testable import TaskQueue

/// Providers, custom task types and preferences in PostgreSQL, and the catalog's snapshot.
@Suite("Provider store")
struct ProviderStoreTests {
    static let shaped = TaskType(
        id: "test:shaped", name: "Shaped", description: "Every kind of shape map",
        inputShape: [
            ShapeDescriptor(key: "b", name: "B", description: "second key first", type: .text),
            ShapeDescriptor(key: "a", name: "A", description: "first key second", type: .enum),
        ],
        optionalInputShape: [ShapeDescriptor(key: "n", name: "N", description: "a number", type: .number)],
        outputShape: [ShapeDescriptor(key: "out", name: "Out", description: "images", type: .listOfImages)],
        optionalOutputShape: [ShapeDescriptor(key: "note", name: "Note", description: "text", type: .text)],
        inputShapeEnumValues: ["a": [ShapeEnumValue(name: "One", value: "1"), ShapeEnumValue(name: "Two", value: "2")]],
        optionalInputShapeEnumValues: ["n": []],
        outputShapeEnumValues: ["out": [ShapeEnumValue(name: "x", value: "y")]],
        optionalOutputShapeEnumValues: ["note": [ShapeEnumValue(name: "p", value: "q")]],
        inputShapeDefaults: ["a": "1"], optionalInputShapeDefaults: ["n": 3])

    /// Providers of a non-core type that has no row in `custom_task_types`: what a lost race leaves.
    static func orphanProviderCount(_ fixture: StoreFixture) throws -> Int? {
        try fixture.query(
            """
            SELECT count(*)::int AS n FROM task_providers p
            WHERE p.task_type NOT LIKE 'core:%' AND NOT EXISTS (SELECT 1 FROM custom_task_types t WHERE t.id = p.task_type)
            """).rows.first?.int("n")
    }

    static func provider(_ id: String, _ type: String, app: String? = nil, runtime: Int = 10) -> TaskProvider {
        TaskProvider(id: id, appID: app, displayName: "Provider \(id)", taskType: type, expectedRuntimeSeconds: runtime)
    }

    @Test("a custom type keeps every shape map and the slot order through the database")
    func customTypeRoundTrip() throws {
        let fixture = try StoreFixture()
        defer { fixture.close() }
        let store = ProviderStore(pool: fixture.pool)
        try store.addCustomType(Self.shaped)
        #expect(try store.customTypes() == [Self.shaped])
        let snapshot = try store.snapshot(core: .core)
        #expect(snapshot.types["test:shaped"] == Self.shaped)
        #expect(snapshot.available("test:shaped") == nil, "no provider yet")
        #expect(snapshot.availableTypes.isEmpty)
    }

    @Test("the preferred provider is the administrator's choice, else the first registered; updates keep the order")
    func preference() throws {
        let fixture = try StoreFixture()
        defer { fixture.close() }
        _ = try fixture.accounts.addApp(appID: "app1")
        let store = ProviderStore(pool: fixture.pool)
        try store.register(Self.provider("first", "core:text2text", app: "app1", runtime: 5))
        try store.register(Self.provider("second", "core:text2text", runtime: 7))
        try store.register(Self.provider("first", "core:text2text", app: "app1", runtime: 6))  // an update
        #expect(try store.snapshot(core: .core).preferred["core:text2text"] == Self.provider("first", "core:text2text", app: "app1", runtime: 6))

        try store.setPreferred(taskType: "core:text2text", providerID: "second")
        #expect(try store.snapshot(core: .core).preferred["core:text2text"]?.id == "second")
        #expect(throws: StoreError.self) { try store.setPreferred(taskType: "core:audio2text", providerID: "second") }

        // The preferred provider moves to another type: its old preference is void.
        try store.register(Self.provider("second", "core:audio2text", runtime: 7))
        let snapshot = try store.snapshot(core: .core)
        #expect(snapshot.preferred["core:text2text"]?.id == "first")
        #expect(snapshot.preferred["core:audio2text"]?.id == "second")
        #expect(try fixture.query("SELECT count(*)::int AS n FROM preferred_providers").rows.first?.int("n") == 0)

        // Removing the app removes its providers.
        try fixture.accounts.removeApp(appID: "app1")
        #expect(try store.providers().map(\.id) == ["second"])
    }

    @Test("ownership: another app cannot take over a provider or a custom type; an app's unregister is limited to its own")
    func ownership() throws {
        let fixture = try StoreFixture()
        defer { fixture.close() }
        _ = try fixture.accounts.addApp(appID: "app1")
        _ = try fixture.accounts.addApp(appID: "app2")
        let store = ProviderStore(pool: fixture.pool)
        try store.register(Self.provider("p", "test:shaped", app: "app1"), customType: Self.shaped)
        var renamed = Self.shaped
        renamed.name = "Taken"
        #expect(throws: StoreError.self) {
            try store.register(Self.provider("q", "test:shaped", app: "app2"), customType: renamed)
        }
        #expect(throws: StoreError.self) { try store.register(Self.provider("p", "core:text2text", app: "app2")) }
        #expect(throws: StoreError.self) { try store.unregister(providerID: "p", appID: "app2") }
        #expect(throws: StoreError.self) { try store.register(Self.provider("r", "test:none", app: "app2")) }
        var core = Self.shaped
        core.id = "core:text2text"
        #expect(throws: StoreError.self) { try store.addCustomType(core) }
        #expect(throws: StoreError.self) { try store.register(Self.provider("r", "core:text2text", app: "app2"), customType: core) }
        #expect(try store.providers() == [Self.provider("p", "test:shaped", app: "app1")])
        #expect(try store.customTypes().map(\.name) == ["Shaped"])

        // app2 may serve app1's type without redefining it; app1's unregister keeps the type while app2's provider remains.
        try store.register(Self.provider("q", "test:shaped", app: "app2"))
        try store.unregister(providerID: "p", appID: "app1")
        #expect(try store.customTypes().map(\.id) == ["test:shaped"])
        #expect(throws: StoreError.self) { try store.removeCustomType(id: "test:shaped") }
        try store.unregister(providerID: "q", appID: nil)
        try store.removeCustomType(id: "test:shaped")
        #expect(try store.customTypes().isEmpty)
    }

    @Test("8 threads registering providers for a custom type while it is removed and re-added: no provider is left without its type")
    func removalRacesRegistration() throws {
        let fixture = try StoreFixture()
        defer { fixture.close() }
        let store = ProviderStore(pool: fixture.pool)
        try store.addCustomType(Self.shaped)
        let registered = Atomic<Int>(0)
        let removed = Atomic<Int>(0)
        let unexpected = Mutex<[String]>([])
        onThreads(9) { index in
            for round in 0..<40 {
                do {
                    if index == 8 {
                        do {
                            try store.removeCustomType(id: "test:shaped")
                            removed.add(1, ordering: .relaxed)
                        } catch StoreError.taskTypeInUse {
                            // Providers exist: remove them, then the type goes on a later round.
                            for provider in try store.providers() { _ = try? store.unregister(providerID: provider.id, appID: nil) }
                        } catch StoreError.taskTypeNotFound {}
                        try store.addCustomType(Self.shaped)
                    } else {
                        try store.register(Self.provider("p\(index)-\(round)", "test:shaped"))
                        registered.add(1, ordering: .relaxed)
                    }
                } catch StoreError.unknownTaskType {
                    // The type was gone at that moment: refused, nothing stored.
                } catch {
                    unexpected.withLock { $0.append("\(error)") }
                }
            }
        }
        #expect(unexpected.withLock { $0 }.isEmpty, "\(unexpected.withLock { $0 })")
        #expect(try Self.orphanProviderCount(fixture) == 0)
        print("provider race: \(registered.load(ordering: .relaxed)) registrations, \(removed.load(ordering: .relaxed)) type removals")
        #expect(registered.load(ordering: .relaxed) > 0 && removed.load(ordering: .relaxed) > 0)
    }

    @Test("an app re-registering and unregistering its custom type's provider while 4 threads of another app serve the type: no deadlock, no orphan")
    func unregisterRacesRegistration() throws {
        let fixture = try StoreFixture()
        defer { fixture.close() }
        _ = try fixture.accounts.addApp(appID: "owner")
        _ = try fixture.accounts.addApp(appID: "server")
        let store = ProviderStore(pool: fixture.pool)
        let unexpected = Mutex<[String]>([])
        let served = Atomic<Int>(0)
        onThreads(5) { index in
            for round in 0..<40 {
                do {
                    if index == 0 {
                        try store.register(Self.provider("owner-p", "test:shaped", app: "owner"), customType: Self.shaped)
                        try store.unregister(providerID: "owner-p", appID: "owner")
                    } else {
                        try store.register(Self.provider("server-\(index)", "test:shaped", app: "server"))
                        served.add(1, ordering: .relaxed)
                        if round % 2 == 0 { try store.unregister(providerID: "server-\(index)", appID: "server") }
                    }
                } catch StoreError.unknownTaskType {
                    // The owner's type was gone at that moment: refused, nothing stored.
                } catch {
                    unexpected.withLock { $0.append("\(error)") }
                }
            }
        }
        #expect(unexpected.withLock { $0 }.isEmpty, "\(unexpected.withLock { $0 })")
        #expect(try Self.orphanProviderCount(fixture) == 0)
        print("unregister race: \(served.load(ordering: .relaxed)) registrations by the serving app")
    }

    @Test("the catalog answers from its snapshot, re-checks the version before a miss, and reads again only when it changed")
    func catalogMissRereads() throws {
        let fixture = try StoreFixture()
        defer { fixture.close() }
        let store = ProviderStore(pool: fixture.pool)
        // A long max age: only a miss or an invalidation can reload.
        let catalog = ProviderCatalog(store: store, maxAge: .seconds(3600))
        #expect(try catalog.snapshot().available("core:text2text") == nil)
        #expect(catalog.loads == 1)
        #expect(try catalog.lookup { $0.available("core:text2text") } == nil, "a miss at the current version")
        #expect(catalog.loads == 1, "the version matched: no second read")

        try store.register(Self.provider("p", "core:text2text"))
        #expect(try catalog.snapshot().available("core:text2text") == nil, "the cached snapshot is kept")
        #expect(try catalog.lookup { $0.available("core:text2text") }?.provider.id == "p", "a miss re-reads after a change")
        #expect(catalog.loads == 2)
        try store.unregister(providerID: "p", appID: nil)
        #expect(try catalog.lookup { $0.available("core:text2text") } != nil, "a hit is answered from the snapshot")
        #expect(try catalog.current().available("core:text2text") == nil, "current() follows the version")
        catalog.invalidate()
        #expect(try catalog.lookup { $0.available("core:text2text") } == nil)

        // Every kind of change moves the version, cascades included.
        var versions = [try store.version()]
        _ = try fixture.accounts.addApp(appID: "app1")
        try store.register(Self.provider("q", "core:text2text", app: "app1"))
        versions.append(try store.version())
        try store.setPreferred(taskType: "core:text2text", providerID: "q")
        versions.append(try store.version())
        try store.addCustomType(Self.shaped)
        versions.append(try store.version())
        try store.removeCustomType(id: "test:shaped")
        versions.append(try store.version())
        try fixture.accounts.removeApp(appID: "app1")
        versions.append(try store.version())
        #expect(zip(versions, versions.dropFirst()).allSatisfy { $0 < $1 }, "\(versions)")
        #expect(try store.providers().isEmpty)
    }
}
