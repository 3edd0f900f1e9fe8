import Foundation

/// Where an embedded cluster keeps its files, all below one folder.
struct ClusterLayout: Sendable {
    /// The longest unix socket path accepted; the kernel limit (`sun_path`) is 108 bytes on Linux and 104 on macOS.
    static let maximumSocketPathLength = 100

    /// The cluster's folder, as an absolute path.
    let root: String

    init(dataDirectory: String) {
        root = URL(fileURLWithPath: dataDirectory).standardizedFileURL.path
    }

    /// The PostgreSQL data directory (`PGDATA`).
    var dataDirectory: String { root + "/pgdata" }
    /// The folder holding the unix socket.
    var socketDirectory: String { root + "/run" }
    /// The server's log, written by `pg_ctl start -l`.
    var logFile: String { root + "/postgres.log" }
    /// The settings this module writes at every start, included from `postgresql.conf`.
    var settingsFile: String { dataDirectory + "/" + Self.settingsFileName }
    /// `postgresql.conf` as created by `initdb`.
    var mainSettingsFile: String { dataDirectory + "/postgresql.conf" }
    /// Present once `initdb` finished.
    var versionFile: String { dataDirectory + "/PG_VERSION" }

    static let settingsFileName = "taskdispatch.conf"

    /// The socket file the server creates for `port`.
    func socketPath(port: Int) -> String {
        socketDirectory + "/.s.PGSQL.\(port)"
    }
}

/// Building libpq connection strings.
enum ConnectionInfo {
    /// A `key=value …` connection string, quoting values that need it.
    static func string(_ settings: KeyValuePairs<String, String>) -> String {
        settings.map { "\($0.key)=\(quoted($0.value))" }.joined(separator: " ")
    }

    /// `value` as libpq reads it: bare when it is plain, else single-quoted with `\` and `'` escaped.
    static func quoted(_ value: String) -> String {
        let isPlain = !value.isEmpty && !value.contains(where: { $0 == "'" || $0 == "\\" || $0.isWhitespace })
        if isPlain {
            return value
        }
        return "'" + value.replacing("\\", with: "\\\\").replacing("'", with: "\\'") + "'"
    }
}
