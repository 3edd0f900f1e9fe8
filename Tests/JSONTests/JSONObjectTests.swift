import JSON
import Testing

@Suite("JSONObject")
struct JSONObjectTests {
    @Test func emptyObject() {
        let object = JSONObject()
        #expect(object.isEmpty)
        #expect(object.count == 0)
        #expect(object.keys == [])
        #expect(object["missing"] == nil)
        #expect(Array(object).isEmpty)
    }

    @Test func settingAnExistingKeyReplacesInPlace() {
        var object: JSONObject = ["a": 1, "b": 2, "c": 3]
        object["b"] = "two"
        #expect(object.keys == ["a", "b", "c"])
        #expect(object["b"] == "two")
        object["d"] = .null
        #expect(object.keys == ["a", "b", "c", "d"])
        #expect(object["d"] == .some(.null))
    }

    @Test func settingNilRemoves() {
        var object: JSONObject = ["a": 1, "b": 2, "c": 3, "d": 4]
        object["b"] = nil
        #expect(object.keys == ["a", "c", "d"])
        #expect(object.count == 3)
        #expect(object["b"] == nil)
        #expect(object["c"] == 3)
        #expect(object["d"] == 4)
        object["missing"] = nil
        #expect(object.count == 3)
        object["b"] = 5
        #expect(object.keys == ["a", "c", "d", "b"])
        for key in object.keys {
            object[key] = nil
        }
        #expect(object.isEmpty)
    }

    @Test func laterDuplicatesReplaceEarlierOnes() {
        let pairs: [(String, JSONValue)] = [("x", 1), ("y", 2), ("x", 3)]
        let object = JSONObject(pairs)
        #expect(object.keys == ["x", "y"])
        #expect(object["x"] == 3)
        let literal: JSONObject = ["x": 1, "y": 2, "x": 3]
        #expect(literal.keys == ["x", "y"])
        #expect(literal["x"] == 3)
    }

    @Test func iteratesInOrder() {
        let object: JSONObject = ["z": 1, "a": 2, "m": 3]
        #expect(object.map(\.key) == ["z", "a", "m"])
        #expect(object.map(\.value) == [1, 2, 3])
        var seen: [String] = []
        for (key, value) in object {
            seen.append("\(key)=\(value.int64Value ?? -1)")
        }
        #expect(seen == ["z=1", "a=2", "m=3"])
    }

    @Test func equalityIgnoresOrderButNotMembers() {
        let ab: JSONObject = ["a": 1, "b": 2]
        #expect(ab == ["b": 2, "a": 1])
        #expect(ab != ["a": 1, "b": 3])
        #expect(ab != ["a": 1])
        #expect(ab != ["a": 1, "c": 2])
        #expect(ab != ["a": 1, "b": 2, "c": 3])
        #expect(JSONObject([("a", 1.0)]) != JSONObject([("a", 1)]))
    }
}
