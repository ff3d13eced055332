import CXCore
import Foundation

/// The common case of `EventValidator`, without its per-event costs (UUID text parsing, enum lookups
/// through lowered strings, error plumbing).
///
/// It only ever accepts: when anything is missing, unusual or wrong it returns nil and the caller asks
/// `EventValidator`, which stays the one source of rejection messages. A test checks that every event
/// this accepts is the event the validator builds.
struct FastEventBuilder: Sendable {
    let limits: EventLimits

    func build(_ s: ScannedEvent, nowMillis: Int64) -> Event? {
        let e = s.incoming
        guard let id = s.eventID, let store = e.storeID, identifier(store), let device = e.deviceID,
            identifier(device), let channelName = e.channel, let channel = Self.channels(channelName),
            let typeName = e.type, let type = Self.types(typeName), let at = e.occurredAt
        else { return nil }
        let occurredAt: Int64
        switch at {
        case .millis(let ms): occurredAt = ms
        case .text(let t):
            guard let ms = RFC3339.parseMillis(t) else { return nil }
            occurredAt = ms
        }
        guard occurredAt >= EventLimits.earliestOccurredAt, occurredAt <= nowMillis + limits.maxFutureMillis else {
            return nil
        }
        if let c = e.customerID, !identifier(c, Self.customerIdentifierByte) { return nil }
        var stage: JourneyStage?
        if let name = e.journeyStage {
            guard let s = Self.stages(name) else { return nil }
            stage = s
        }
        var score: Score?
        if let value = e.score {
            let scale: ScoreScale
            if let name = e.scoreScale {
                guard let s = Self.scales(name) else { return nil }
                scale = s
            } else {
                guard let s = type.defaultScale else { return nil }
                scale = s
            }
            guard value.isFinite, scale.range.contains(value) else { return nil }
            score = Score(value: value, scale: scale)
        }
        if let text = e.text, text.utf8.count > limits.maxTextLength,
            text.unicodeScalars.count > limits.maxTextLength
        {
            return nil
        }
        if let amount = e.amount, !amount.isFinite { return nil }
        if let currency = e.currency {
            guard currency.utf8.count == 3, currency.utf8.allSatisfy({ $0 >= 65 && $0 <= 90 }) else { return nil }
        }
        let attributes = e.attributes ?? [:]
        if !attributes.isEmpty {
            guard attributes.count <= limits.maxAttributes else { return nil }
            for (k, v) in attributes {
                guard !k.isEmpty, k.utf8.count <= limits.maxAttributeKeyLength,
                    v.utf8.count <= limits.maxAttributeValueLength
                else { return nil }
            }
        }
        let b = id
        let uuid = UUID(
            uuid: (
                UInt8(truncatingIfNeeded: b.high >> 56), UInt8(truncatingIfNeeded: b.high >> 48),
                UInt8(truncatingIfNeeded: b.high >> 40), UInt8(truncatingIfNeeded: b.high >> 32),
                UInt8(truncatingIfNeeded: b.high >> 24), UInt8(truncatingIfNeeded: b.high >> 16),
                UInt8(truncatingIfNeeded: b.high >> 8), UInt8(truncatingIfNeeded: b.high),
                UInt8(truncatingIfNeeded: b.low >> 56), UInt8(truncatingIfNeeded: b.low >> 48),
                UInt8(truncatingIfNeeded: b.low >> 40), UInt8(truncatingIfNeeded: b.low >> 32),
                UInt8(truncatingIfNeeded: b.low >> 24), UInt8(truncatingIfNeeded: b.low >> 16),
                UInt8(truncatingIfNeeded: b.low >> 8), UInt8(truncatingIfNeeded: b.low)
            ))
        return Event(
            eventID: uuid, storeID: store, deviceID: device, channel: channel, type: type, occurredAt: occurredAt,
            customerID: e.customerID, journeyStage: stage, score: score, text: e.text, amount: e.amount,
            currency: e.currency, attributes: attributes)
    }

    func identifier(_ value: String, _ table: [UInt8] = Self.identifierByte) -> Bool {
        let count = value.utf8.count
        guard count > 0, count <= limits.maxIdentifierLength else { return false }
        // One table lookup per byte over the string's own storage (its UTF-8 view's iterator cost most of the check).
        var copy = value
        return copy.withUTF8 { b in
            table.withUnsafeBufferPointer { t in
                var bad: UInt8 = 0
                for c in b { bad |= t[Int(c)] }
                return bad == 0
            }
        }
    }

    /// 0 for the bytes an identifier may hold (letters, digits, `.`, `_`, `-`, `:`, `@`), 1 for every other.
    static let identifierByte: [UInt8] = (0..<256).map { b in
        (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 46 || b == 95 || b == 45
            || b == 58 || b == 64 ? 0 : 1
    }

    /// 1 for the bytes a customer identifier may not hold (`EventValidator.isControlByte`), 0 for every other.
    static let customerIdentifierByte: [UInt8] = (0..<256).map { EventValidator.isControlByte(UInt8($0)) ? 1 : 0 }

    /// Every spelling `EventType(name:)` accepts: the canonical name, its underscore form, the aliases.
    static let types = NameTable<EventType>(
        EventType.allCases.flatMap { c in [(c.rawValue, c), (String(c.rawValue.map { $0 == "." ? "_" : $0 }), c)] }
            + [("pos_txn", .posTransaction), ("pos.txn", .posTransaction)])
    static let channels = NameTable(Channel.allCases.map { ($0.rawValue, $0) })
    static let stages = NameTable(JourneyStage.allCases.map { ($0.rawValue, $0) })
    static let scales = NameTable(ScoreScale.allCases.map { ($0.rawValue, $0) })
}
