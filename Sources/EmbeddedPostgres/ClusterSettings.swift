import Foundation

/// The `postgresql.conf` settings of an embedded cluster, written to their own file at every
/// start so that a changed configuration takes effect on the next start.
struct ClusterSettings {
    /// Settings in the order written; a later entry for the same name wins.
    let entries: [(name: String, value: String)]

    /// The embedded defaults (unix socket only, in the cluster's own folder) followed by `extra`, sorted by name.
    init(layout: ClusterLayout, port: Int, extra: [String: String]) throws(EmbeddedPostgresError) {
        var entries: [(name: String, value: String)] = [
            ("listen_addresses", ""),
            ("unix_socket_directories", layout.socketDirectory),
            ("port", String(port)),
            ("max_connections", "200"),
        ]
        for (name, value) in extra.sorted(by: { $0.key < $1.key }) {
            guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_" || $0 == ".") }) else {
                throw .invalidConfiguration("\"\(name)\" is not a PostgreSQL setting name")
            }
            guard !value.contains(where: \.isNewline) else {
                throw .invalidConfiguration("the value of \(name) contains a line break")
            }
            entries.append((name, value))
        }
        self.entries = entries
    }

    /// The settings file's text; every value is quoted, which PostgreSQL accepts for settings of any type.
    var fileContents: String {
        var text = "# Written by TaskDispatch at every start of the embedded cluster; edits are overwritten.\n"
        for (name, value) in entries {
            let escaped = value.replacing("\\", with: "\\\\").replacing("'", with: "''")
            text += "\(name) = '\(escaped)'\n"
        }
        return text
    }

    /// Writes the settings file and makes sure `postgresql.conf` includes it.
    func write(to layout: ClusterLayout) throws(EmbeddedPostgresError) {
        let includeLine = "include_if_exists = '\(ClusterLayout.settingsFileName)'"
        do {
            try fileContents.write(toFile: layout.settingsFile, atomically: true, encoding: .utf8)
            let main = try String(contentsOfFile: layout.mainSettingsFile, encoding: .utf8)
            if !main.contains(includeLine) {
                let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: layout.mainSettingsFile))
                defer { try? handle.close() }
                try handle.seekToEnd()
                try handle.write(contentsOf: Data("\n\(includeLine)\n".utf8))
            }
        } catch {
            throw .notAccessible("could not write the cluster settings in \(layout.dataDirectory): \(error)")
        }
    }
}
