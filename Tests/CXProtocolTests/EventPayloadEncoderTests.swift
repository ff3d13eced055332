import CXCore
import CXProtocol
import Foundation
import SwiftProtobuf
import Testing

/// The hand-written encoder must write exactly SwiftProtobuf's bytes: agents store it, hubs decode it with
/// SwiftProtobuf, and a byte of difference would be a corrupt event.
@Suite("Event payload encoder")
struct EventPayloadEncoderTests {
    static let enrichment = Enrichment(
        modelVersion: "cxinsight-test", sentiment: .init(compound: -0.62, positive: 0, neutral: 0.4, negative: 0.6),
        intents: Enrichment.Intent.Kind.allCases.map { .init(kind: $0, phrase: "phrase \($0.rawValue)") },
        themes: [.init(dimension: "product_area", value: "checkout"), .init(dimension: "severity", value: "high")],
        flags: ["pii_masked", "near_duplicate"], language: "en", languageConfidence: 0.93)

    /// Every channel, type, stage and scale at least once; optional fields present, absent, zero and empty.
    static var events: [Event] {
        var events: [Event] = []
        let stages: [JourneyStage?] = [nil] + JourneyStage.allCases
        let scales: [ScoreScale?] = [nil] + ScoreScale.allCases
        for (i, type) in EventType.allCases.enumerated() {
            let channel = Channel.allCases[i % Channel.allCases.count]
            events.append(
                Event(
                    eventID: UUID(), storeID: "store-\(i)", deviceID: "store-\(i)-\(channel.rawValue)-01",
                    channel: channel, type: type, occurredAt: i == 0 ? 0 : 1_704_067_200_000 + Int64(i),
                    hlc: i == 1 ? .zero : HLCTimestamp(wallMillis: 1_704_067_200_000, counter: UInt16(i)),
                    customerID: i % 3 == 0 ? nil : (i == 1 ? "" : "c0ffee\(i)"),
                    journeyStage: stages[i % stages.count],
                    score: scales[i % scales.count].map { Score(value: i == 2 ? 0 : Double(i), scale: $0) },
                    text: i % 4 == 0 ? nil : "text \(i) with ünïcode 😊",
                    amount: i % 2 == 0 ? nil : (i == 3 ? 0 : Double(i) * 1.25), currency: i % 2 == 0 ? nil : "EUR",
                    attributes: i % 3 == 1 ? ["lane": "\(i)", "a": ""] : [:],
                    enrichment: i % 2 == 1 ? enrichment : nil))
        }
        for channel in Channel.allCases {
            events.append(
                Event(
                    eventID: UUID(), storeID: "s", deviceID: "d", channel: channel, type: .feedback,
                    occurredAt: -5,
                    enrichment: Enrichment(
                        modelVersion: "", sentiment: .init(compound: 0, positive: 0, neutral: 0, negative: 0))))
        }
        // Edge cases of the in-place enrichment: empty repeated strings and sub-messages (written, unlike empty
        // singular fields), -0.0 (written), and lengths that need a two-byte varint.
        let long = String(repeating: "ä", count: 100)
        events.append(
            Event(
                eventID: UUID(), storeID: "s", deviceID: "d", channel: .chat, type: .chatMessage, occurredAt: 1,
                enrichment: Enrichment(
                    modelVersion: long, sentiment: .init(compound: -0.0, positive: 0, neutral: 1, negative: -0.0),
                    intents: [.init(kind: .question, phrase: ""), .init(kind: .complaint, phrase: long)],
                    themes: [.init(dimension: "", value: ""), .init(dimension: long, value: "x")],
                    flags: ["", "spam", long], language: "", languageConfidence: 0)))
        return events
    }

