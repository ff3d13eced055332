import CXCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension Cxsync_V1_Event {
    /// The wire form of a buffered event; `store_id` is left empty when it equals the batch's store.
    public init(_ event: Event, seq: UInt64, batchStoreID: String) {
        self.init()
        self.seq = seq
        eventID = Data(event.eventID.bytes)
        storeID = event.storeID == batchStoreID ? "" : event.storeID
        deviceID = event.deviceID
        channel = Cxsync_V1_Channel(event.channel)
        type = Cxsync_V1_EventType(event.type)
        occurredAtMs = event.occurredAt
        hlc = event.hlc.rawValue
        customerID = event.customerID ?? ""
        if let stage = event.journeyStage { journeyStage = Cxsync_V1_JourneyStage(stage) }
        if let score = event.score {
            self.score = score.value
            scoreScale = Cxsync_V1_ScoreScale(score.scale)
        }
        text = event.text ?? ""
        if let amount = event.amount { self.amount = amount }
        currency = event.currency ?? ""
        attributes = event.attributes.sorted { $0.key < $1.key }.map {
            var a = Cxsync_V1_Attribute()
            a.key = $0.key
            a.value = $0.value
            return a
        }
        if let e = event.enrichment { enrichment = Cxsync_V1_Enrichment(e) }
    }
}

/// The fields of one wire event, whichever form carried it (a row or the columns of PROTOCOL.md §6.6), before
/// they are checked: both forms go through the same checks without building a protobuf message per event.
struct WireEventFields {
    var eventID: UUID
    var storeID: String
    var deviceID: String
    var channel: Cxsync_V1_Channel
    var type: Cxsync_V1_EventType
    var occurredAtMs: Int64
    var hlc: UInt64
    var customerID: String
    var journeyStage: Cxsync_V1_JourneyStage
    var score: Double?
    var scoreScale: Cxsync_V1_ScoreScale
    var text: String
    var amount: Double?
    var currency: String
    var attributes: [(key: String, value: String)]
    var enrichment: Cxsync_V1_Enrichment?
}

extension Event {
    /// Reads and bounds-checks a wire event; `index` locates it in error messages.
    public init(wire w: Cxsync_V1_Event, batchStoreID: String, limits: ProtocolLimits, index: Int) throws(ProtocolError)
    {
        guard w.eventID.count == 16 else {
            throw ProtocolError(.invalidField, "events[\(index)].event_id: must be 16 bytes, got \(w.eventID.count)")
        }
        // The agent buffer's compact forms stay in the buffer: an event that carries them lost those fields (the
        // enrichment's are refused in `Enrichment(wire:)`, which the column form reaches too).
        guard w.storedCustomerKey.isEmpty else {
            throw ProtocolError(
                .invalidField, "events[\(index)]: stored_customer_key is an agent buffer form, never sent")
        }
        try self.init(
            fields: WireEventFields(
                eventID: UUID(bytes: w.eventID), storeID: w.storeID, deviceID: w.deviceID, channel: w.channel,
                type: w.type, occurredAtMs: w.occurredAtMs, hlc: w.hlc, customerID: w.customerID,
                journeyStage: w.journeyStage, score: w.hasScore ? w.score : nil, scoreScale: w.scoreScale,
                text: w.text, amount: w.hasAmount ? w.amount : nil, currency: w.currency,
                attributes: w.attributes.map { ($0.key, $0.value) }, enrichment: w.hasEnrichment ? w.enrichment : nil),
            batchStoreID: batchStoreID, limits: limits, index: index)
    }

    /// The `occurred_at_ms` a receiver accepts: from the earliest agents take at ingest (2000-01-01) up to 2100-01-01.
    static let occurredAtRange: Range<Int64> = EventLimits.earliestOccurredAt..<4_102_444_800_000

