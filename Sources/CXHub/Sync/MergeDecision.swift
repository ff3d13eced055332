import CXCore

/// What the hub knows about a batch's idempotency key and its agent's epoch before merging.
public struct MergeContext: Sendable, Hashable {
    /// Every seq at or below this is durable at the hub for the batch's (agent, epoch).
    public var highWaterMark: UInt64
    /// The content hash and high-water mark answered when this exact key was acknowledged before.
    public var previousHash: [UInt8]?
    public var previousHighWaterMark: UInt64

    public init(highWaterMark: UInt64, previousHash: [UInt8]? = nil, previousHighWaterMark: UInt64 = 0) {
        self.highWaterMark = highWaterMark
        self.previousHash = previousHash
        self.previousHighWaterMark = previousHighWaterMark
    }
}

/// The hub's answer to a batch, decided before anything is written (PROTOCOL.md §6.4–6.5).
public enum MergeDecision: Sendable, Hashable {
    /// Same key, same content, acknowledged before: apply nothing, answer the same ack.
    case duplicate(highWaterMark: UInt64)
    /// Same key, other content: refuse, apply nothing.
    case hashConflict
    /// The batch starts past `hwm + 1`: refuse, the agent rewinds.
    case gap(expectedSeq: UInt64)
    /// Apply the items with seq above `above`; the high-water mark becomes `newHighWaterMark`.
    case apply(above: UInt64, newHighWaterMark: UInt64)
    /// A downstream-only poll: nothing to apply.
    case poll(highWaterMark: UInt64)

    /// The pure rule. `seqFrom...seqTo` is the batch's range (ignored for a poll).
    public static func decide(
        seqFrom: UInt64, seqTo: UInt64, contentHash: [UInt8], isPoll: Bool, context: MergeContext
    ) -> MergeDecision {
        let hwm = context.highWaterMark
        if isPoll { return .poll(highWaterMark: hwm) }
        if let previous = context.previousHash {
            guard previous == contentHash else { return .hashConflict }
            return .duplicate(highWaterMark: max(hwm, context.previousHighWaterMark))
        }
        if seqFrom > hwm + 1 { return .gap(expectedSeq: hwm + 1) }
        return .apply(above: hwm, newHighWaterMark: max(hwm, seqTo))
    }
}

/// How the hub treats a sender's clock (DESIGN §2, PROTOCOL.md §8.1).
///
/// The offset is measured from the batch's `sent_hlc`. Within `skewThreshold` it is network noise and HLCs are
/// taken as sent. Beyond it the device is flagged and every HLC of the batch is moved by the offset, so a kiosk
/// hours ahead neither loses its data nor wins conflicts with its bad clock; whatever is still further ahead
/// than `maxDrift` after that correction is refused.
public struct ClockAssessment: Sendable, Hashable {
    /// Hub wall clock minus the sender's, in milliseconds.
    public var offsetMillis: Int64
    public var skewed: Bool
    /// Added to the wall part of every HLC of the batch (0 unless skewed).
    public var correctionMillis: Int64

    public static func assess(sentHLC: HLCTimestamp, hubWallMillis: Int64, skewThresholdMillis: Int64)
        -> ClockAssessment
    {
        guard sentHLC.wallMillis > 0 else {
            return ClockAssessment(offsetMillis: 0, skewed: false, correctionMillis: 0)
        }
        let offset = hubWallMillis - sentHLC.wallMillis
        let skewed = abs(offset) > skewThresholdMillis
        return ClockAssessment(offsetMillis: offset, skewed: skewed, correctionMillis: skewed ? offset : 0)
    }

    /// The HLC as the hub orders it.
    public func corrected(_ hlc: HLCTimestamp) -> HLCTimestamp {
        guard correctionMillis != 0, hlc.wallMillis > 0 else { return hlc }
        return HLCTimestamp(wallMillis: max(0, hlc.wallMillis + correctionMillis), counter: hlc.counter)
    }

    public func corrected(raw: UInt64) -> UInt64 { corrected(HLCTimestamp(rawValue: raw)).rawValue }
}
