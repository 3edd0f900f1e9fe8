import CLibPQ

/// One immutable query result.
///
/// The result owns its `PGresult` and frees it when the last reference goes away. libpq
/// never changes a `PGresult` after returning it, so a result may be read from any thread.
public final class PostgresResult: @unchecked Sendable {
    /// The `PGresult`; owned by this object alone and only read after `init`.
    let handle: OpaquePointer

    /// The column names, in order.
    public let columnNames: [String]

    /// Column indexes by name, resolved once per result so row lookups by name stay cheap.
    /// A name that occurs twice (`SELECT 1 AS a, 2 AS a`) resolves to its first column, as in libpq.
    let columnIndexes: [String: Int]

    /// Takes ownership of `handle`; it is freed in `deinit`.
    init(owning handle: OpaquePointer) {
        self.handle = handle
        let names = (0..<Int(PQnfields(handle))).map { String(cString: PQfname(handle, Int32($0))) }
        self.columnNames = names
        self.columnIndexes = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    }

    deinit {
        PQclear(handle)
    }

    /// The number of rows returned.
    public var rowCount: Int {
        Int(PQntuples(handle))
    }

    /// The number of rows the statement inserted, updated, deleted, merged or selected, as in
    /// its command tag (`UPDATE 3` → 3); 0 for statements without a count.
    public var affectedRows: Int {
        Int(String(cString: PQcmdTuples(handle))) ?? 0
    }

    /// The libpq status of the result, checked once by the connection.
    var status: ExecStatusType {
        PQresultStatus(handle)
    }

    /// All rows, in order.
    public var rows: [PostgresRow] {
        (0..<rowCount).map { PostgresRow(result: self, index: $0) }
    }

    /// The row at `row`; it must be in `0..<rowCount`.
    public subscript(row: Int) -> PostgresRow {
        precondition(row >= 0 && row < rowCount, "row \(row) is out of range 0..<\(rowCount)")
        return PostgresRow(result: self, index: row)
    }

    /// The index of the column called `name`; asking for a column the query did not return is a programmer error.
    func columnIndex(_ name: String) -> Int {
        guard let index = columnIndexes[name] else {
            preconditionFailure("no column \"\(name)\" in result; columns are \(columnNames)")
        }
        return index
    }

    /// Field error details, for results that report a failure.
    func errorField(_ code: Int32) -> String? {
        PQresultErrorField(handle, code).map { String(cString: $0) }
    }
}
