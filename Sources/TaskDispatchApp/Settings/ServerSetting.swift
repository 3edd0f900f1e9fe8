import Foundation

/// One server setting: where it is read from (a flag, else an environment variable, else its
/// default), what it accepts, and what it is for. ``ServerSettings/all`` lists them; the
/// parsing, `taskdispatch serve --help`, the messages for bad values and the README's table all
/// come from there.
struct ServerSetting: Sendable {
    /// The flag without its dashes, e.g. `lease-seconds`.
    let flag: String
    /// The environment variable, e.g. `TASKDISPATCH_LEASE_SECONDS`.
    let environment: String
    /// What the setting does, one line (the README's first column).
    let help: String
    /// The default as people read it (`300`, `none`).
    let defaultText: String
    /// What a value looks like, for `--help` (`SECONDS`, `true|false`).
    let valueName: String
    /// Earlier spellings that still work, with a warning naming this one.
    var oldFlags: [String] = []
    var oldEnvironment: [String] = []
    /// A switch: the flag alone means `true`.
    var isSwitch = false
    /// Reads `text` into the settings being resolved; throws the reason when it does not fit.
    let apply: @Sendable (String, inout ServerSettings.Resolution) throws(ServerSetting.Refusal) -> Void

    /// Why a value was refused, without the setting's names (the caller adds them).
    struct Refusal: Error {
        let reason: String
    }

    /// `--flag` / `ENV`, as every message names a setting.
    var names: String { "--\(flag) / \(environment)" }
}

// MARK: Kinds of settings

extension ServerSetting {
    /// A whole number within `range`, stored at `keyPath`.
    static func integer<Value: FixedWidthInteger & Sendable>(
        _ flag: String, _ environment: String, _ keyPath: WritableKeyPath<ServerConfiguration, Value> & Sendable,
        in range: ClosedRange<Value>, unit: String = "", help: String, defaultText: String? = nil,
        oldFlags: [String] = [], oldEnvironment: [String] = []
    ) -> ServerSetting {
        let shown = unit.isEmpty ? "" : " \(unit)"
        return ServerSetting(
            flag: flag, environment: environment, help: help,
            defaultText: defaultText ?? "\(ServerConfiguration()[keyPath: keyPath])",
            valueName: unit.isEmpty ? "N" : unit.uppercased(), oldFlags: oldFlags, oldEnvironment: oldEnvironment
        ) { text, resolution throws(Refusal) in
            guard let value = Value(text), range.contains(value) else {
                let bounds = range.upperBound == Value.max && Value.bitWidth >= 32 ? "of at least \(range.lowerBound)" : "from \(range.lowerBound) to \(range.upperBound)"
                throw Refusal(reason: "expected a whole number \(bounds)\(shown)")
            }
            resolution.configuration[keyPath: keyPath] = value
        }
    }

    /// A number of seconds above 0 (fractions allowed), stored at `keyPath`.
    static func seconds(
        _ flag: String, _ environment: String, _ keyPath: WritableKeyPath<ServerConfiguration, Double> & Sendable,
        help: String, oldFlags: [String] = [], oldEnvironment: [String] = []
    ) -> ServerSetting {
        let defaultValue = ServerConfiguration()[keyPath: keyPath]
        return ServerSetting(
            flag: flag, environment: environment, help: help,
            defaultText: defaultValue == defaultValue.rounded() ? "\(Int(defaultValue))" : "\(defaultValue)",
            valueName: "SECONDS", oldFlags: oldFlags, oldEnvironment: oldEnvironment
        ) { text, resolution throws(Refusal) in
            guard let value = Double(text), value > 0, value.isFinite else { throw Refusal(reason: "expected a number of seconds above 0") }
            resolution.configuration[keyPath: keyPath] = value
        }
    }

    /// `true` or `false` (also `1`/`0`, `yes`/`no`, `on`/`off`), stored at `keyPath`.
    static func boolean(
        _ flag: String, _ environment: String, _ keyPath: WritableKeyPath<ServerConfiguration, Bool> & Sendable,
        help: String, isSwitch: Bool = false
    ) -> ServerSetting {
        ServerSetting(
            flag: flag, environment: environment, help: help, defaultText: "\(ServerConfiguration()[keyPath: keyPath])",
            valueName: "true|false", isSwitch: isSwitch
        ) { text, resolution throws(Refusal) in
            guard let value = parseBool(text) else { throw Refusal(reason: "expected true or false") }
            resolution.configuration[keyPath: keyPath] = value
        }
    }

    /// Any text, stored at `keyPath`.
    static func text(
        _ flag: String, _ environment: String, _ keyPath: WritableKeyPath<ServerConfiguration, String> & Sendable,
        valueName: String, help: String, defaultText: String? = nil
    ) -> ServerSetting {
        ServerSetting(
            flag: flag, environment: environment, help: help, defaultText: defaultText ?? ServerConfiguration()[keyPath: keyPath],
            valueName: valueName
        ) { text, resolution throws(Refusal) in resolution.configuration[keyPath: keyPath] = text }
    }

    /// Optional text, stored at `keyPath`; unset by default.
    static func optionalText(
        _ flag: String, _ environment: String, _ keyPath: WritableKeyPath<ServerConfiguration, String?> & Sendable,
        valueName: String, help: String, defaultText: String = "none"
    ) -> ServerSetting {
        ServerSetting(flag: flag, environment: environment, help: help, defaultText: defaultText, valueName: valueName) {
            text, resolution throws(Refusal) in resolution.configuration[keyPath: keyPath] = text
        }
    }

    /// `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`); nil for anything else.
    static func parseBool(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "true", "1", "yes", "on": true
        case "false", "0", "no", "off": false
        default: nil
        }
    }
}
