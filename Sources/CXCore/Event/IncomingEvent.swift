#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// An event as a producer posts it (JSON), before validation. Every field is optional here so that
/// validation, not the decoder, says which one is missing.
public struct IncomingEvent: Sendable, Decodable {
    public var eventID: String?
    public var storeID: String?
    public var deviceID: String?
    public var channel: String?
    public var type: String?
    public var occurredAt: OccurredAt?
    public var customerID: String?
    public var journeyStage: String?
    public var score: Double?
    public var scoreScale: String?
    public var text: String?
    public var amount: Double?
    public var currency: String?
    public var attributes: [String: String]?

    /// `occurred_at` as RFC 3339 text or Unix milliseconds; `ts` is the workload's name for the latter.
    public enum OccurredAt: Sendable, Hashable {
        case millis(Int64)
        case text(String)
    }

    enum CodingKeys: String, CodingKey {
        case eventID = "event_id"
        case storeID = "store_id"
        case deviceID = "device_id"
        case channel, type
        case occurredAt = "occurred_at"
        case ts
        case customerID = "customer_id"
        case journeyStage = "journey_stage"
        case score
        case scoreScale = "score_scale"
        case text, amount, currency, attributes
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        eventID = try c.decodeIfPresent(String.self, forKey: .eventID)
        storeID = try c.decodeIfPresent(String.self, forKey: .storeID)
        deviceID = try c.decodeIfPresent(String.self, forKey: .deviceID)
        channel = try c.decodeIfPresent(String.self, forKey: .channel)
        type = try c.decodeIfPresent(String.self, forKey: .type)
        if let ms = try? c.decodeIfPresent(Int64.self, forKey: .occurredAt) {
            occurredAt = .millis(ms)
        } else if let s = try c.decodeIfPresent(String.self, forKey: .occurredAt) {
            occurredAt = .text(s)
        } else if let ms = try c.decodeIfPresent(Int64.self, forKey: .ts) {
            occurredAt = .millis(ms)
        }
        customerID = try c.decodeIfPresent(String.self, forKey: .customerID)
        journeyStage = try c.decodeIfPresent(String.self, forKey: .journeyStage)
        score = try c.decodeIfPresent(Double.self, forKey: .score)
        scoreScale = try c.decodeIfPresent(String.self, forKey: .scoreScale)
        text = try c.decodeIfPresent(String.self, forKey: .text)
        amount = try c.decodeIfPresent(Double.self, forKey: .amount)
        currency = try c.decodeIfPresent(String.self, forKey: .currency)
        attributes = try c.decodeIfPresent([String: String].self, forKey: .attributes)
    }
}

/// One slot of a JSON array or NDJSON body: the event, or why it could not be read.
///
/// Decoding never throws past the slot, so that one bad element does not sink its neighbours.
public struct IncomingSlot: Sendable, Decodable {
    public var result: Result<IncomingEvent, EventValidationError>

    public init(result: Result<IncomingEvent, EventValidationError>) {
        self.result = result
    }

    public init(from decoder: any Decoder) throws {
        do {
            result = .success(try IncomingEvent(from: decoder))
        } catch {
            result = .failure(EventValidationError(decoding: error))
        }
    }
}

extension EventValidationError {
    /// Translates a decoder error into the field-naming error producers see.
    public init(decoding error: any Error) {
        switch error {
        case DecodingError.typeMismatch(let type, let ctx):
            self.init(.invalidType, field: ctx.codingPath.dottedPath, "expected \(Self.jsonKind(of: type))")
        case DecodingError.valueNotFound(let type, let ctx):
            self.init(.invalidType, field: ctx.codingPath.dottedPath, "expected \(Self.jsonKind(of: type)), got null")
        case DecodingError.keyNotFound(let key, let ctx):
            self.init(.missingField, field: (ctx.codingPath + [key]).dottedPath, "required")
        case DecodingError.dataCorrupted(let ctx):
            let detail = (ctx.underlyingError.map { "\($0)" } ?? ctx.debugDescription)
            self.init(.malformedJSON, field: ctx.codingPath.dottedPath, "not valid JSON: \(detail)")
        default:
            self.init(.malformedJSON, field: "", "not valid JSON: \(error)")
        }
    }

    static func jsonKind(of type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Double.Type, is Int64.Type, is Int.Type: "a number"
        case is [String: String].Type: "an object of strings"
        default: "a JSON object"
        }
    }
}

extension [any CodingKey] {
    var dottedPath: String {
        map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}
