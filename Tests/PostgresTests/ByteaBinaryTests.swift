import Postgres
import Testing

/// `bytea` in binary format: parameters sent as their bytes, results read without hex.
@Suite struct ByteaBinaryTests {
    static let everyByte = (0...255).map(UInt8.init)

    /// Bytes that are not a pattern a decoder could get right by accident (xorshift).
    static func scrambled(count: Int) -> [UInt8] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        return (0..<count).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return UInt8(truncatingIfNeeded: state >> 32)
        }
    }

    @Test func everyByteValueRoundTripsInBothResultFormats() async throws {
        try await onOwnThread {
            let connection = try freshConnection(prefix: "bytea_every")
            for format in [PostgresResultFormat.binary, .text] {
                let row = try connection.query(
                    "SELECT \(bind: Self.everyByte) AS value, length(\(bind: Self.everyByte)) AS length", resultFormat: format)[0]
                #expect(row.bytes("value") == Self.everyByte)
                #expect(row.int("length") == 256)
            }
            // The server saw the bytes themselves, not their hex text.
            let sum = try connection.query(
                "SELECT sum(get_byte(\(bind: Self.everyByte), i)) AS total FROM generate_series(0, 255) AS i")[0]
            #expect(sum.int("total") == (0...255).reduce(0, +))
        }
    }

    @Test func sixteenMebibytesRoundTripThroughATable() async throws {
        try await onOwnThread {
            let connection = try freshConnection(prefix: "bytea_large")
            try connection.execute("CREATE TABLE file (id int8 PRIMARY KEY, name text, size int8, data bytea)")
            let blob = Self.scrambled(count: 16 << 20)
            try connection.execute(
                "INSERT INTO file VALUES (\(bind: Int64(1)), \(bind: "big.bin"), \(bind: blob.count), \(bind: blob))")
            let row = try connection.query(
                "SELECT id, name, size, data, length(data) AS stored FROM file WHERE id = \(bind: Int64(1))", resultFormat: .binary)[0]
            #expect(row.int64("id") == 1)
            #expect(row.string("name") == "big.bin")
            #expect(row.int64("size") == Int64(blob.count))
            #expect(row.int("stored") == blob.count)
            let data = try #require(row.bytes("data"))
            #expect(data.count == blob.count)
            #expect(data == blob)
            // The text path reads the same value.
            let text = try connection.query("SELECT data FROM file WHERE id = \(bind: Int64(1))")[0]
            #expect(text.bytes("data") == blob)
        }
    }

    @Test func nulBytesEmptyValuesAndNullStayDistinct() async throws {
        try await onOwnThread {
            let connection = try freshConnection(prefix: "bytea_nul")
            try connection.execute("CREATE TABLE blob (id int8, data bytea)")
            let values: [[UInt8]?] = [[0], [0, 0, 0], [0x41, 0, 0x42, 0], [], nil]
            for (id, value) in values.enumerated() {
                try connection.execute("INSERT INTO blob VALUES (\(bind: id), \(bind: value))")
            }
            for format in [PostgresResultFormat.binary, .text] {
                let rows = try connection.query(
                    "SELECT data, data IS NULL AS missing, octet_length(data) AS length FROM blob ORDER BY id", resultFormat: format
                ).rows
                #expect(rows.map { $0.bytes("data") } == values)
                #expect(rows.map { $0.bool("missing") } == values.map { $0 == nil })
                #expect(rows.map { $0.int("length") } == values.map { $0?.count })
            }
        }
    }

    @Test func bytesBoundThroughTheArrayAPIAreByteaWhateverTheContext() async throws {
        try await onOwnThread {
            let connection = try freshConnection(prefix: "bytea_context")
            // No cast and no column: the declared type, not inference, makes it bytea.
            let row = try connection.query("SELECT $1 AS value, pg_typeof($1)::text AS type", [Self.everyByte])[0]
            #expect(row.bytes("value") == Self.everyByte)
            #expect(row.string("value") == [UInt8](Self.everyByte).postgresText)
            #expect(row.string("type") == "bytea")
            // The same text with a NULL first and bytes later works both ways.
            let sql = "SELECT $1::bytea AS value"
            #expect(try connection.query(sql, [[UInt8]?.none])[0].isNull("value"))
            #expect(try connection.query(sql, [[UInt8]([0, 1])])[0].bytes("value") == [0, 1])
            #expect(try connection.query(sql, [[UInt8]?.none])[0].isNull("value"))
        }
    }

    @Test func binaryResultsDecodeTheCommonScalarTypes() async throws {
        try await onOwnThread {
            let connection = try freshConnection(prefix: "bytea_scalars")
            let row = try connection.query(
                """
                SELECT \(bind: Int64.min)::int8 AS big, \(bind: -7)::int4 AS four, \(bind: 300)::int2 AS two,
                       \(bind: 1.5)::float8 AS eight, \(bind: -0.25)::float4 AS single, 'Infinity'::float8 AS infinite,
                       \(bind: true)::bool AS yes, false AS no, \(bind: "żółw")::text AS word, 'x'::varchar AS short,
                       'ab'::char(3) AS padded, NULL::int8 AS nothing, 42::numeric AS unsupported
                """,
                resultFormat: .binary)[0]
            #expect(row.int64("big") == Int64.min)
            #expect(row.int("four") == -7)
            #expect(row.int("two") == 300)
            #expect(row.double("eight") == 1.5)
            #expect(row.double("single") == -0.25)
            #expect(row.double("infinite") == .infinity)
            #expect(row.double("four") == -7)
            #expect(row.bool("yes") == true)
            #expect(row.bool("no") == false)
            #expect(row.string("word") == "żółw")
            #expect(row.string("short") == "x")
            #expect(row.string("padded") == "ab ")
            #expect(row.isNull("nothing"))
            #expect(row.int64("nothing") == nil)
            // Text as the text format would give it, for the decoded types.
            #expect(row.string("big") == "-9223372036854775808")
            #expect(row.string("yes") == "t")
            #expect(row.string("infinite") == "Infinity")
            // Mismatched or undecoded types read as nil rather than as garbage.
            #expect(row.int64("word") == nil)
            #expect(row.bool("four") == nil)
            #expect(row.bytes("big") == nil)
            #expect(row.string("unsupported") == nil)
            #expect(row.int("unsupported") == nil)
        }
    }

    @Test func withoutPreparedStatementsBinaryParametersAndResultsWorkToo() async throws {
        try await onOwnThread {
            let connection = try freshConnection(prefix: "bytea_unnamed", usesPreparedStatements: false)
            let row = try connection.query(
                "SELECT \(bind: Self.everyByte) AS value, \(bind: "text") AS word", resultFormat: .binary)[0]
            #expect(row.bytes("value") == Self.everyByte)
            #expect(row.string("word") == "text")
            #expect(try connection.query("SELECT $1 AS value", [[UInt8]([0, 7])])[0].bytes("value") == [0, 7])
        }
    }
}
