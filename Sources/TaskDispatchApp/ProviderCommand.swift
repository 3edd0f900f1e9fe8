import ArgumentParser
import TaskQueue

struct ProviderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "provider",
        abstract: "Manage task providers: who processes each task type, and the preferred one per type.",
        discussion: """
            A task type can be scheduled only while it has a provider. Workers name provider ids in \
            providerIds; for each type only its preferred provider (set with `prefer`, else the first \
            registered) gets tasks. ExApps usually register their providers themselves through AppAPI.
            """,
        subcommands: [Add.self, List.self, Remove.self, Prefer.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a provider (owned by the administrator, or by --app) or update it.")
        @Argument(help: "Provider id, as workers send it in providerIds.") var id: String
        @Option(help: "The task type it processes, e.g. core:text2text.") var type: String
        @Option(help: "Display name (default: the id).") var name: String?
        @Option(help: "Seconds added to a task's scheduled time for completionExpectedAt.") var expectedRuntime = 60
        @Option(help: "The ExApp owning it (it may then update or remove it through AppAPI).") var app: String?
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            guard !id.isEmpty, id.utf8.count <= 255 else { throw ValidationError("the provider id must be 1 to 255 bytes") }
            guard expectedRuntime >= 0, expectedRuntime <= Int(Int32.max) else {
                throw ValidationError("--expected-runtime must be 0 or more seconds")
            }
        }

        func run() throws {
            try withProviders(database) { providers in
                try providers.register(
                    TaskProvider(
                        id: id, appID: app, displayName: name ?? id, taskType: type, expectedRuntimeSeconds: expectedRuntime))
                print("registered provider \(id) for \(type)")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List providers: id, task type, expected runtime, owner, and * for each type's preferred one.")
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            try withProviders(database) { providers in
                let preferred = try providers.snapshot(core: .core).preferred
                for provider in try providers.providers() {
                    let mark = preferred[provider.taskType]?.id == provider.id ? "\t*" : ""
                    print(
                        [provider.id, provider.taskType, "\(provider.expectedRuntimeSeconds)s", provider.appID ?? "admin"]
                            .joined(separator: "\t") + mark)
                }
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a provider, whoever registered it.")
        @Argument var id: String
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            try withProviders(database) { providers in
                try providers.unregister(providerID: id, appID: nil)
                print("removed provider \(id)")
            }
        }
    }

    struct Prefer: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a provider the preferred one for its task type (the one workers get tasks for).")
        @Argument(help: "Task type id.") var type: String
        @Argument(help: "Provider id; it must process that type.") var provider: String
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            try withProviders(database) { providers in
                try providers.setPreferred(taskType: type, providerID: provider)
                print("preferred provider for \(type): \(provider)")
            }
        }
    }
}

/// Runs `body` with the provider store, for the provider and type commands.
func withProviders(_ options: DatabaseOptions, _ body: (ProviderStore) throws -> Void) throws {
    try withMigratedPool(options) { pool, _ in try body(ProviderStore(pool: pool)) }
}
