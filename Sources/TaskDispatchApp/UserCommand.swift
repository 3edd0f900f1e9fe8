import ArgumentParser

struct UserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Manage users and their app passwords.",
        subcommands: [Add.self, List.self, Remove.self, Password.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a user and print an app password, once.")
        @Argument(help: "User name: letters, digits, _ . @ -") var name: String
        @Flag(help: "Allow the admin routes.") var admin = false
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            try withAccounts(database) { accounts in
                let (user, password) = try accounts.addUser(name: name, isAdmin: admin)
                print("created user \(user.name)\(user.isAdmin ? " (admin)" : "")")
                print("app password (shown once): \(password)")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users.")
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            try withAccounts(database) { accounts in
                for user in try accounts.users() { print(user.name + (user.isAdmin ? "\tadmin" : "")) }
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a user and its app passwords.")
        @Argument var name: String
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            try withAccounts(database) { accounts in
                try accounts.removeUser(name: name)
                print("removed user \(name)")
            }
        }
    }

    struct Password: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add an app password to a user and print it, once.")
        @Argument var name: String
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            try withAccounts(database) { accounts in
                print("app password (shown once): \(try accounts.addAppPassword(userName: name))")
            }
        }
    }
}
