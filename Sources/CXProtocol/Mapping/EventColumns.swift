import CXCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension Cxsync_V1_Batch {
    /// Stores `events` in the column form (PROTOCOL.md §6.6), or in the row form when a score or amount has no
    /// exact thousandths representation. Set `store_id` and `seq_from` first: the columns are relative to them.
    public mutating func setEvents(_ events: [SequencedEvent]) {
        if events.isEmpty || !events.allSatisfy(\.event.isColumnRepresentable) {
            clearEventColumns()
            self.events = events.map { Cxsync_V1_Event($0.event, seq: $0.seq, batchStoreID: storeID) }
            return
        }
        self.events = []
        eventColumns = Cxsync_V1_EventColumns(events, seqFrom: seqFrom, batchStoreID: storeID)
    }
}

extension Event {
    var isColumnRepresentable: Bool {
        (score.map { Milli($0.value) != nil } ?? true) && (amount.map { Milli($0) != nil } ?? true)
    }
}

/// A decimal with at most three fractional digits, carried as an integer number of thousandths.
struct Milli {
    var value: Int64

    /// Nil unless `Double(value) / 1000` gives back exactly `d`, sign of zero included.
    init?(_ d: Double) {
        let scaled = (d * 1000).rounded()
        guard scaled.isFinite, abs(scaled) < 9_007_199_254_740_992 else { return nil }
        let v = Int64(scaled)
        guard (Double(v) / 1000).bitPattern == d.bitPattern else { return nil }
        value = v
    }

    static func double(_ v: Int64) -> Double { Double(v) / 1000 }
}

extension Cxsync_V1_EventColumns {
    /// Bits of `presence`.
    enum Presence {
        static let score: UInt32 = 1 << 0
        static let amount: UInt32 = 1 << 1
        static let enrichment: UInt32 = 1 << 2
        static let known: UInt32 = score | amount | enrichment
    }

    /// The column form of `events`. Every score and amount must be `isColumnRepresentable`.
    init(_ events: [SequencedEvent], seqFrom: UInt64, batchStoreID: String) {
        self.init()
        count = UInt32(events.count)
        var table: [String: UInt32] = [:]
        var strings: [String] = []
        /// Strings enter the table column by column, so that zstd sees all device ids together, then all
        /// customers; a first use is the constant 1, which costs next to nothing once compressed.
        func ref(_ s: String?) -> UInt32 {
            guard let s, !s.isEmpty else { return 0 }
            if let r = table[s] { return r + 1 }
            strings.append(s)
            table[s] = UInt32(strings.count)
            return 1
        }
        store = events.map { $0.event.storeID == batchStoreID ? 0 : ref($0.event.storeID) }
        device = events.map { ref($0.event.deviceID) }
        customer = events.map { ref($0.event.customerID) }
        currency = events.map { ref($0.event.currency) }
        let sortedAttributes = events.map { $0.event.attributes.sorted { $0.key < $1.key } }
        attributeCounts = sortedAttributes.map { UInt32($0.count) }
        attributeKeys = sortedAttributes.flatMap { $0.map { ref($0.key) } }
        attributeValues = sortedAttributes.flatMap { $0.map { ref($0.value) } }
        self.strings = strings

        // Columns are built in locals and assigned once: this message keeps its fields in shared storage, so
        // appending to a field in place would copy the whole array on every append.
        var ids = Data(capacity: events.count * 16)
        var texts: [UInt8] = []
        var previousSeq = seqFrom &- 1
        var previousOccurred: Int64 = 0
        var previousSkew: Int64 = 0
        var seqDeltas: [Int64] = []
        var occurredAtDeltas: [Int64] = []
        var hlcSkewDeltas: [Int64] = []
        var hlcCounters: [UInt32] = []
        var channel: [Cxsync_V1_Channel] = []
        var type: [Cxsync_V1_EventType] = []
        var journeyStage: [Cxsync_V1_JourneyStage] = []
        var scoreScale: [Cxsync_V1_ScoreScale] = []
        var scoreMilli: [Int64] = []
        var amountMilli: [Int64] = []
        var enrichments: [Cxsync_V1_Enrichment] = []
        var presence: [UInt32] = []
        var textLengths: [UInt32] = []
        seqDeltas.reserveCapacity(events.count)
        occurredAtDeltas.reserveCapacity(events.count)
        hlcSkewDeltas.reserveCapacity(events.count)
        hlcCounters.reserveCapacity(events.count)
        channel.reserveCapacity(events.count)
        type.reserveCapacity(events.count)
        journeyStage.reserveCapacity(events.count)
        presence.reserveCapacity(events.count)
        textLengths.reserveCapacity(events.count)
        for e in events {
            let event = e.event
            ids.append(contentsOf: event.eventID.bytes)
            seqDeltas.append(Int64(bitPattern: e.seq &- previousSeq))
            previousSeq = e.seq
            occurredAtDeltas.append(event.occurredAt &- previousOccurred)
            previousOccurred = event.occurredAt
            let skew = Int64(bitPattern: event.hlc.rawValue >> 16) &- event.occurredAt
            hlcSkewDeltas.append(skew &- previousSkew)
            previousSkew = skew
            hlcCounters.append(UInt32(event.hlc.rawValue & 0xFFFF))
            channel.append(Cxsync_V1_Channel(event.channel))
            type.append(Cxsync_V1_EventType(event.type))
            journeyStage.append(event.journeyStage.map(Cxsync_V1_JourneyStage.init) ?? .unspecified)
            var bits: UInt32 = 0
            if let score = event.score {
                bits |= Presence.score
                scoreScale.append(Cxsync_V1_ScoreScale(score.scale))
                scoreMilli.append(Milli(score.value)!.value)
            }
            if let amount = event.amount {
                bits |= Presence.amount
                amountMilli.append(Milli(amount)!.value)
            }
            if let enrichment = event.enrichment {
                bits |= Presence.enrichment
                enrichments.append(Cxsync_V1_Enrichment(enrichment))
            }
            presence.append(bits)
            let before = texts.count
            texts.append(contentsOf: (event.text ?? "").utf8)
            textLengths.append(UInt32(texts.count - before))
        }
        self.seqDeltas = seqDeltas
        self.occurredAtDeltas = occurredAtDeltas
        self.hlcSkewDeltas = hlcSkewDeltas
        self.hlcCounters = hlcCounters
        self.channel = channel
        self.type = type
        self.journeyStage = journeyStage
        self.scoreScale = scoreScale
        self.scoreMilli = scoreMilli
        self.amountMilli = amountMilli
        self.enrichments = enrichments
        self.presence = presence
        self.textLengths = textLengths
        eventIds = ids
        self.texts = Data(texts)
    }

