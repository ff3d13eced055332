import CXCore

/// Every bound the decoder enforces; senders must stay within the receiver's (PROTOCOL.md §7).
public struct ProtocolLimits: Sendable, Hashable {
    /// The whole frame (the HTTP body).
    public var maxFrameBytes = 8 * 1024 * 1024
    /// The message after decompression; checked against the header before anything is inflated.
    public var maxDecompressedBytes = 64 * 1024 * 1024
    /// Largest accepted inflation ratio, so that a small frame cannot claim a huge payload.
    public var maxCompressionRatio = 200
    public var maxEventsPerBatch = 10_000
    /// LWW, alert, erasure and identity-link items together.
    public var maxStateItemsPerBatch = 50_000
    public var maxKeyIDLength = 128
    public var maxEnrichmentItems = 64
    public var event = EventLimits.default

    public init() {}

    public static let `default` = ProtocolLimits()
}
