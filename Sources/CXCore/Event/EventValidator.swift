#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Turns a producer's JSON event into a validated `Event`, or says which field is wrong and why.
public struct EventValidator: Sendable {
    public var limits: EventLimits

    public init(limits: EventLimits = .default) {
        self.limits = limits
    }

    /// Validates `incoming`; `nowMillis` bounds how far in the future a device clock may claim to be.
    /// A missing `event_id` gets a fresh UUIDv7 (then the producer loses idempotency, as documented).
    public func validate(_ incoming: IncomingEvent, nowMillis: Int64) -> Result<Event, EventValidationError> {
        do {
            return .success(try build(incoming, nowMillis: nowMillis))
        } catch let error as EventValidationError {
            return .failure(error)
        } catch {
            return .failure(EventValidationError(.invalidValue, field: "", "\(error)"))
        }
    }

    func build(_ e: IncomingEvent, nowMillis: Int64) throws -> Event {
        let eventID: UUID
        if let raw = e.eventID {
            guard let id = UUID(uuidString: raw) else {
                throw EventValidationError(.invalidValue, field: "event_id", "'\(raw.prefix(64))' is not a UUID")
            }
            eventID = id
        } else {
            eventID = UUID.v7(unixMillis: nowMillis)
        }
        let storeID = try identifier(e.storeID, field: "store_id")
        let deviceID = try identifier(e.deviceID, field: "device_id")
        let channel = try enumValue(e.channel, field: "channel", Channel.init(rawValue:), Channel.allCases)
        let type = try enumValue(e.type, field: "type", EventType.init(name:), EventType.allCases)
        guard let occurredAtValue = e.occurredAt else {
            throw EventValidationError(.missingField, field: "occurred_at", "required (RFC 3339 text or Unix ms)")
        }
        let occurredAt: Int64
        switch occurredAtValue {
        case .millis(let ms): occurredAt = ms
        case .text(let s):
            guard let ms = RFC3339.parseMillis(s) else {
                throw EventValidationError(.invalidValue, field: "occurred_at", "'\(s.prefix(64))' is not RFC 3339")
            }
            occurredAt = ms
        }
        guard occurredAt >= EventLimits.earliestOccurredAt else {
            throw EventValidationError(.outOfRange, field: "occurred_at", "\(occurredAt) is before 2000-01-01")
        }
        guard occurredAt <= nowMillis + limits.maxFutureMillis else {
            throw EventValidationError(
                .outOfRange, field: "occurred_at",
                "\(occurredAt) is more than \(limits.maxFutureMillis / 3_600_000) h ahead of the agent's clock")
        }
        let customerID = try e.customerID.map { try customerIdentifier($0) }
        let stage = try e.journeyStage.map {
            try enumValue($0, field: "journey_stage", JourneyStage.init(rawValue:), JourneyStage.allCases)
        }
        var score: Score?
        if let value = e.score {
            let scale: ScoreScale
            if let name = e.scoreScale {
                scale = try enumValue(name, field: "score_scale", ScoreScale.init(rawValue:), ScoreScale.allCases)
            } else if let s = type.defaultScale {
                scale = s
            } else {
                throw EventValidationError(
                    .missingField, field: "score_scale", "required for a score on '\(type.rawValue)'")
            }
            guard value.isFinite, scale.range.contains(value) else {
                throw EventValidationError(
                    .outOfRange, field: "score",
                    "\(value) is outside \(scale.rawValue) (\(scale.range.lowerBound)...\(scale.range.upperBound))")
            }
            score = Score(value: value, scale: scale)
        }
        if let text = e.text, text.unicodeScalars.count > limits.maxTextLength {
            throw EventValidationError(.tooLong, field: "text", "longer than \(limits.maxTextLength) characters")
        }
        if let amount = e.amount, !amount.isFinite {
            throw EventValidationError(.invalidValue, field: "amount", "not a finite number")
        }
        if let currency = e.currency {
            guard currency.utf8.count == 3, currency.utf8.allSatisfy({ $0 >= 65 && $0 <= 90 }) else {
                throw EventValidationError(
                    .invalidValue, field: "currency", "'\(currency.prefix(16))' is not an ISO 4217 code")
            }
        }
        let attributes = e.attributes ?? [:]
        if attributes.count > limits.maxAttributes {
            throw EventValidationError(.tooLong, field: "attributes", "more than \(limits.maxAttributes) entries")
        }
        for (k, v) in attributes {
            if k.isEmpty || k.utf8.count > limits.maxAttributeKeyLength {
                throw EventValidationError(.tooLong, field: "attributes", "key '\(k.prefix(32))' is empty or too long")
            }
            if v.utf8.count > limits.maxAttributeValueLength {
                throw EventValidationError(
                    .tooLong, field: "attributes.\(k)", "longer than \(limits.maxAttributeValueLength) bytes")
            }
        }
        return Event(
            eventID: eventID, storeID: storeID, deviceID: deviceID, channel: channel, type: type,
            occurredAt: occurredAt, customerID: customerID, journeyStage: stage, score: score, text: e.text,
            amount: e.amount, currency: e.currency, attributes: attributes)
    }

