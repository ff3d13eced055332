/// Bounds on every variable-length field, shared by ingest validation and the wire decoder.
public struct EventLimits: Sendable, Hashable {
    public var maxIdentifierLength = 128
    public var maxTextLength = 4096
    public var maxAttributes = 32
    public var maxAttributeKeyLength = 64
    public var maxAttributeValueLength = 256
    /// Device clocks this far in the future (relative to the agent) are refused as obviously wrong.
    public var maxFutureMillis: Int64 = 24 * 3600 * 1000

    public init() {}

    public static let `default` = EventLimits()
}
