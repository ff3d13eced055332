/// Bounds on every variable-length field, shared by ingest validation and the wire decoder.
public struct EventLimits: Sendable, Hashable {
    public var maxIdentifierLength = 128
    public var maxTextLength = 4096
    public var maxAttributes = 32
    public var maxAttributeKeyLength = 64
    public var maxAttributeValueLength = 256
    /// The earliest `occurred_at` accepted anywhere (2000-01-01): a device clock before it is obviously wrong.
    public static let earliestOccurredAt: Int64 = 946_684_800_000
    /// Device clocks this far in the future (relative to the agent) are refused as obviously wrong.
    public var maxFutureMillis: Int64 = 24 * 3600 * 1000

    public init() {}

    public static let `default` = EventLimits()
}
