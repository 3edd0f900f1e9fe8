import JSON
import Testing
@testable import TaskQueue

/// `ShapeValidator` without I/O: every shape type with valid and invalid values, enums,
/// defaults, optional and unknown keys, and outputs.
@Suite("Shape validation")
struct ShapeValidatorTests {
    /// A type with one mandatory input slot `v` and one mandatory output slot `v` of `shape`.
    static func single(_ shape: ShapeType, enumValues: [String] = []) -> TaskType {
        let values = enumValues.isEmpty ? [:] : ["v": enumValues.map { ShapeEnumValue(name: $0.uppercased(), value: $0) }]
        return TaskType(
            id: "test:\(shape.wireName)", name: "t", description: "d",
            inputShape: [ShapeDescriptor(key: "v", name: "V", description: "", type: shape)],
            outputShape: [ShapeDescriptor(key: "v", name: "V", description: "", type: shape)],
            inputShapeEnumValues: values, outputShapeEnumValues: values)
    }

    static let valid: [(ShapeType, JSONValue)] = [
        (.number, 3), (.number, -2), (.number, 0.5), (.number, 0),
        (.text, "hello"), (.text, ""),
        (.enum, "anything"),
        (.image, 1), (.audio, 42), (.video, 7), (.file, 9_007_199_254_740_993),
        (.listOfNumbers, [1, 2.5, -3]), (.listOfNumbers, []),
        (.listOfTexts, ["a", "b"]), (.listOfTexts, []),
        (.listOfImages, [1, 2]), (.listOfAudios, [3]), (.listOfVideos, [4, 5]), (.listOfFiles, [6]), (.listOfFiles, []),
    ]

    static let invalid: [(ShapeType, JSONValue, String)] = [
        (.number, "3", "a string"), (.number, true, "a boolean"), (.number, [1], "an array"), (.number, ["a": 1], "an object"),
        (.text, 5, "an integer"), (.text, 1.5, "a non-integer number"), (.text, ["a"], "an array"), (.text, false, "a boolean"),
        (.enum, 1, "an integer"), (.enum, ["x"], "an array"),
        (.image, "1", "a string"), (.image, 0, "the integer 0"), (.image, -4, "the integer -4"), (.image, 1.5, "a non-integer number"),
        (.audio, 2.0, "a non-integer number"), (.video, "video.mp4", "a string"), (.file, ["id": 1], "an object"),
        (.listOfNumbers, 1, "an integer"), (.listOfNumbers, [1, "2"], "a string at index 1"),
        (.listOfTexts, "a", "a string"), (.listOfTexts, ["a", 2], "an integer at index 1"), (.listOfTexts, [.null], "null at index 0"),
        (.listOfImages, [1, 0], "the integer 0 at index 1"), (.listOfAudios, ["a"], "a string at index 0"),
        (.listOfVideos, [1.5], "a non-integer number at index 0"), (.listOfFiles, 3, "an integer"),
    ]

    @Test("valid values of every shape type pass, in inputs and outputs", arguments: valid.indices)
    func validValues(index: Int) throws {
        let (shape, value) = Self.valid[index]
        let type = Self.single(shape)
        #expect(try ShapeValidator.validateInput(["v": value], for: type) == ["v": value])
        #expect(try ShapeValidator.validateOutput(["v": value], for: type) == ["v": value])
    }

