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

    /// The packed enrichment (the agent's ingest path) is written through a pointer, apart from the rest: every
    /// flag combination, with and without intents, language and sentiment, must give SwiftProtobuf's bytes.
    @Test(arguments: 0..<32)
    func packedEnrichmentEqualsSwiftProtobuf(flagBits: UInt8) throws {
        let text = "the card was charged twice " + String(repeating: "ü", count: 70) + " can I get a refund?"
        let sentiments: [Enrichment.Sentiment] = [
            .init(compound: -0.62, positive: 0, neutral: 0.4, negative: 0.6),
            .init(compound: -0.0, positive: 0, neutral: 1, negative: 0),
            .init(compound: 0, positive: 0, neutral: 0, negative: 0),
        ]
        for (k, sentiment) in sentiments.enumerated() {
            var packed = PackedEnrichment(sentiment: sentiment)
            packed.flags = PackedEnrichment.Flags(rawValue: flagBits)
            if k == 0 {
                packed.setIntent(.complaint, start: 12, end: 26)
                packed.setIntent(.refund, start: 0, end: text.utf8.count)  // a phrase that needs a 2-byte length
                packed.setIntent(.question, start: 5, end: 5)  // an empty phrase
                packed.language = "en"
                packed.languageConfidence = 0.93
            } else if k == 1 {
                packed.language = ""
                packed.languageConfidence = 0.5
            }
            let event = Event(
                eventID: UUID(), storeID: "s", deviceID: "d", channel: .chat, type: .chatMessage, occurredAt: 1,
                text: text,
                enrichment: packed.enrichment(text: text, modelVersion: "", taxonomy: []))
            var expected = Cxsync_V1_Event(event, seq: 0, batchStoreID: "")
            expected.eventID = Data()
            expected.occurredAtMs = 0
            #expect(
                EventPayloadEncoder.encode(event, packed: packed) == (try expected.serializedBytes()),
                "flags \(flagBits), case \(k)")
        }
    }
}
