import JSON
import Testing

@Suite("Parse errors")
struct JSONParseErrorTests {
    /// Parses `input`, expecting a syntax error, and returns its parts.
    private func syntaxError(
        _ input: [UInt8], options: JSONParseOptions = .default, sourceLocation: SourceLocation = #_sourceLocation
    ) -> (message: String, line: Int, column: Int, position: Int)? {
        do {
            let value = try JSONValue.parse(input, options: options)
            Issue.record("parsed as \(value)", sourceLocation: sourceLocation)
        } catch .syntax(let message, let line, let column, let position) {
            return (message, line, column, position)
        } catch {
            Issue.record("expected a syntax error, got \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }

    private func syntaxError(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> (message: String, line: Int, column: Int, position: Int)? {
        syntaxError(Array(text.utf8), sourceLocation: sourceLocation)
    }

    @Test(arguments: [
        #"{"a":1"#, "[1,2", #""unterminated"#, "tru", "-", "1.", #"{"a""#, #"{"a":"#,
        "[1,]", #"{"a":1,}"#, "[1 2]", "{a:1}", "'single'", "01", "+1", ".5", "NaN", "Infinity",
        "hello", "nul", "True", "[1]x", "{} {}", "1 2", "[1]]", "\u{0}",
    ])
    func malformedDocumentsReportWhere(_ text: String) throws {
        let error = try #require(syntaxError(text))
        #expect(!error.message.isEmpty)
        #expect(error.line >= 1)
        #expect(error.position >= 0)
        #expect(error.position <= text.utf8.count)
    }

    @Test func positionPointsAtTrailingGarbage() throws {
        let error = try #require(syntaxError("[1]  x"))
        #expect(error.line == 1)
        #expect(error.column == 6)
        #expect(error.position == 6)
        #expect(error.message.contains("end of file expected"))
    }

    @Test func lineIsCounted() throws {
        let error = try #require(syntaxError("[\n1,\n2,\n]"))
        #expect(error.line == 4)
    }

    @Test func descriptionIsAShortSentence() throws {
        let error: JSONParseError = .syntax(message: "boom", line: 1, column: 5, position: 4)
        #expect(error.description == "invalid JSON at line 1, column 5: boom")
        #expect(JSONParseError.tooDeep(limit: 64).description == "JSON nested deeper than 64 levels")
        #expect(JSONParseError.empty.description == "empty JSON document")
        #expect(throws: JSONParseError.self) { try JSONValue.parse("[1]  x") }
        do {
            _ = try JSONValue.parse("[1]  x")
        } catch {
            #expect(error.description.hasPrefix("invalid JSON at line 1, column 6: "))
        }
    }

    @Test(arguments: ["", " ", "\n\t\r "])
    func emptyInput(_ text: String) {
        #expect(throws: JSONParseError.empty) { try JSONValue.parse(text) }
        #expect(throws: JSONParseError.empty) { try JSONValue.parse(Array(text.utf8)) }
    }

    @Test func duplicateKeysAreRefusedByDefault() throws {
        let error = try #require(syntaxError(Array(#"{"a":1,"b":2,"a":3}"#.utf8)))
        #expect(error.message.contains("duplicate"))
        let nested = try #require(syntaxError(Array(#"[{"x":{"k":1,"k":1}}]"#.utf8)))
        #expect(nested.message.contains("duplicate"))
    }

    @Test func duplicateKeysCanBeAllowed() throws {
        let options = JSONParseOptions(rejectDuplicateKeys: false)
        let value = try JSONValue.parse(#"{"a":1,"b":2,"a":3}"#, options: options)
        #expect(value.objectValue?.keys == ["a", "b"])
        #expect(value["a"] == 3)
    }

    @Test(arguments: [
        [0x22, 0xFF, 0x22],                 // not UTF-8 at all
        [0x22, 0xC3, 0x22],                 // truncated sequence
        [0x22, 0xC0, 0xAF, 0x22],           // overlong encoding of "/"
        [0x22, 0xED, 0xA0, 0x80, 0x22],     // encoded surrogate
        [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], // beyond U+10FFFF
        [0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D], // in a key
        [0xFF],
    ] as [[UInt8]])
    func invalidUTF8IsRefused(_ bytes: [UInt8]) {
        _ = syntaxError(bytes)
    }

    @Test func errorMessageQuotingInvalidBytesIsStillAString() throws {
        let error = try #require(syntaxError([0x5B, 0x31, 0x5D, 0xFF, 0xFE]))
        #expect(!error.message.isEmpty)
    }

    @Test(arguments: [
        #""a\u0000b""#, #"{"a\u0000":1}"#, "\"a\u{0}b\"",
        #""\ud800""#, #""\udc00x""#, #""\x""#,
    ])
    func nulAndBrokenEscapesAreRefused(_ text: String) {
        _ = syntaxError(text)
    }

    @Test(arguments: [
        "9223372036854775808", "-9223372036854775809", "[99999999999999999999]", "1e400", "-1e400",
    ])
    func numbersOutOfRangeAreRefused(_ text: String) {
        _ = syntaxError(text)
    }

    @Test func integerLimitsAreAccepted() throws {
        #expect(try JSONValue.parse("9223372036854775807") == .int(.max))
        #expect(try JSONValue.parse("-9223372036854775808") == .int(.min))
        #expect(try JSONValue.parse("1e-400") == .double(0))
    }
}
