import Foundation
import Logging

/// Where the PostgreSQL server tools live.
struct PostgresBinaries {
    let directory: String

    var initdb: String { directory + "/initdb" }
    var pgCtl: String { directory + "/pg_ctl" }
    var pgDump: String { directory + "/pg_dump" }

    /// Finds the tools: the configured folder, else `PG_BINDIR`, else the newest Debian
    /// `/usr/lib/postgresql/<version>/bin`, else `pg_config --bindir`.
    static func locate(configured: String?, logger: Logger) throws(EmbeddedPostgresError) -> PostgresBinaries {
        var tried: [String] = []
        for candidate in candidates(configured: configured, logger: logger) {
            let binaries = PostgresBinaries(directory: candidate)
            if FileManager.default.isExecutableFile(atPath: binaries.initdb), FileManager.default.isExecutableFile(atPath: binaries.pgCtl) {
                return binaries
            }
            tried.append(candidate)
            // An explicit choice that does not hold the tools is a mistake, not a cue to look elsewhere.
            if candidate == configured {
                break
            }
        }
        throw .binariesNotFound("no initdb and pg_ctl in \(tried.isEmpty ? "any known location" : tried.joined(separator: ", "))")
    }

    private static func candidates(configured: String?, logger: Logger) -> [String] {
        if let configured {
            return [configured]
        }
        var found: [String] = []
        if let fromEnvironment = ProcessInfo.processInfo.environment["PG_BINDIR"], !fromEnvironment.isEmpty {
            found.append(fromEnvironment)
        }
        found += debianVersionDirectories()
        if let fromPgConfig = pgConfigBinDirectory(logger: logger) {
            found.append(fromPgConfig)
        }
        return found
    }

    /// `/usr/lib/postgresql/*/bin`, newest major version first.
    private static func debianVersionDirectories() -> [String] {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return versions
            .compactMap { name in Double(name).map { (version: $0, name: name) } }
            .sorted { $0.version > $1.version }
            .map { "\(root)/\($0.name)/bin" }
    }

    private static func pgConfigBinDirectory(logger: Logger) -> String? {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
            .split(separator: ":")
            .map { "\($0)/pg_config" }
            .first(where: FileManager.default.isExecutableFile(atPath:))
        guard let path else { return nil }
        let runner = CommandRunner(account: nil, workingDirectory: FileManager.default.currentDirectoryPath, logger: logger)
        guard let outcome = try? runner.run(path, ["--bindir"]) else { return nil }
        let directory = outcome.output.trimmingCharacters(in: .whitespacesAndNewlines)
        return directory.isEmpty ? nil : directory
    }
}