    func identifier(_ value: String?, field: String) throws -> String {
        guard let value, !value.isEmpty else {
            throw EventValidationError(.missingField, field: field, "required")
        }
        guard value.utf8.count <= limits.maxIdentifierLength else {
            throw EventValidationError(.tooLong, field: field, "longer than \(limits.maxIdentifierLength) bytes")
        }
        guard value.utf8.allSatisfy(Self.isIdentifierByte) else {
            throw EventValidationError(
                .invalidValue, field: field,
                "'\(value.prefix(64))' may hold only letters, digits, '.', '_', '-', ':', '@'")
        }
        return value
    }

    /// A customer identifier is an e-mail address, a phone number or a loyalty id as the producer holds it
    /// (`ann+news@example.com`, `+44 (0)7700 900123`, `müller@example.de`): it is hashed before it is stored or
    /// sent, so any text goes but control characters, which no identifier holds.
    func customerIdentifier(_ value: String) throws -> String {
        let field = "customer_id"
        guard !value.isEmpty else { throw EventValidationError(.missingField, field: field, "required") }
        guard value.utf8.count <= limits.maxIdentifierLength else {
            throw EventValidationError(.tooLong, field: field, "longer than \(limits.maxIdentifierLength) bytes")
        }
        guard !value.utf8.contains(where: Self.isControlByte) else {
            throw EventValidationError(.invalidValue, field: field, "holds a control character")
        }
        return value
    }

    /// Whether `value` may be a store or device id: what `store_id` and `device_id` of an event must be.
    public static func isIdentifier(_ value: String, maxLength: Int = EventLimits.default.maxIdentifierLength) -> Bool {
        !value.isEmpty && value.utf8.count <= maxLength && value.utf8.allSatisfy(isIdentifierByte)
    }

    /// C0 controls and DEL.
    public static func isControlByte(_ b: UInt8) -> Bool { b < 0x20 || b == 0x7F }

    static func isIdentifierByte(_ b: UInt8) -> Bool {
        (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 46 || b == 95 || b == 45
            || b == 58 || b == 64
    }

    func enumValue<T: RawRepresentable>(
        _ value: String?, field: String, _ make: (String) -> T?, _ all: [T]
    ) throws -> T where T.RawValue == String {
        guard let value else { throw EventValidationError(.missingField, field: field, "required") }
        guard let v = make(value) else {
            let allowed = all.map(\.rawValue).joined(separator: ", ")
            throw EventValidationError(
                .invalidValue, field: field, "unknown value '\(value.prefix(64))' (expected one of \(allowed))")
        }
        return v
    }
}
