import JSON
import Testing

@Suite("Nesting depth")
struct JSONDepthTests {
    private func nestedArrays(_ depth: Int, innermost: String = "") -> [UInt8] {
        Array((String(repeating: "[", count: depth) + innermost + String(repeating: "]", count: depth)).utf8)
    }

    private func nestedObjects(_ depth: Int) -> [UInt8] {
        Array((String(repeating: #"{"k":"#, count: depth - 1) + "{}" + String(repeating: "}", count: depth - 1)).utf8)
    }

    @Test func sixtyFourLevelsAreAccepted() throws {
        var value = try JSONValue.parse(nestedArrays(64, innermost: "1"))
        for _ in 0..<64 {
            value = try #require(value.arrayValue?.first)
        }
        #expect(value == 1)
        #expect(try JSONValue.parse(nestedObjects(64)).objectValue?.count == 1)
    }

    @Test func sixtyFiveLevelsAreRefused() {
        #expect(throws: JSONParseError.tooDeep(limit: 64)) { try JSONValue.parse(nestedArrays(65)) }
        #expect(throws: JSONParseError.tooDeep(limit: 64)) { try JSONValue.parse(nestedObjects(65)) }
        #expect(throws: JSONParseError.tooDeep(limit: 64)) { try JSONValue.parse(nestedArrays(65, innermost: "1")) }
    }

    @Test func depthCountsTheDeepestBranchOnly() throws {
        let wide = "[" + Array(repeating: String(decoding: nestedArrays(63), as: UTF8.self), count: 100).joined(separator: ",") + "]"
        #expect(try JSONValue.parse(wide).arrayValue?.count == 100)
        let oneDeepBranch = "[[],[],[[" + String(decoding: nestedArrays(62), as: UTF8.self) + "]]]"
        #expect(throws: JSONParseError.tooDeep(limit: 64)) { try JSONValue.parse(oneDeepBranch) }
    }

    @Test func hostileNestingIsRefusedWithoutCrashing() {
        #expect(throws: JSONParseError.tooDeep(limit: 64)) { try JSONValue.parse(nestedArrays(100_000)) }
        let unterminated = Array(repeating: UInt8(ascii: "["), count: 100_000)
        #expect(throws: JSONParseError.tooDeep(limit: 64)) { try JSONValue.parse(unterminated) }
        let objects = Array(String(repeating: #"{"a":"#, count: 100_000).utf8)
        #expect(throws: JSONParseError.tooDeep(limit: 64)) { try JSONValue.parse(objects) }
    }

    @Test func customLimits() throws {
        let flat = JSONParseOptions(maxDepth: 0)
        #expect(try JSONValue.parse("1", options: flat) == 1)
        #expect(throws: JSONParseError.tooDeep(limit: 0)) { try JSONValue.parse("[]", options: flat) }

        let three = JSONParseOptions(maxDepth: 3)
        #expect(try JSONValue.parse(nestedArrays(3), options: three) == [[[]]])
        #expect(throws: JSONParseError.tooDeep(limit: 3)) { try JSONValue.parse(nestedArrays(4), options: three) }
    }

    @Test func janssonsOwnLimitIsReportedAsTooDeep() throws {
        let generous = JSONParseOptions(maxDepth: 100_000)
        let deep = try JSONValue.parse(nestedArrays(1_000), options: generous)
        #expect(deep.serialized() == nestedArrays(1_000))
        #expect(throws: JSONParseError.tooDeep(limit: 2048)) { try JSONValue.parse(nestedArrays(3_000), options: generous) }
    }
}
