/// A setting that cannot be used, and where it came from (a file, an environment variable or a setting name),
/// so that an operator knows what to fix.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var source: String
    public var message: String

    public init(source: String, message: String) {
        self.source = source
        self.message = message
    }

    public var description: String { "configuration error in \(source): \(message)" }
}
