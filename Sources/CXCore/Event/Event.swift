#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One customer interaction: an immutable fact, identified by `(agentID, epoch, seq)` once buffered and by
/// the producer's `eventID` before that.
public struct Event: Sendable, Hashable {
    public var eventID: UUID
    public var storeID: String
    public var deviceID: String
    public var channel: Channel
    public var type: EventType
    /// Milliseconds since the Unix epoch, by the device's clock (which may be wrong: `hlc` orders events).
    public var occurredAt: Int64
    /// Assigned by the agent when the event is buffered.
    public var hlc: HLCTimestamp
    /// Pseudonymous customer key (a keyed hash once insight runs on the agent), nil for anonymous events.
    public var customerID: String?
    public var journeyStage: JourneyStage?
    public var score: Score?
    /// Free text, masked before storage.
    public var text: String?
    public var amount: Double?
    /// ISO 4217 code of `amount`.
    public var currency: String?
    public var attributes: [String: String]
    public var enrichment: Enrichment?

    public init(
        eventID: UUID,
        storeID: String,
        deviceID: String,
        channel: Channel,
        type: EventType,
        occurredAt: Int64,
        hlc: HLCTimestamp = .zero,
        customerID: String? = nil,
        journeyStage: JourneyStage? = nil,
        score: Score? = nil,
        text: String? = nil,
        amount: Double? = nil,
        currency: String? = nil,
        attributes: [String: String] = [:],
        enrichment: Enrichment? = nil
    ) {
        self.eventID = eventID
        self.storeID = storeID
        self.deviceID = deviceID
        self.channel = channel
        self.type = type
        self.occurredAt = occurredAt
        self.hlc = hlc
        self.customerID = customerID
        self.journeyStage = journeyStage
        self.score = score
        self.text = text
        self.amount = amount
        self.currency = currency
        self.attributes = attributes
        self.enrichment = enrichment
    }
}
