import Foundation
import Yams

/// Reads a YAML configuration file: both executables layer defaults, then this file, then the environment.
public enum ConfigurationFile {
    /// The settings in `path`, or nil when the file is empty (defaults apply). A setting of the wrong type is
    /// named by its key path.
    public static func decode<T: Decodable>(_ type: T.Type, path: String) throws(ConfigurationError) -> T? {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(source: path, message: "cannot read the file: \(error.localizedDescription)")
        }
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return nil }
        do {
            return try YAMLDecoder().decode(T.self, from: text)
        } catch let DecodingError.typeMismatch(_, ctx), let DecodingError.dataCorrupted(ctx) {
            let key = ctx.codingPath.map(\.stringValue).joined(separator: ".")
            throw ConfigurationError(source: path, message: "setting '\(key)': \(ctx.debugDescription)")
        } catch {
            throw ConfigurationError(source: path, message: "not valid YAML: \(error)")
        }
    }

    /// The settings as YAML, as `print-config` shows them.
    public static func yaml<T: Encodable>(_ value: T) throws -> String { try YAMLEncoder().encode(value) }
}

/// Typed reads of the environment variables that override file settings (`PREFIX` + upper-cased file key).
public struct EnvironmentOverrides: Sendable {
    public let environment: [String: String]
    public let prefix: String

    public init(_ environment: [String: String], prefix: String) {
        self.environment = environment
        self.prefix = prefix
    }

    /// The variable that overrides the setting `key`.
    public func name(_ key: String) -> String { prefix + key.uppercased() }

    public func string(_ key: String) -> String? { environment[name(key)] }

    public func int(_ key: String) throws(ConfigurationError) -> Int64? {
        guard let raw = string(key) else { return nil }
        guard let v = Int64(raw) else {
            throw ConfigurationError(source: name(key), message: "'\(raw)' is not an integer")
        }
        return v
    }

    public func bool(_ key: String) throws(ConfigurationError) -> Bool? {
        guard let raw = string(key) else { return nil }
        switch raw.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw ConfigurationError(source: name(key), message: "'\(raw)' is not a boolean")
        }
    }
}
