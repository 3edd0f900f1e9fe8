import ArgumentParser

struct AppCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "app", abstract: "Manage ExApps (workers and consumers using AppAPI headers).",
        subcommands: [Add.self, List.self, Remove.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register an ExApp and print its secret, once.")
        @Argument(help: "App id: letters, digits, _ . @ -") var appID: String
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            try withAccounts(database) { accounts in
                let secret = try accounts.addApp(appID: appID)
                print("registered app \(appID)")
                print("secret (shown once): \(secret)")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List ExApps.")
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            try withAccounts(database) { accounts in
                for app in try accounts.apps() { print(app.appID + (app.enabled ? "" : "\tdisabled")) }
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an ExApp.")
        @Argument var appID: String
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            try withAccounts(database) { accounts in
                try accounts.removeApp(appID: appID)
                print("removed app \(appID)")
            }
        }
    }
}
