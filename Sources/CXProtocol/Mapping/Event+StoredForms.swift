import CXCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension Cxsync_V1_Event {
    /// Whether the event carries any of the agent buffer's compact forms (`stored_*` fields), which are never
    /// sent.
    public var hasStoredForms: Bool {
        !storedCustomerKey.isEmpty
            || (hasEnrichment
                && (!enrichment.storedIntentSpans.isEmpty || enrichment.storedLanguagePercent != 0
                    || !enrichment.storedSentiment.isEmpty))
    }

    /// `customer_id` as the protocol sends it: the hex of the stored key when the row keeps it compact, without
    /// expanding the rest (a key of the wrong length gives hex that no key has; `expandStoredForms` refuses it).
    public var sentCustomerID: String {
        storedCustomerKey.isEmpty ? customerID : CustomerKey.hex(storedCustomerKey, count: storedCustomerKey.count)
    }

    /// Turns the compact forms of an agent's buffer row (`EventPayloadEncoder.encode(_:packed:)`) back into the
    /// fields the protocol sends: the customer key's hex, intents with their phrases cut from the text, the
    /// sentiment and the language confidence as floats. Rows without them (older rows, rows of the full encoder)
    /// are left as they are. Throws when a form does not fit the row: a key that is not 16 bytes, spans that are
    /// not triples or reach past the text, sentiment numbers that are not four or out of range.
    public mutating func expandStoredForms() throws(ProtocolError) {
        if !storedCustomerKey.isEmpty {
            guard storedCustomerKey.count == CustomerKey.byteCount else {
                throw ProtocolError(
                    .invalidField,
                    "stored_customer_key: \(storedCustomerKey.count) bytes, a key has \(CustomerKey.byteCount)")
            }
            customerID = sentCustomerID
            storedCustomerKey = Data()
        }
        guard hasEnrichment else { return }
        try enrichment.expandStoredSentiment()
        if enrichment.storedLanguagePercent != 0 {
            enrichment.languageConfidence = Float(Double(enrichment.storedLanguagePercent) / 100)
            enrichment.storedLanguagePercent = 0
        }
        let spans = enrichment.storedIntentSpans
        guard !spans.isEmpty else { return }
        guard spans.count % 3 == 0 else {
            throw ProtocolError(
                .invalidField, "stored_intent_spans: \(spans.count) numbers, not (kind, start, length) triples")
        }
        let utf8 = text.utf8
        var intents: [Cxsync_V1_Intent] = []
        intents.reserveCapacity(spans.count / 3)
        for i in stride(from: 0, to: spans.count, by: 3) {
            let start = Int(spans[i + 1])
            let end = start + Int(spans[i + 2])
            guard end <= utf8.count else {
                throw ProtocolError(
                    .invalidField,
                    "stored_intent_spans[\(i / 3)]: bytes \(start)..<\(end) of a text of \(utf8.count) bytes")
            }
            var intent = Cxsync_V1_Intent()
            intent.kind = Cxsync_V1_IntentKind(rawValue: Int(spans[i])) ?? .UNRECOGNIZED(Int(spans[i]))
            if end > start {
                let from = utf8.index(utf8.startIndex, offsetBy: start)
                intent.phrase = String(decoding: utf8[from..<utf8.index(from, offsetBy: end - start)], as: UTF8.self)
            }
            intents.append(intent)
        }
        enrichment.intents = intents + enrichment.intents
        enrichment.storedIntentSpans = []
    }
}

extension Cxsync_V1_Enrichment {
    /// `stored_sentiment` back into the four floats that `EventPayloadEncoder` would have written
    /// (`EventPayloadEncoder.StoredSentiment`).
    mutating func expandStoredSentiment() throws(ProtocolError) {
        let s = storedSentiment
        guard !s.isEmpty else { return }
        guard s.count == 4, s[0] <= 20_000, s[1] <= 1000, s[2] <= 1000, s[3] <= 1000 else {
            throw ProtocolError(
                .invalidField,
                "stored_sentiment: \(s), not a compound in ten-thousandths (zigzag, at most 20000) and three shares in "
                    + "thousandths (at most 1000)")
        }
        let c = Int64(s[0] >> 1) ^ -Int64(s[0] & 1)
        compound = Float(Double(c) / 10_000)
        positive = Float(Double(s[1]) / 1000)
        neutral = Float(Double(s[2]) / 1000)
        negative = Float(Double(s[3]) / 1000)
        storedSentiment = []
    }
}
