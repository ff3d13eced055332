/// Why an incoming event was refused: which field, what is wrong with it, and (in a request) where.
public struct EventValidationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Machine-readable reasons, stable across versions.
    public enum Code: String, Sendable, Hashable, Codable {
        case missingField = "missing_field"
        case invalidType = "invalid_type"
        case invalidValue = "invalid_value"
        case outOfRange = "out_of_range"
        case tooLong = "too_long"
        case malformedJSON = "malformed_json"
        /// The event's customer was erased at the hub: remove-wins, so new events of theirs are not stored either.
        case customerErased = "customer_erased"
    }

    public var code: Code
    /// The JSON field at fault (dotted path), or empty when the whole input is.
    public var field: String
    public var message: String

    public init(_ code: Code, field: String, _ message: String) {
        self.code = code
        self.field = field
        self.message = message
    }

    public var description: String {
        field.isEmpty ? "\(code.rawValue): \(message)" : "\(code.rawValue): field '\(field)': \(message)"
    }
}
