import Foundation

/// Turns `pg_dump --schema-only --no-owner --no-privileges` output into the committed
/// `schema.sql`: without what changes from one dump or PostgreSQL release to the next (version
/// comments, `SET` lines, `\restrict` keys), single blank lines, and a header saying where the
/// file comes from.
enum SchemaDumpNormalizer {
    static let header = """
        -- The schema the migrations add up to, generated from a freshly migrated database with
        -- pg_dump --schema-only --no-owner --no-privileges (PostgreSQL 15) by SchemaFileTests; do not edit.
        -- Regenerate: TASKDISPATCH_UPDATE_SCHEMA=1 swift test --filter SchemaFileTests
        """

    static func normalize(_ dump: String) -> String {
        var text = dump.replacingOccurrences(of: "\r\n", with: "\n")
        for block in ["--\n-- PostgreSQL database dump\n--\n", "--\n-- PostgreSQL database dump complete\n--\n"] {
            text = text.replacingOccurrences(of: block, with: "")
        }
        var lines: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) where !isVolatile(line) {
            if line.isEmpty, lines.last?.isEmpty ?? true { continue }
            lines.append(line)
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        return header + "\n\n" + lines.joined(separator: "\n") + "\n"
    }

    /// Lines that differ between PostgreSQL releases or between dumps of one database.
    private static func isVolatile(_ line: Substring) -> Bool {
        line.hasPrefix("-- Dumped from database version ")
            || line.hasPrefix("-- Dumped by pg_dump version ")
            || line.hasPrefix("SET ")
            || line.hasPrefix("SELECT pg_catalog.set_config(")
            // pg_dump 15.14 and later fence the dump with a random key.
            || line.hasPrefix("\\restrict ") || line.hasPrefix("\\unrestrict ")
    }
}
