import Foundation
import Postgres
import TaskDispatchTesting
import Testing
@testable import TaskQueue

@Suite("Committed schema")
struct SchemaFileTests {
    /// `Sources/TaskQueue/Migrations/schema.sql`, found from this file's place in the package.
    static let schemaFile = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/TaskQueue/Migrations/schema.sql")

    @Test("schema.sql is the schema a fresh database has after migrating, and its bookkeeping lists every migration")
    func committedSchemaMatchesMigrations() throws {
        let connection = try PostgresConnection(connectionString: try TestDatabase.create(prefix: "schema_file"), logger: StoreFixture.logger)
        defer { connection.close() }
        try SchemaMigrator(logger: StoreFixture.logger).migrate(connection)

        let recorded = try connection.query("SELECT version, name, checksum FROM schema_migrations ORDER BY version").rows
            .map { "\($0.int("version") ?? -1) \($0.string("name") ?? "-") \($0.string("checksum") ?? "-")" }
        #expect(recorded == SchemaMigrations.all.map { "\($0.version) \($0.name) \($0.checksum)" })

        let database = try #require(try connection.query("SELECT current_database() AS name").rows.first?.string("name"))
        let schema = SchemaDumpNormalizer.normalize(try TestDatabase.schemaDump(database: database))
        let committed = try? String(contentsOf: Self.schemaFile, encoding: .utf8)
        guard committed != schema else { return }

        if ProcessInfo.processInfo.environment["TASKDISPATCH_UPDATE_SCHEMA"] == "1" {
            try schema.write(to: Self.schemaFile, atomically: true, encoding: .utf8)
            Issue.record("rewrote \(Self.schemaFile.lastPathComponent) from the migrations; review the change and commit it")
        } else {
            Issue.record("""
                \(Self.schemaFile.lastPathComponent) is not the schema the migrations build \
                (first difference: \(Self.firstDifference(committed ?? "", schema))); \
                regenerate it with TASKDISPATCH_UPDATE_SCHEMA=1 swift test --filter SchemaFileTests
                """)
        }
    }

    @Test("the normalizer keeps the schema and drops what varies between dumps")
    func normalizerDropsVolatileLines() {
        let dump = """
            --
            -- PostgreSQL database dump
            --

            \\restrict Zx81key

            -- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
            -- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

            SET statement_timeout = 0;
            SELECT pg_catalog.set_config('search_path', '', false);
            SET check_function_bodies = false;

            --
            -- Name: things; Type: TABLE; Schema: public; Owner: -
            --

            CREATE TABLE public.things (
                id integer NOT NULL
            );



            --
            -- PostgreSQL database dump complete
            --

            \\unrestrict Zx81key

            """
        let expected = SchemaDumpNormalizer.header + """


            --
            -- Name: things; Type: TABLE; Schema: public; Owner: -
            --

            CREATE TABLE public.things (
                id integer NOT NULL
            );

            """
        #expect(SchemaDumpNormalizer.normalize(dump) == expected)
    }

    /// The first line where `old` and `new` differ, quoted from both, for a failure message.
    static func firstDifference(_ old: String, _ new: String) -> String {
        let oldLines = old.split(separator: "\n", omittingEmptySubsequences: false)
        let newLines = new.split(separator: "\n", omittingEmptySubsequences: false)
        for index in 0..<max(oldLines.count, newLines.count) {
            let oldLine = index < oldLines.count ? String(oldLines[index]) : "<end of file>"
            let newLine = index < newLines.count ? String(newLines[index]) : "<end of file>"
            if oldLine != newLine {
                return "line \(index + 1): committed \"\(oldLine)\", migrations \"\(newLine)\""
            }
        }
        return "none"
    }
}
