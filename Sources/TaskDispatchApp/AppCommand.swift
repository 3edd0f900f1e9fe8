import ArgumentParser
import Foundation
import TaskQueue

struct AppCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "app", abstract: "Manage ExApps (workers and consumers using AppAPI headers).",
        subcommands: [Add.self, SetURL.self, List.self, Remove.self])

    /// The key file option of the commands that seal secrets.
    struct KeyOptions: ParsableArguments {
        @Option(help: ServerSettings.argumentHelp("secret-key-file")) var secretKeyFile: String?

        var flags: [String: String] { secretKeyFile.map { ["secret-key-file": $0] } ?? [:] }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register an ExApp and print its secret, once.",
            discussion: """
                The secret is kept hashed, and also sealed under the secret key file so that trigger calls \
                can present it. With --url the server calls POST <URL>/trigger?providerId=… when work \
                arrives for the app's providers (loopback and private addresses allowed).
                """)
        @Argument(help: "App id: letters, digits, _ . @ -") var appID: String
        @Option(help: "Where the ExApp serves (http or https), for trigger calls.") var url: String?
        @OptionGroup var key: KeyOptions
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            let baseURL = try url.map { text in try ExAppBaseURL(text) }
            try withMigratedPool(database, extraFlags: key.flags) { pool, configuration in
                var sealer: SecretSealer?
                do {
                    sealer = try configuration.secretSealer()
                } catch {
                    // Without a URL the app works; only trigger calls need the sealed secret.
                    guard baseURL == nil else { throw error }
                    FileHandle.standardError.write(Data("warning: \(error); the secret is not sealed, so trigger calls need `app set-url --secret-stdin` later\n".utf8))
                }
                let secret = try AccountStore(pool: pool).addApp(appID: appID, sealer: sealer, baseURL: baseURL)
                print("registered app \(appID)" + (baseURL.map { " (trigger calls to \($0))" } ?? ""))
                print("secret (shown once): \(secret)")
            }
        }
    }

    struct SetURL: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-url",
            abstract: "Set or remove the URL an ExApp's trigger calls go to.",
            discussion: """
                An app registered before secrets were sealed needs its secret once: --secret-stdin reads \
                it from standard input (checked against the stored hash, then sealed).
                """)
        @Argument(help: "App id") var appID: String
        @Argument(help: "Where the ExApp serves (http or https); omit with --remove.") var url: String?
        @Flag(help: "Remove the URL: no more trigger calls.") var remove = false
        @Flag(help: "Read the app's secret from standard input and seal it.") var secretStdin = false
        @OptionGroup var key: KeyOptions
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            guard (url == nil) == remove else { throw ValidationError("give a URL, or --remove") }
        }

        func run() throws {
            let baseURL = try url.map { text in try ExAppBaseURL(text) }
            let secret = secretStdin ? readLine(strippingNewline: true)?.trimmingCharacters(in: .whitespaces) : nil
            if secretStdin, secret?.isEmpty ?? true { throw ValidationError("no secret on standard input") }
            try withMigratedPool(database, extraFlags: key.flags) { pool, configuration in
                let sealer = secret == nil ? nil : try configuration.secretSealer()
                try AccountStore(pool: pool).setAppURL(appID: appID, url: baseURL, secret: secret, sealer: sealer)
                print(baseURL.map { "app \(appID): trigger calls to \($0)" } ?? "app \(appID): no trigger calls")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List ExApps: id, URL of trigger calls, last answered trigger call, disabled.")
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            try withAccounts(database) { accounts in
                for app in try accounts.apps() {
                    var line = [app.appID, app.baseURL ?? "-"]
                    if let at = app.lastTriggeredAt {
                        line.append("triggered " + ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(at))))
                    }
                    if app.baseURL != nil, !app.hasSealedSecret { line.append("secret not sealed") }
                    if !app.enabled { line.append("disabled") }
                    print(line.joined(separator: "\t"))
                }
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
