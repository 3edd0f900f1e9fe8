import Postgres
import Testing

/// Every bindable type goes to the server and comes back unchanged.
@Suite struct BindingTests {
    static let awkwardStrings = [
        "plain", "a,b", "\"q\"", "back\\slash", "NULL", "null", "", " padded ", "{braces}", "tab\tand\nnewline",
        "single'quote", "żółw 🐢 漢字", "\\x41",
    ]

    @Test(arguments: awkwardStrings)
    func stringRoundTrips(_ value: String) async throws {
        try await onOwnThread {
            let connection = try freshConnection(prefix: "bind_string")
            let row = try connection.query("SELECT $1::text AS value, $1::text IS NULL AS missing", [value])[0]
            #expect(row.string("value") == value)
            #expect(row.bool("missing") == false)
        }
    }

    @Test func stringArrayRoundTripsEveryAwkwardElement() async throws {
        try await onOwnThread {
            let connection = try freshConnection(prefix: "bind_array")
            let values = Self.awkwardStrings
            let result = try connection.query(
                "SELECT element FROM unnest($1::text[]) WITH ORDINALITY AS items(element, position) ORDER BY position",
                [values]
            )
            #expect(result.rows.map { $0.string("element") } == values)
            #expect(try connection.query("SELECT cardinality($1::text[]) AS n", [values])[0].int("n") == values.count)
            #expect(try connection.query("SELECT cardinality($1::text[]) AS n", [[String]()])[0].int("n") == 0)
        }
    }

    @Test func arraysWithNullElementsAndIntegers() async throws {
        try await onOwnThread {
            let connection = try freshConnection(prefix: "bind_array_null")
            let withNull: [String?] = ["x", nil, "NULL"]
            let elements = try connection.query(
                "SELECT element FROM unnest($1::text[]) WITH ORDINALITY AS items(element, position) ORDER BY position",
                [withNull]
            )
            #expect(elements.rows.map { $0.string("element") } == withNull)
            let numbers: [Int64] = [Int64.min, -1, 0, 42, Int64.max]
            let sums = try connection.query("SELECT array_length($1::int8[], 1) AS n, $1::int8[] AS literal", [numbers])[0]
            #expect(sums.int("n") == numbers.count)
            #expect(sums.string("literal") == "{-9223372036854775808,-1,0,42,9223372036854775807}")
        }
    }

    @Test func integersRoundTripAtTheirLimits() async throws {
        try await onOwnThread {
            let connection = try freshConnection(prefix: "bind_int")
            for value: Int64 in [.min, -1, 0, 1, .max] {
                #expect(try connection.query("SELECT $1::int8 AS value", [value])[0].int64("value") == value)
            }
            for value: Int32 in [.min, 0, .max] {
                #expect(try connection.query("SELECT $1::int4 AS value", [value])[0].int("value") == Int(value))
            }
            #expect(try connection.query("SELECT $1::int8 + 1 AS value", [41])[0].int("value") == 42)
        }
    }

    @Test(arguments: [0.0, 1.5, -2.25, 0.1, 1e-300, 1e300, Double.greatestFiniteMagnitude, .infinity, -.infinity])
    func doubleRoundTripsExactly(_ value: Double) async throws {
        try await onOwnThread {
            let connection = try freshConnection(prefix: "bind_double")
            #expect(try connection.query("SELECT $1::float8 AS value", [value])[0].double("value") == value)
        }
    }

    @Test func notANumberRoundTrips() async throws {
        try await onOwnThread {
            let connection = try freshConnection(prefix: "bind_nan")
            let value = try connection.query("SELECT $1::float8 AS value", [Double.nan])[0].double("value")
            #expect(value?.isNaN == true)
        }
    }

    @Test func boolsAndNulls() async throws {
        try await onOwnThread {
            let connection = try freshConnection(prefix: "bind_bool")
            let row = try connection.query(
                "SELECT $1::bool AS yes, $2::bool AS no, $3::text AS nothing, $4::int8 AS some",
                [true, false, String?.none, Int64?.some(7)]
            )[0]
            #expect(row.bool("yes") == true)
            #expect(row.bool("no") == false)
            #expect(row.isNull("nothing"))
            #expect(row.string("nothing") == nil)
            #expect(row.int64("some") == 7)
            #expect(!row.isNull("some"))
        }
    }

    @Test func bytesRoundTrip() async throws {
        try await onOwnThread {
            let connection = try freshConnection(prefix: "bind_bytes")
            let everyByte = (0...255).map(UInt8.init)
            for value in [everyByte, [], [0x00], Array("text".utf8)] {
                let row = try connection.query("SELECT $1::bytea AS value, length($1::bytea) AS length", [value])[0]
                #expect(row.bytes("value") == value)
                #expect(row.int("length") == value.count)
            }
        }
    }

    @Test func valuesRoundTripThroughATableWithoutCasts() async throws {
        try await onOwnThread {
            let connection = try freshConnection(prefix: "bind_table")
            try connection.execute("""
                CREATE TABLE sample (name text, count int8, ratio float8, flag bool, payload bytea, tags text[], note text)
                """)
            let tags = ["a,b", "\"q\"", "back\\slash", "NULL", ""]
            let inserted = try connection.query(
                "INSERT INTO sample VALUES ($1, $2, $3, $4, $5, $6, $7)",
                ["żółw", Int64(9), 0.5, true, [UInt8](arrayLiteral: 1, 2, 3), tags, String?.none]
            )
            #expect(inserted.affectedRows == 1)
            let result = try connection.query("SELECT * FROM sample")
            #expect(result.columnNames == ["name", "count", "ratio", "flag", "payload", "tags", "note"])
            let row = result[0]
            #expect(row.string("name") == "żółw")
            #expect(row.int64(at: 1) == 9)
            #expect(row.double("ratio") == 0.5)
            #expect(row.bool("flag") == true)
            #expect(row.bytes("payload") == [1, 2, 3])
            #expect(row.isNull("note"))
            let unnested = try connection.query("SELECT unnest(tags) AS tag FROM sample")
            #expect(unnested.rows.map { $0.string("tag") } == tags)
        }
    }

    @Test func literalsEncodeAsPostgresReadsThem() {
        #expect(["a,b", "\"q\"", "back\\slash", "NULL", ""].postgresText == #"{"a,b","\"q\"","back\\slash","NULL",""}"#)
        let withNull: [String?] = ["x", nil]
        #expect(withNull.postgresText == #"{"x",NULL}"#)
        #expect([UInt8](arrayLiteral: 0, 15, 255).postgresText == #"\x000fff"#)
        #expect(true.postgresText == "t")
        #expect(Double.infinity.postgresText == "Infinity")
        #expect(String?.none.postgresText == nil)
    }
}