    @Test("invalid values of every shape type are refused, naming the key, the type and what was found", arguments: invalid.indices)
    func invalidValues(index: Int) throws {
        let (shape, value, found) = Self.invalid[index]
        let type = Self.single(shape)
        for side in [ShapeSide.input, .output] {
            let error = #expect(throws: ShapeViolation.self) {
                _ = side == .input
                    ? try ShapeValidator.validateInput(["v": value], for: type)
                    : try ShapeValidator.validateOutput(["v": value], for: type)
            }
            #expect(error == .wrongType(side: side, key: "v", expected: shape, found: found))
            let message = error?.description ?? ""
            #expect(message.contains("\(side) key 'v' must be \(shape.wireName)"), "\(message)")
            #expect(message.contains("got \(found)"), "\(message)")
        }
    }

    @Test("every shape type is covered by the valid and the invalid tables")
    func tablesCoverEveryType() {
        #expect(Set(Self.valid.map(\.0)) == Set(ShapeType.allCases))
        #expect(Set(Self.invalid.map(\.0)) == Set(ShapeType.allCases))
    }

    @Test("an Enum slot with defined values takes only those; without defined values any string")
    func enumValues() throws {
        let type = Self.single(.enum, enumValues: ["en", "de"])
        #expect(try ShapeValidator.validateInput(["v": "de"], for: type) == ["v": "de"])
        let error = #expect(throws: ShapeViolation.self) { _ = try ShapeValidator.validateInput(["v": "fr"], for: type) }
        #expect(error == .notInEnum(side: .input, key: "v", allowed: ["en", "de"]))
        #expect(error?.description == "input key 'v' must be one of 'en', 'de'")
        let outputError = #expect(throws: ShapeViolation.self) { _ = try ShapeValidator.validateOutput(["v": "fr"], for: type) }
        #expect(outputError == .notInEnum(side: .output, key: "v", allowed: ["en", "de"]))
        #expect(try ShapeValidator.validateInput(["v": "fr"], for: Self.single(.enum)) == ["v": "fr"])
    }

    @Test("a missing or null mandatory key is refused by name; a default fills it instead")
    func missingKeys() throws {
        let type = Self.single(.text)
        for input: JSONObject in [[:], ["v": .null], ["other": "x"]] {
            let error = #expect(throws: ShapeViolation.self) { _ = try ShapeValidator.validateInput(input, for: type) }
            #expect(error == .missing(side: .input, key: "v", expected: .text))
            #expect(error?.description == "missing input key 'v' (Text: a string)")
        }
        let outputError = #expect(throws: ShapeViolation.self) { _ = try ShapeValidator.validateOutput([:], for: type) }
        #expect(outputError == .missing(side: .output, key: "v", expected: .text))

        var defaulted = type
        defaulted.inputShapeDefaults = ["v": "fallback"]
        #expect(try ShapeValidator.validateInput([:], for: defaulted) == ["v": "fallback"])
        #expect(try ShapeValidator.validateInput(["v": "given"], for: defaulted) == ["v": "given"])
    }

    @Test("optional keys are checked when present, defaulted or left out when absent; unknown keys are dropped")
    func optionalAndUnknownKeys() throws {
        let type = TaskType(
            id: "test:optional", name: "t", description: "d",
            inputShape: [ShapeDescriptor(key: "input", name: "I", description: "", type: .text)],
            optionalInputShape: [
                ShapeDescriptor(key: "max_tokens", name: "M", description: "", type: .number),
                ShapeDescriptor(key: "tone", name: "T", description: "", type: .enum),
                ShapeDescriptor(key: "images", name: "Im", description: "", type: .listOfImages),
            ],
            outputShape: [ShapeDescriptor(key: "output", name: "O", description: "", type: .text)],
            optionalOutputShape: [ShapeDescriptor(key: "sources", name: "S", description: "", type: .listOfTexts)],
            optionalInputShapeEnumValues: ["tone": [ShapeEnumValue(name: "Formal", value: "formal")]],
            optionalInputShapeDefaults: ["tone": "formal"])

        #expect(try ShapeValidator.validateInput(["input": "x", "extra": 1, "max_tokens": .null], for: type) == ["input": "x", "tone": "formal"])
        #expect(
            try ShapeValidator.validateInput(["input": "x", "max_tokens": 100, "images": [3]], for: type)
                == ["input": "x", "max_tokens": 100, "tone": "formal", "images": [3]])
        let error = #expect(throws: ShapeViolation.self) {
            _ = try ShapeValidator.validateInput(["input": "x", "max_tokens": "many"], for: type)
        }
        #expect(error == .wrongType(side: .input, key: "max_tokens", expected: .number, found: "a string"))
        let enumError = #expect(throws: ShapeViolation.self) {
            _ = try ShapeValidator.validateInput(["input": "x", "tone": "rude"], for: type)
        }
        #expect(enumError == .notInEnum(side: .input, key: "tone", allowed: ["formal"]))

        #expect(try ShapeValidator.validateOutput(["output": "y", "debug": true], for: type) == ["output": "y"])
        #expect(try ShapeValidator.validateOutput(["output": "y", "sources": ["a"]], for: type) == ["output": "y", "sources": ["a"]])
        let outputError = #expect(throws: ShapeViolation.self) {
            _ = try ShapeValidator.validateOutput(["output": "y", "sources": "a"], for: type)
        }
        #expect(outputError == .wrongType(side: .output, key: "sources", expected: .listOfTexts, found: "a string"))
    }

    @Test("the core types: translate fills origin_language, text2image fills numberOfImages, chat needs history")
    func coreTypes() throws {
        let catalog = TaskTypeCatalog.core
        let translate = try #require(catalog["core:text2text:translate"])
        #expect(
            try ShapeValidator.validateInput(["input": "Hallo", "target_language": "en"], for: translate)
                == ["input": "Hallo", "origin_language": "detect_language", "target_language": "en"])
        let image = try #require(catalog["core:text2image"])
        #expect(try ShapeValidator.validateInput(["input": "a cat"], for: image) == ["input": "a cat", "numberOfImages": 1])
        #expect(try ShapeValidator.validateOutput(["images": [11, 12]], for: image) == ["images": [11, 12]])
        let chat = try #require(catalog["core:text2text:chat"])
        let error = #expect(throws: ShapeViolation.self) {
            _ = try ShapeValidator.validateInput(["system_prompt": "", "input": "hi"], for: chat)
        }
        #expect(error == .missing(side: .input, key: "history", expected: .listOfTexts))
        let text = try #require(catalog["core:text2text"])
        #expect(try ShapeValidator.validateInput(["input": "hello"], for: text) == ["input": "hello"])
    }
}
