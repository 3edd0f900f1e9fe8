import ArgumentParser

/// What the settings table writes: `--help` text, the README's table, and the flags it reads
/// from a command line.
extension ServerSettings {
    /// `taskdispatch serve --help`: every setting with its flag, variable, value and default.
    static var helpText: String {
        var lines = ["Settings: a flag wins over its environment variable, which wins over the default."]
        for setting in all {
            let value = setting.isSwitch ? "[\(setting.valueName)]" : setting.valueName
            let old = setting.oldFlags.map { "--\($0)" } + setting.oldEnvironment
            let earlier = old.isEmpty ? "" : " Earlier spellings, still read: \(old.joined(separator: ", "))."
            lines.append("")
            lines.append(
                "--\(setting.flag) \(value) (env \(setting.environment), default \(plain(setting.defaultText))): "
                    + "\(plain(setting.help)).\(earlier)")
        }
        return lines.joined(separator: "\n")
    }

    /// The help of a setting that a shared option group declares itself.
    static func argumentHelp(_ flag: String) -> ArgumentHelp {
        guard let setting = setting(flag: flag) else { return ArgumentHelp() }
        return ArgumentHelp("\(plain(setting.help)) (env \(setting.environment), default \(plain(setting.defaultText))).")
    }

    /// The README's settings table, in Markdown.
    static var markdownTable: String {
        var lines = ["| setting | flag | environment | default |", "|---|---|---|---|"]
        for setting in all {
            let flag = setting.valueName == "true|false" && !setting.isSwitch ? "`--\(setting.flag) true\\|false`" : "`--\(setting.flag)`"
            let old = setting.oldFlags.map { "`--\($0)`" } + setting.oldEnvironment.map { "`\($0)`" }
            let help = setting.help + (old.isEmpty ? "" : " (earlier: \(old.joined(separator: ", ")))")
            let shownDefault = setting.defaultText.contains("`") || setting.defaultText.contains(" ") ? setting.defaultText : "`\(setting.defaultText)`"
            lines.append("| \(help) | \(flag) | `\(setting.environment)` | \(shownDefault) |")
        }
        return lines.joined(separator: "\n")
    }

    /// Reads `--name value`, `--name=value` and switches (`--name` alone) into flag values.
    static func flags(from arguments: [String]) throws -> [String: String] {
        var flags: [String: String] = [:]
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("--"), argument.count > 2 else {
                throw ValidationError("unexpected argument '\(argument)'; settings are written --name value")
            }
            let body = argument.dropFirst(2)
            if let equals = body.firstIndex(of: "=") {
                flags[String(body[..<equals])] = String(body[body.index(after: equals)...])
                continue
            }
            let name = String(body)
            guard let setting = setting(flag: name) else {
                throw ValidationError("unknown setting --\(name); `taskdispatch serve --help` lists them")
            }
            if setting.isSwitch, index == arguments.count || arguments[index].hasPrefix("--") {
                flags[name] = "true"
            } else if index < arguments.count {
                flags[name] = arguments[index]
                index += 1
            } else {
                throw ValidationError("--\(name) needs a value (\(setting.valueName))")
            }
        }
        return flags
    }

    /// Markdown without its code marks, for the terminal.
    private static func plain(_ text: String) -> String { text.replacingOccurrences(of: "`", with: "") }
}