    /// The checks every wire event passes, in either form.
    init(fields w: WireEventFields, batchStoreID: String, limits: ProtocolLimits, index: Int) throws(ProtocolError) {
        func bad(_ field: String, _ why: String) -> ProtocolError {
            ProtocolError(.invalidField, "events[\(index)].\(field): \(why)")
        }
        func bounded(_ s: String, _ field: String, _ max: Int) throws(ProtocolError) -> String {
            guard s.utf8.count <= max else {
                throw ProtocolError(.stringTooLong, "events[\(index)].\(field): longer than \(max) bytes")
            }
            return s
        }
        let limitsE = limits.event
        let store = try bounded(w.storeID.isEmpty ? batchStoreID : w.storeID, "store_id", limitsE.maxIdentifierLength)
        let device = try bounded(w.deviceID, "device_id", limitsE.maxIdentifierLength)
        guard !device.isEmpty else { throw bad("device_id", "required") }
        guard let channel = Channel(w.channel) else { throw bad("channel", "unknown value \(w.channel.rawValue)") }
        guard let type = EventType(w.type) else { throw bad("type", "unknown value \(w.type.rawValue)") }
        // A device clock may be wrong, but not by decades: the receiver's queries walk the days between its oldest
        // and newest event, which one event dated in the year 275,000 would make endless.
        guard Self.occurredAtRange.contains(w.occurredAtMs) else {
            throw bad("occurred_at_ms", "\(w.occurredAtMs) is not from 2000-01-01 to 2100-01-01")
        }
        var score: Score?
        if let value = w.score {
            guard let scale = ScoreScale(w.scoreScale) else { throw bad("score_scale", "required with a score") }
            guard scale.range.contains(value) else { throw bad("score", "\(value) outside \(scale.rawValue)") }
            score = Score(value: value, scale: scale)
        }
        // NaN and infinities are refused as the agent's validator refuses them: stored, they would poison sums.
        if let amount = w.amount, !amount.isFinite { throw bad("amount", "\(amount) is not a finite number") }
        // A text within the limit in bytes is within it in characters: count characters only when it is not.
        guard w.text.utf8.count <= limitsE.maxTextLength || w.text.unicodeScalars.count <= limitsE.maxTextLength
        else {
            throw ProtocolError(
                .stringTooLong, "events[\(index)].text: longer than \(limitsE.maxTextLength) characters")
        }
        guard w.attributes.count <= limitsE.maxAttributes else {
            throw ProtocolError(.tooManyItems, "events[\(index)].attributes: more than \(limitsE.maxAttributes)")
        }
        var attributes: [String: String] = [:]
        for a in w.attributes {
            _ = try bounded(a.key, "attributes.key", limitsE.maxAttributeKeyLength)
            attributes[a.key] = try bounded(a.value, "attributes.value", limitsE.maxAttributeValueLength)
        }
        let enrichment = try w.enrichment.map { e throws(ProtocolError) in
            try Enrichment(wire: e, limits: limits, index: index)
        }
        var stage: JourneyStage?
        if w.journeyStage != .unspecified {
            guard let known = JourneyStage(w.journeyStage) else {
                throw bad("journey_stage", "unknown value \(w.journeyStage.rawValue)")
            }
            stage = known
        }
        self.init(
            eventID: w.eventID, storeID: store, deviceID: device, channel: channel, type: type,
            occurredAt: w.occurredAtMs, hlc: HLCTimestamp(rawValue: w.hlc),
            customerID: w.customerID.isEmpty
                ? nil : try bounded(w.customerID, "customer_id", limitsE.maxIdentifierLength),
            journeyStage: stage, score: score, text: w.text.isEmpty ? nil : w.text,
            amount: w.amount, currency: w.currency.isEmpty ? nil : try bounded(w.currency, "currency", 3),
            attributes: attributes, enrichment: enrichment)
    }
}

extension Cxsync_V1_Enrichment {
    public init(_ e: Enrichment) {
        self.init()
        modelVersion = e.modelVersion
        compound = Float(e.sentiment.compound)
        positive = Float(e.sentiment.positive)
        neutral = Float(e.sentiment.neutral)
        negative = Float(e.sentiment.negative)
        intents = e.intents.map {
            var i = Cxsync_V1_Intent()
            i.kind = Cxsync_V1_IntentKind($0.kind)
            i.phrase = $0.phrase
            return i
        }
        themes = e.themes.map {
            var t = Cxsync_V1_Theme()
            t.dimension = $0.dimension
            t.value = $0.value
            return t
        }
        flags = e.flags
        language = e.language ?? ""
        languageConfidence = Float(e.languageConfidence)
    }
}

extension Enrichment {
    init(wire w: Cxsync_V1_Enrichment, limits: ProtocolLimits, index: Int) throws(ProtocolError) {
        // Both batch forms come here: the row form's check of `stored_customer_key` is in `Event(wire:)`.
        guard w.storedIntentSpans.isEmpty && w.storedLanguagePercent == 0 && w.storedSentiment.isEmpty else {
            throw ProtocolError(
                .invalidField, "events[\(index)].enrichment: stored_* fields are an agent buffer form, never sent")
        }
        let n = w.intents.count + w.themes.count + w.flags.count
        guard n <= limits.maxEnrichmentItems else {
            throw ProtocolError(
                .tooManyItems, "events[\(index)].enrichment: \(n) items, limit \(limits.maxEnrichmentItems)")
        }
        let strings =
            [w.modelVersion, w.language] + w.flags + w.intents.map(\.phrase)
            + w.themes.flatMap { [$0.dimension, $0.value] }
        guard strings.allSatisfy({ $0.utf8.count <= 256 }) else {
            throw ProtocolError(.stringTooLong, "events[\(index)].enrichment: a string is longer than 256 bytes")
        }
        // Scores are stored and served as numbers: a NaN or an infinity from one agent would make every answer
        // that holds the event unencodable as JSON.
        for (name, value, range) in [
            ("compound", w.compound, Float(-1)...1), ("positive", w.positive, 0...1), ("neutral", w.neutral, 0...1),
            ("negative", w.negative, 0...1), ("language_confidence", w.languageConfidence, 0...1),
        ] where !range.contains(value) {
            throw ProtocolError(
                .invalidField,
                "events[\(index)].enrichment.\(name): \(value) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        var intents: [Intent] = []
        for i in w.intents {
            guard let kind = Intent.Kind(i.kind) else {
                throw ProtocolError(
                    .invalidField, "events[\(index)].enrichment.intents: unknown kind \(i.kind.rawValue)")
            }
            intents.append(Intent(kind: kind, phrase: i.phrase))
        }
        self.init(
            modelVersion: w.modelVersion,
            sentiment: Sentiment(
                compound: Double(w.compound), positive: Double(w.positive), neutral: Double(w.neutral),
                negative: Double(w.negative)),
            intents: intents, themes: w.themes.map { Theme(dimension: $0.dimension, value: $0.value) },
            flags: w.flags, language: w.language.isEmpty ? nil : w.language,
            languageConfidence: Double(w.languageConfidence))
    }
}
