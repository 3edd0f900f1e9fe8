import JSON
import Testing

@Suite("Round trips")
struct JSONRoundTripTests {
    /// Serializes, checks the exact text, parses back and checks the value survived.
    private func expectRoundTrip(_ value: JSONValue, as text: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(value.serializedString() == text, sourceLocation: sourceLocation)
        #expect(value.serialized() == Array(text.utf8), sourceLocation: sourceLocation)
        #expect(try JSONValue.parse(value.serialized()) == value, sourceLocation: sourceLocation)
        #expect(try JSONValue.parse(text) == value, sourceLocation: sourceLocation)
    }

    @Test func scalars() throws {
        try expectRoundTrip(.null, as: "null")
        try expectRoundTrip(.bool(true), as: "true")
        try expectRoundTrip(.bool(false), as: "false")
        try expectRoundTrip(.int(0), as: "0")
        try expectRoundTrip(.int(-42), as: "-42")
        try expectRoundTrip(.int(.max), as: "9223372036854775807")
        try expectRoundTrip(.int(.min), as: "-9223372036854775808")
        try expectRoundTrip(.string(""), as: #""""#)
        try expectRoundTrip(.string("hé \"quoted\" \\ / \n\t ✓ 🚀"), as: #""hé \"quoted\" \\ / \n\t ✓ 🚀""#)
    }

    @Test(arguments: [0.5, 1e-7, -2.25, 0.1, 1e300, Double.leastNonzeroMagnitude, Double.pi, 1.0, -0.0])
    func doubles(_ number: Double) throws {
        let parsed = try JSONValue.parse(JSONValue.double(number).serialized())
        #expect(parsed == .double(number))
        #expect(parsed.doubleValue?.sign == number.sign)
    }

    @Test func integralDoublesStayDoubles() throws {
        try expectRoundTrip(.double(2), as: "2.0")
        #expect(try JSONValue.parse("2.0") == .double(2))
        #expect(try JSONValue.parse("2") == .int(2))
        #expect(try JSONValue.parse("2e0") == .double(2))
    }

    @Test func nonFiniteDoublesEncodeAsNull() {
        #expect(JSONValue.double(.nan).serializedString() == "null")
        #expect(JSONValue.double(.infinity).serializedString() == "null")
        #expect(JSONValue.array([.double(-.infinity), 1]).serializedString() == "[null,1]")
    }

    @Test func containers() throws {
        try expectRoundTrip([], as: "[]")
        try expectRoundTrip([:], as: "{}")
        try expectRoundTrip([1, "two", 3.5, true, nil, [], [:]], as: #"[1,"two",3.5,true,null,[],{}]"#)
        try expectRoundTrip(
            ["id": 7, "tags": ["a", "b"], "meta": ["nested": ["deeper": nil]]],
            as: #"{"id":7,"tags":["a","b"],"meta":{"nested":{"deeper":null}}}"#
        )
    }

    @Test func keyOrderIsKept() throws {
        let text = #"{"zeta":1,"alpha":2,"mid":{"b":1,"a":2},"":3,"beta":4}"#
        let parsed = try JSONValue.parse(text)
        #expect(parsed.objectValue?.keys == ["zeta", "alpha", "mid", "", "beta"])
        #expect(parsed["mid"]?.objectValue?.keys == ["b", "a"])
        #expect(parsed.serializedString() == text)
    }

    @Test func nulInStringsSerializesEscaped() {
        #expect(JSONValue.string("a\u{0}b").serializedString() == #""a\u0000b""#)
        #expect(JSONValue.object(["k\u{0}ey": "\u{0}"]).serializedString() == #"{"k\u0000ey":"\u0000"}"#)
    }

    @Test func controlCharactersAreEscaped() throws {
        try expectRoundTrip(.string("\u{1}\u{1F}\r\u{8}\u{C}"), as: #""\u0001\u001F\r\b\f""#)
    }

    @Test func escapesAndSurrogatePairsParse() throws {
        #expect(try JSONValue.parse(#""\u00e9\ud83d\ude80\/""#) == .string("é🚀/"))
    }

    @Test func parsesFromTextAndBytesAlike() throws {
        let text = #" { "a" : [ 1 , 2 ] } "#
        #expect(try JSONValue.parse(text) == JSONValue.parse(Array(text.utf8)))
        #expect(try JSONValue.parse(text) == ["a": [1, 2]])
    }

    /// Documents of every size around a page (the size of a first buffer guess).
    @Test(arguments: 4090...4100)
    func documentsAroundTheFirstBufferSize(length: Int) throws {
        let value = JSONValue.string(String(repeating: "x", count: length - 2))
        let bytes = value.serialized()
        #expect(bytes.count == length)
        #expect(try JSONValue.parse(bytes) == value)
    }

    @Test func largeDocument() throws {
        let value = JSONValue.array((0..<10_000).map { ["index": .int(Int64($0)), "name": .string("item \($0)")] })
        #expect(try JSONValue.parse(value.serialized()) == value)
    }
}
