import JSON
import Testing

@Suite("JSONValue literals and accessors")
struct JSONValueTests {
    @Test func literalsBuildTheExpectedCases() {
        let string: JSONValue = "text"
        let integer: JSONValue = 42
        let double: JSONValue = 2.5
        let bool: JSONValue = true
        let null: JSONValue = nil
        let array: JSONValue = [1, "a", nil]
        let object: JSONValue = ["k": [false]]
        #expect(string == .string("text"))
        #expect(integer == .int(42))
        #expect(double == .double(2.5))
        #expect(bool == .bool(true))
        #expect(null == .null)
        #expect(array == .array([.int(1), .string("a"), .null]))
        #expect(object == .object(JSONObject([("k", .array([.bool(false)]))])))
    }

    @Test func accessorsMatchTheirCaseOnly() {
        let values: [JSONValue] = [nil, true, 7, 7.5, "s", [1], ["k": "v"]]
        #expect(values.map(\.isNull) == [true, false, false, false, false, false, false])
        #expect(values.map(\.boolValue) == [nil, true, nil, nil, nil, nil, nil])
        #expect(values.map(\.int64Value) == [nil, nil, 7, nil, nil, nil, nil])
        #expect(values.map(\.doubleValue) == [nil, nil, 7.0, 7.5, nil, nil, nil])
        #expect(values.map(\.stringValue) == [nil, nil, nil, nil, "s", nil, nil])
        #expect(values.map(\.arrayValue) == [nil, nil, nil, nil, nil, [1], nil])
        #expect(values.map(\.objectValue) == [nil, nil, nil, nil, nil, nil, ["k": "v"]])
        #expect(values.map { $0["k"] } == [nil, nil, nil, nil, nil, nil, "v"])
    }

    @Test func integralDoubleIsNotAnInteger() {
        #expect(JSONValue.double(3).int64Value == nil)
        #expect(JSONValue.double(3) != JSONValue.int(3))
    }

    @Test func subscriptReachesNestedMembers() throws {
        let value = try JSONValue.parse(#"{"task":{"id":9,"tags":["x"]}}"#)
        #expect(value["task"]?["id"] == 9)
        #expect(value["task"]?["tags"]?.arrayValue == ["x"])
        #expect(value["task"]?["missing"] == nil)
        #expect(value["task"]?["id"]?["deeper"] == nil)
    }
}
