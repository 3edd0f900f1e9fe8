import JSON

/// The task types this server knows, by id. Scheduling any other type is refused.
public struct TaskTypeCatalog: Sendable {
    public let types: [String: TaskType]

    public init(_ types: [TaskType]) {
        var byID: [String: TaskType] = [:]
        for type in types { byID[type.id] = type }
        self.types = byID
    }

    public subscript(id: String) -> TaskType? { types[id] }

    /// Type ids in a stable order, for listings.
    public var sortedIDs: [String] { types.keys.sorted() }

    /// The `core:*` types Nextcloud ships, with its names, descriptions and shapes.
    public static let core = TaskTypeCatalog([
        text(
            "core:text2text", "Free text to text prompt",
            "Runs an arbitrary prompt through a language model that returns a reply",
            input: ("Prompt", "Describe a task that you want the assistant to do or ask a question"),
            output: ("Generated reply", "The generated text from the assistant")),
        text(
            "core:text2text:summary", "Summarize", "Summarizes a text",
            input: ("Original text", "The original text to summarize"),
            output: ("Summary", "The generated summary")),
        text(
            "core:text2text:headline", "Generate headline", "Generates a possible headline for a text.",
            input: ("Original text", "The original text to generate a headline for"),
            output: ("Headline", "The generated headline")),
        text(
            "core:text2text:topics", "Extract topics",
            "Extracts topics from a text and outputs them separated by commas",
            input: ("Original text", "The original text to extract topics from"),
            output: ("Topics", "The list of extracted topics")),
        TaskType(
            id: "core:text2text:translate", name: "Translate",
            description: "Translate text from one language to another",
            inputShape: [
                ShapeDescriptor(key: "input", name: "Input text", description: "The text to translate", type: .text),
                ShapeDescriptor(
                    key: "origin_language", name: "Origin language",
                    description: "The language of the origin text", type: .enum),
                ShapeDescriptor(
                    key: "target_language", name: "Target language",
                    description: "The desired language to translate the origin text in", type: .enum),
            ],
            outputShape: [ShapeDescriptor(key: "output", name: "Result", description: "The translated text", type: .text)],
            inputShapeDefaults: ["origin_language": "detect_language"]),
        TaskType(
            id: "core:text2image", name: "Generate image", description: "Generate an image from a text prompt",
            inputShape: [
                ShapeDescriptor(key: "input", name: "Prompt", description: "Describe the image you want to generate", type: .text),
                ShapeDescriptor(key: "numberOfImages", name: "Number of images", description: "How many images to generate", type: .number),
            ],
            outputShape: [ShapeDescriptor(key: "images", name: "Output images", description: "The generated images", type: .listOfImages)],
            inputShapeDefaults: ["numberOfImages": 1]),
        TaskType(
            id: "core:audio2text", name: "Transcribe audio", description: "Transcribe the things said in an audio",
            inputShape: [ShapeDescriptor(key: "input", name: "Audio input", description: "The audio to transcribe", type: .audio)],
            outputShape: [ShapeDescriptor(key: "output", name: "Transcription", description: "The transcribed text", type: .text)]),
        TaskType(
            id: "core:contextwrite", name: "Context write",
            description: "Writes text in a given style based on the provided source material.",
            inputShape: [
                ShapeDescriptor(key: "style_input", name: "Writing style", description: "Describe a writing style or paste an example", type: .text),
                ShapeDescriptor(
                    key: "source_input", name: "Source material",
                    description: "Describe the content or paste the source material you want the text to be about", type: .text),
            ],
            outputShape: [
                ShapeDescriptor(
                    key: "output", name: "Generated text",
                    description: "The generated text with content from the source material in the given style", type: .text)
            ]),
        TaskType(
            id: "core:text2text:chat", name: "Chat", description: "Chat with the assistant",
            inputShape: [
                ShapeDescriptor(
                    key: "system_prompt", name: "System prompt",
                    description: "Define rules and assumptions that the assistant should follow during the conversation.", type: .text),
                ShapeDescriptor(
                    key: "input", name: "Chat message",
                    description: "Describe a task that you want the assistant to do or ask a question", type: .text),
                ShapeDescriptor(
                    key: "history", name: "Chat history",
                    description: "The history of chat messages before the current message, starting with a message by the user", type: .listOfTexts),
            ],
            outputShape: [ShapeDescriptor(key: "output", name: "Generated response", description: "The response from the chat model", type: .text)]),
    ])

    /// A type with one `input` text slot and one `output` text slot, the shape most text types share.
    private static func text(
        _ id: String, _ name: String, _ description: String,
        input: (name: String, description: String), output: (name: String, description: String)
    ) -> TaskType {
        TaskType(
            id: id, name: name, description: description,
            inputShape: [ShapeDescriptor(key: "input", name: input.name, description: input.description, type: .text)],
            outputShape: [ShapeDescriptor(key: "output", name: output.name, description: output.description, type: .text)])
    }
}
