import ArgumentParser
import Foundation
import JSON
import TaskQueue

struct TypeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "type", abstract: "Manage custom task types (beyond the core ones), and pause or limit any type.",
        discussion: """
            A type is given as JSON in the form GET /tasktypes lists it, plus its id: {"id", "name", \
            "description", "inputShape": {"<key>": {"name", "description", "type": "Text"}}, "outputShape", \
            and optionally "optionalInputShape", "optionalOutputShape", the four "...EnumValues" maps \
            ({"<key>": [{"name", "value"}]}) and "inputShapeDefaults" / "optionalInputShapeDefaults"}. \
            A type is listed and can be scheduled once it has a provider.
            """,
        subcommands: [Add.self, List.self, Remove.self, Pause.self, Resume.self, Limit.self])

    struct Pause: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop handing out tasks of a type; it keeps accepting them, and waiting workers keep waiting.")
        @Argument(help: "The task type, e.g. core:text2text.") var type: String
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            try withAdministration(database) { administration in
                _ = try administration.setPaused(type: type, true)
                print("paused \(type)")
            }
        }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Hand out tasks of a paused type again; waiting workers are woken.")
        @Argument(help: "The task type.") var type: String
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            try withAdministration(database) { administration in
                _ = try administration.setPaused(type: type, false)
                print("resumed \(type)")
            }
        }
    }

    struct Limit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "At most N tasks of a type running at once, across all server processes ('none' removes the limit).")
        @Argument(help: "The task type.") var type: String
        @Argument(help: "1 to 100000, or none.") var maxRunning: String
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            let limit: Int?
            if maxRunning == "none" {
                limit = nil
            } else if let number = Int(maxRunning) {
                limit = number
            } else {
                throw ValidationError("the limit must be a number from 1 to 100000, or none")
            }
            try withAdministration(database) { administration in
                _ = try administration.setMaxRunning(type: type, limit)
                print(limit.map { "at most \($0) tasks of \(type) run at once" } ?? "\(type) has no running limit")
            }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create or update a custom task type.")
        @Option(help: "A file holding the type's JSON.") var file: String?
        @Argument(help: "The type's JSON (instead of --file).") var json: String?
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            guard (file == nil) != (json == nil) else { throw ValidationError("give the type's JSON as an argument or with --file") }
        }

        func run() throws {
            let text: String
            if let file {
                guard let contents = FileManager.default.contents(atPath: file) else {
                    throw ValidationError("cannot read \(file)")
                }
                text = String(decoding: contents, as: UTF8.self)
            } else {
                text = json ?? ""
            }
            let type = try TaskTypeDefinition.parse(text)
            guard TaskTypeCatalog.core[type.id] == nil else {
                throw ValidationError("'\(type.id)' is a core task type; choose another id")
            }
            try withProviders(database) { providers in
                try providers.addCustomType(type)
                print("saved task type \(type.id)")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List custom task types: id and name.")
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            try withProviders(database) { providers in
                for type in try providers.customTypes() { print("\(type.id)\t\(type.name)") }
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a custom task type; refused while providers for it remain. Its tasks stay.")
        @Argument var id: String
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            try withProviders(database) { providers in
                try providers.removeCustomType(id: id)
                print("removed task type \(id)")
            }
        }
    }
}