    @Test(arguments: events)
    func storedPayloadEqualsSwiftProtobuf(event: Event) throws {
        var expected = Cxsync_V1_Event(event, seq: 0, batchStoreID: "")
        if expected.hasEnrichment { expected.enrichment.modelVersion = "" }
        #expect(EventPayloadEncoder.encode(event) == (try expected.serializedBytes()))
        #expect(
            EventPayloadEncoder.encode(event, modelVersion: true)
                == (try Cxsync_V1_Event(event, seq: 0, batchStoreID: "").serializedBytes()))
    }

    @Test(arguments: events)
    func hubExtraEqualsSwiftProtobuf(event: Event) throws {
        let full = Cxsync_V1_Event(event, seq: 0, batchStoreID: "")
        var expected = Cxsync_V1_Event()
        if full.hasAmount { expected.amount = full.amount }
        expected.currency = full.currency
        expected.attributes = full.attributes
        if full.hasEnrichment { expected.enrichment = full.enrichment }
        let hasExtra =
            event.enrichment != nil || !event.attributes.isEmpty || event.amount != nil || event.currency != nil
        #expect(EventPayloadEncoder.extra(event) == (hasExtra ? try expected.serializedBytes() : nil))
    }

    @Test(arguments: events)
    func storedPayloadWithoutThemesEqualsSwiftProtobuf(event: Event) throws {
        var stripped = event
        stripped.enrichment?.themes = []
        #expect(
            EventPayloadEncoder.encode(event, identity: false, themes: false)
                == EventPayloadEncoder.encode(stripped, identity: false))
        var expected = Cxsync_V1_Event(stripped, seq: 0, batchStoreID: "")
        if expected.hasEnrichment { expected.enrichment.modelVersion = "" }
        expected.eventID = Data()
        expected.occurredAtMs = 0
        #expect(EventPayloadEncoder.encode(event, identity: false, themes: false) == (try expected.serializedBytes()))
    }

    /// The packed enrichment (the agent's ingest path) is written through a pointer, apart from the rest, in the
    /// buffer's compact forms: for every flag combination, with and without intents, language, sentiment and a
    /// customer key, the bytes must be SwiftProtobuf's for those forms, and expanding them must give the event.
    @Test(arguments: 0..<32)
    func packedEnrichmentEqualsSwiftProtobuf(flagBits: UInt8) throws {
        let text = "the card was charged twice " + String(repeating: "ü", count: 70) + " can I get a refund?"
        let key = "0123456789abcdef00ff10e0d0c0b0a9"
        let sentiments: [Enrichment.Sentiment] = [
            .init(compound: -0.62, positive: 0, neutral: 0.4, negative: 0.6),
            .init(compound: -0.0, positive: 0, neutral: 1, negative: 0),
            .init(compound: 0, positive: 0, neutral: 0, negative: 0),
            .init(compound: 0.1, positive: 0.2, neutral: 0.8, negative: 0),
            .init(compound: 0.12345, positive: 0.3, neutral: 0.7, negative: 0),  // not as the engine rounds it
            .init(compound: -1, positive: 0, neutral: 0, negative: 1),
        ]
        // What stored_sentiment holds for each: nothing where the floats are as short or the values are not in
        // whole units (the negative zero too, which would expand as a positive one).
        let storedSentiments: [[UInt32]] = [
            [12399, 0, 400, 600], [], [], [2000, 200, 800, 0], [], [19999, 0, 0, 1000],
        ]
        for (k, sentiment) in sentiments.enumerated() {
            var packed = PackedEnrichment(sentiment: sentiment)
            packed.flags = PackedEnrichment.Flags(rawValue: flagBits)
            var customer: String?
            var spans: [UInt32] = []
            var percent: UInt32 = 0
            switch k {
            case 0:
                packed.setIntent(.complaint, start: 12, end: 26)
                packed.setIntent(.refund, start: 0, end: text.utf8.count)  // a span whose length takes 2 bytes
                packed.setIntent(.question, start: 5, end: 5)  // an empty phrase
                spans = [1, 12, 14, 2, 0, UInt32(text.utf8.count), 5, 5, 0]
                packed.language = "en"
                packed.languageConfidence = 0.93
                percent = 93
                customer = key
            case 1:
                packed.language = ""
                packed.languageConfidence = 0.5
                percent = 50
                customer = "loyalty-7"  // not a key: stored as it is
            case 2:
                customer = key.uppercased()  // not as the hasher writes keys: stored as it is
                packed.language = "de"
                packed.languageConfidence = 1
                percent = 100
            default:
                packed.language = "fr"
                packed.languageConfidence = 0.125  // not a whole percentage: stored as the float
            }
            let event = Event(
                eventID: UUID(), storeID: "s", deviceID: "d", channel: .chat, type: .chatMessage, occurredAt: 1,
                customerID: customer, text: text,
                enrichment: packed.enrichment(text: text, modelVersion: "", taxonomy: []))
            var wire = Cxsync_V1_Event(event, seq: 0, batchStoreID: "")
            wire.eventID = Data()
            wire.occurredAtMs = 0
            var stored = wire
            if customer == key {
                stored.customerID = ""
                stored.storedCustomerKey = Data([
                    0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x00, 0xff, 0x10, 0xe0, 0xd0, 0xc0, 0xb0, 0xa9,
                ])
            }
            stored.enrichment.intents = []
            stored.enrichment.storedIntentSpans = spans
            if percent > 0 {
                stored.enrichment.languageConfidence = 0
                stored.enrichment.storedLanguagePercent = percent
            }
            if !storedSentiments[k].isEmpty {
                stored.enrichment.compound = 0
                stored.enrichment.positive = 0
                stored.enrichment.neutral = 0
                stored.enrichment.negative = 0
                stored.enrichment.storedSentiment = storedSentiments[k]
            }
            let bytes = EventPayloadEncoder.encode(event, packed: packed)
            #expect(bytes == (try stored.serializedBytes()), "flags \(flagBits), case \(k)")
            var expanded = try Cxsync_V1_Event(serializedBytes: bytes)
            #expect(expanded.hasStoredForms == (k < 3 || !storedSentiments[k].isEmpty))
            try expanded.expandStoredForms()
            #expect(expanded == wire, "flags \(flagBits), case \(k)")
            #expect(!expanded.hasStoredForms)
        }
    }

    /// A stored form that does not fit its row is refused with what is wrong, and a hub refuses every event that
    /// carries one: its fields were never expanded.
    @Test(arguments: [
        ("key", "stored_customer_key: 15 bytes, a key has 16"),
        ("pairs", "stored_intent_spans: 4 numbers, not (kind, start, length) triples"),
        ("past", "stored_intent_spans[1]: bytes 3..<12 of a text of 10 bytes"),
        (
            "sentiment",
            "stored_sentiment: [1, 2, 3], not a compound in ten-thousandths (zigzag, at most 20000) and three shares "
                + "in thousandths (at most 1000)"
        ),
        (
            "share",
            "stored_sentiment: [1, 2, 1001, 3], not a compound in ten-thousandths (zigzag, at most 20000) and three "
                + "shares in thousandths (at most 1000)"
        ),
    ])
    func malformedStoredFormsAreRefused(kind: String, message: String) throws {
        var e = Cxsync_V1_Event()
        e.eventID = Data(repeating: 1, count: 16)
        e.deviceID = "d"
        e.channel = .chat
        e.type = .chatMessage
        e.occurredAtMs = 1_704_067_200_000
        e.text = "0123456789"
        switch kind {
        case "key": e.storedCustomerKey = Data(repeating: 7, count: 15)
        case "pairs": e.enrichment.storedIntentSpans = [1, 0, 3, 2]
        case "sentiment": e.enrichment.storedSentiment = [1, 2, 3]
        case "share": e.enrichment.storedSentiment = [1, 2, 1001, 3]
        default: e.enrichment.storedIntentSpans = [1, 0, 3, 2, 3, 9]
        }
        var copy = e
        #expect(throws: ProtocolError(.invalidField, message)) { try copy.expandStoredForms() }
        let refused = #expect(throws: ProtocolError.self) {
            try Event(wire: e, batchStoreID: "s", limits: .default, index: 3)
        }
        #expect(refused?.code == .invalidField && refused?.message.contains("agent buffer form") == true)
    }
}
