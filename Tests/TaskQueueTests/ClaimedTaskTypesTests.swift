import Testing
@testable import TaskQueue

@Suite("Types of claimed tasks")
struct ClaimedTaskTypesTests {
    @Test("types of tasks claimed here are answered from memory, others from the database")
    func answeredFromMemory() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let claimed = try store.schedule("core:text2text:summary")
        let waiting = try store.schedule("core:text2image")
        #expect(try store.claimOne(["core:text2text:summary"])?.id == claimed.id)
        // Types never change; rewriting them here shows which answer came from where.
        _ = try store.query("UPDATE tasks SET type = 'rewritten' WHERE id = ANY($1::bigint[])", [[claimed.id, waiting.id]])
        let types = try store.tasks.taskTypes(ids: [claimed.id, waiting.id, 999_999])
        #expect(types == [claimed.id: "core:text2text:summary", waiting.id: "rewritten"])
    }

    @Test("the oldest remembered claims are forgotten first")
    func boundedOldestFirst() throws {
        let store = try StoreFixture()
        defer { store.close() }
        let tasks = try (0..<3).map { _ in try store.schedule() }
        let memory = ClaimedTaskTypes(capacity: 2)
        memory.remember(tasks)
        memory.remember([tasks[2]])
        let (known, unknown) = memory.lookUp(tasks.map(\.id))
        #expect(unknown == [tasks[0].id])
        #expect(known == [tasks[1].id: tasks[1].type, tasks[2].id: tasks[2].type])
    }
}
