import Foundation
import Yams

/// Reads a YAML configuration file: both executables layer defaults, then this file, then the environment.
public enum ConfigurationFile {
    /// The settings in `path`, or nil when the file is empty (defaults apply), and the keys the file sets. A setting
    /// of the wrong type is named by its key path, a YAML syntax error by its line, and a key that is none of
    /// `knownKeys` is refused (with the nearest known one): a misspelt key silently kept its default.
    public static func decode<T: Decodable>(_ type: T.Type, path: String, knownKeys: Set<String>)
        throws(ConfigurationError) -> (settings: T, keys: Set<String>)?
    {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(source: path, message: "cannot read the file: \(error.localizedDescription)")
        }
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return nil }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw ConfigurationError(source: path, message: "not valid YAML: \(error)")
        }
        guard let mapping = node?.mapping else {
            throw ConfigurationError(source: path, message: "the file must be a mapping of settings (key: value)")
        }
        let keys = Set(mapping.keys.compactMap(\.string))
        if let unknown = keys.subtracting(knownKeys).sorted().first {
            let hint = nearest(unknown, in: knownKeys).map { " (did you mean '\($0)'?)" } ?? ""
            let line = mapping.keys.first { $0.string == unknown }.map { "line \($0.mark?.line ?? 0): " } ?? ""
            throw ConfigurationError(source: path, message: "\(line)unknown setting '\(unknown)'\(hint)")
        }
        do {
            return (try YAMLDecoder().decode(T.self, from: text), keys)
        } catch let DecodingError.typeMismatch(_, ctx), let DecodingError.dataCorrupted(ctx) {
            let key = ctx.codingPath.map(\.stringValue).joined(separator: ".")
            throw ConfigurationError(source: path, message: "setting '\(key)': \(ctx.debugDescription)")
        } catch let DecodingError.keyNotFound(missing, ctx) {
            let key = (ctx.codingPath + [missing]).map(\.stringValue).joined(separator: ".")
            throw ConfigurationError(source: path, message: "setting '\(key)' is required")
        } catch {
            throw ConfigurationError(source: path, message: "\(error)")
        }
    }

    /// The known key nearest to `key` by edit distance, if it is a likely misspelling (at most a third of it).
    static func nearest(_ key: String, in known: Set<String>) -> String? {
        // Levenshtein distance, one row at a time
        func distance(_ a: [UInt8], _ b: [UInt8]) -> Int {
            var previous = Array(0...b.count)
            for (i, x) in a.enumerated() {
                var current = [i + 1]
                for (j, y) in b.enumerated() {
                    current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
                }
                previous = current
            }
            return previous[b.count]
        }
        let k = Array(key.lowercased().replacingOccurrences(of: "-", with: "_").utf8)
        // the key without its unit ("max_clock_drift" for "max_clock_drift_seconds")
        if let longer = known.filter({ $0.utf8.starts(with: k) }).min(by: { ($0.count, $0) < ($1.count, $1) }) {
            return longer
        }
        guard
            let best = known.map({ ($0, distance(k, Array($0.utf8))) }).min(by: { ($0.1, $0.0) < ($1.1, $1.0) }),
            best.1 <= max(2, k.count / 3)
        else { return nil }
        return best.0
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