    /// The events of these columns: the structural checks of PROTOCOL.md §6.6 here, then for each event the
    /// checks of §6.2 that the row form passes too (`Event(fields:)`). Seq placement is left to the caller.
    func events(seqFrom: UInt64, batchStoreID: String, limits: ProtocolLimits) throws(ProtocolError)
        -> [SequencedEvent]
    {
        let n = Int(count)
        guard n <= limits.maxEventsPerBatch else {
            throw ProtocolError(.tooManyItems, "\(n) events exceed the limit of \(limits.maxEventsPerBatch)")
        }
        func expect(_ name: String, _ actual: Int, _ expected: Int, _ what: String) throws(ProtocolError) {
            guard actual == expected else {
                throw ProtocolError(
                    .invalidField, "event_columns.\(name): \(actual) entries, expected \(expected) (\(what))")
            }
        }
        let perEvent: [(String, Int)] = [
            ("seq_deltas", seqDeltas.count), ("occurred_at_deltas", occurredAtDeltas.count),
            ("hlc_skew_deltas", hlcSkewDeltas.count), ("hlc_counters", hlcCounters.count), ("store", store.count),
            ("device", device.count), ("customer", customer.count), ("channel", channel.count),
            ("type", type.count), ("journey_stage", journeyStage.count), ("presence", presence.count),
            ("currency", currency.count), ("text_lengths", textLengths.count),
            ("attribute_counts", attributeCounts.count),
        ]
        for (name, actual) in perEvent { try expect(name, actual, n, "one per event") }
        guard eventIds.count == 16 * n else {
            throw ProtocolError(
                .invalidField, "event_columns.event_ids: \(eventIds.count) bytes, expected 16 x \(n)")
        }
        var scores = 0
        var amounts = 0
        var enriched = 0
        for (i, bits) in presence.enumerated() {
            guard bits & ~Presence.known == 0 else {
                throw ProtocolError(.invalidField, "events[\(i)].presence: unknown bits 0x\(String(bits, radix: 16))")
            }
            if bits & Presence.score != 0 { scores += 1 }
            if bits & Presence.amount != 0 { amounts += 1 }
            if bits & Presence.enrichment != 0 { enriched += 1 }
        }
        try expect("score_scale", scoreScale.count, scores, "one per event with a score")
        try expect("score_milli", scoreMilli.count, scores, "one per event with a score")
        try expect("amount_milli", amountMilli.count, amounts, "one per event with an amount")
        try expect("enrichments", enrichments.count, enriched, "one per event with an enrichment")
        var attributes = 0
        for (i, c) in attributeCounts.enumerated() {
            guard c <= limits.event.maxAttributes else {
                throw ProtocolError(.tooManyItems, "events[\(i)].attributes: more than \(limits.event.maxAttributes)")
            }
            attributes += Int(c)
        }
        try expect("attribute_keys", attributeKeys.count, attributes, "attribute_counts add up to \(attributes)")
        try expect("attribute_values", attributeValues.count, attributes, "attribute_counts add up to \(attributes)")
        let textBytes = textLengths.reduce(0) { $0 + Int($1) }
        guard textBytes == texts.count else {
            throw ProtocolError(
                .invalidField, "event_columns.texts: \(texts.count) bytes, text_lengths add up to \(textBytes)")
        }
        let maxString = max(limits.event.maxIdentifierLength, limits.event.maxAttributeValueLength)
        for (k, s) in strings.enumerated() where s.utf8.count > maxString {
            throw ProtocolError(.stringTooLong, "event_columns.strings[\(k)]: longer than \(maxString) bytes")
        }
        var attributeOwner: [Int] = []
        attributeOwner.reserveCapacity(attributes)
        for (i, c) in attributeCounts.enumerated() { attributeOwner += repeatElement(i, count: Int(c)) }
        var introduced = 0
        func resolve(_ column: [UInt32], _ field: String, owner: (Int) -> Int) throws(ProtocolError) -> [String] {
            var out: [String] = []
            out.reserveCapacity(column.count)
            for (k, v) in column.enumerated() {
                switch v {
                case 0:
                    out.append("")
                case 1:
                    guard introduced < strings.count else {
                        throw ProtocolError(
                            .invalidField,
                            "events[\(owner(k))].\(field): a new string, but all \(strings.count) are in use")
                    }
                    out.append(strings[introduced])
                    introduced += 1
                default:
                    guard Int(v) - 1 <= introduced else {
                        throw ProtocolError(
                            .invalidField,
                            "events[\(owner(k))].\(field): string reference \(v - 1), only \(introduced) introduced")
                    }
                    out.append(strings[Int(v) - 2])
                }
            }
            return out
        }
        let stores = try resolve(store, "store_id") { $0 }
        let devices = try resolve(device, "device_id") { $0 }
        let customers = try resolve(customer, "customer_id") { $0 }
        let currencies = try resolve(currency, "currency") { $0 }
        let keys = try resolve(attributeKeys, "attributes.key") { attributeOwner[$0] }
        let values = try resolve(attributeValues, "attributes.value") { attributeOwner[$0] }
        guard introduced == strings.count else {
            throw ProtocolError(
                .invalidField, "event_columns.strings: \(strings.count) strings, only \(introduced) are used")
        }

        var events: [SequencedEvent] = []
        events.reserveCapacity(n)
        var seq = seqFrom &- 1
        var occurred: Int64 = 0
        var skew: Int64 = 0
        var scoreIndex = 0
        var amountIndex = 0
        var enrichmentIndex = 0
        var attributeIndex = 0
        var textOffset = texts.startIndex
        for i in 0..<n {
            seq = seq &+ UInt64(bitPattern: seqDeltas[i])
            occurred = occurred &+ occurredAtDeltas[i]
            skew = skew &+ hlcSkewDeltas[i]
            let wall = skew &+ occurred
            guard wall >= 0, wall < 1 << 48 else {
                throw ProtocolError(.invalidField, "events[\(i)].hlc: wall clock \(wall) outside 48 bits")
            }
            guard hlcCounters[i] <= 0xFFFF else {
                throw ProtocolError(.invalidField, "events[\(i)].hlc: counter \(hlcCounters[i]) outside 16 bits")
            }
            let id = eventIds.withUnsafeBytes { UUID(uuid: $0.loadUnaligned(fromByteOffset: 16 * i, as: uuid_t.self)) }
            var w = WireEventFields(
                eventID: id, storeID: stores[i], deviceID: devices[i], channel: channel[i], type: type[i],
                occurredAtMs: occurred, hlc: UInt64(wall) << 16 | UInt64(hlcCounters[i]), customerID: customers[i],
                journeyStage: journeyStage[i], score: nil, scoreScale: .unspecified, text: "", amount: nil,
                currency: currencies[i], attributes: [], enrichment: nil)
            let bits = presence[i]
            if bits & Presence.score != 0 {
                w.scoreScale = scoreScale[scoreIndex]
                w.score = Milli.double(scoreMilli[scoreIndex])
                scoreIndex += 1
            }
            if bits & Presence.amount != 0 {
                w.amount = Milli.double(amountMilli[amountIndex])
                amountIndex += 1
            }
            if bits & Presence.enrichment != 0 {
                w.enrichment = enrichments[enrichmentIndex]
                enrichmentIndex += 1
            }
            let length = Int(textLengths[i])
            if length > 0 {
                let bytes = texts[textOffset..<(textOffset + length)]
                guard let text = String(validating: bytes, as: UTF8.self) else {
                    throw ProtocolError(.invalidField, "events[\(i)].text: not UTF-8")
                }
                w.text = text
                textOffset += length
            }
            let attributeEnd = attributeIndex + Int(attributeCounts[i])
            while attributeIndex < attributeEnd {
                w.attributes.append((keys[attributeIndex], values[attributeIndex]))
                attributeIndex += 1
            }
            events.append(
                SequencedEvent(
                    seq: seq, event: try Event(fields: w, batchStoreID: batchStoreID, limits: limits, index: i)))
        }
        return events
    }
}
