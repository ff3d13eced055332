import CXCore
import CXProtocol
import Foundation
import SwiftProtobuf
import Testing

@Suite("Column form of a batch's events")
struct EventColumnsTests {
    static func key(_ id: String) -> AgentPublicKey? { id == Fixtures.agentID ? Fixtures.signingKey.publicKey : nil }

    static func refusal(_ b: Cxsync_V1_Batch, limits: ProtocolLimits = .default) -> ProtocolError? {
        do {
            _ = try FrameDecoder(limits: limits).decodeBatch(
                FrameEncoder().frame(b, kind: .batch, signer: Fixtures.signer), key: key)
            return nil
        } catch {
            return error
        }
    }

    /// Events that use every column: other stores, attributes, enrichment, amounts, HLC counters, seqs out of order.
    static func richEvents() -> [SequencedEvent] {
        var events = Fixtures.events(count: 12, seed: 5, firstSeq: 100)
        events[1].event.storeID = "store-002"
        events[2].event.attributes = ["lane": "4", "promo": "spring", "": "empty key"]
        events[3].event.attributes = ["lane": "5"]
        events[4].event.enrichment = Enrichment(
            modelVersion: "insight-1.2",
            sentiment: Enrichment.Sentiment(compound: -0.5, positive: 0, neutral: 0.25, negative: 0.75),
            intents: [Enrichment.Intent(kind: .refund, phrase: "refund")],
            themes: [Enrichment.Theme(dimension: "driver", value: "billing")], flags: ["caps"], language: "en",
            languageConfidence: 0.875)
        events[5].event.hlc = HLCTimestamp(wallMillis: events[5].event.occurredAt + 90_000, counter: 65535)
        events[6].event.hlc = .zero
        events[7].event.amount = -12.345
        events[7].event.currency = "USD"
        events[8].event.text = "Ünïcode ✓ and emoji 🎉"
        // the earliest a receiver accepts: a delta of decades backwards
        events[9].event.occurredAt = 946_684_800_000
        events.swapAt(10, 11)
        return events
    }

    static func columnBatch(_ events: [SequencedEvent]) -> Cxsync_V1_Batch {
        var b = Fixtures.columnBatch(events)
        b.seqFrom = events.map(\.seq).min() ?? 1
        b.seqTo = events.map(\.seq).max() ?? 1
        return b
    }

    @Test(arguments: [1, 3, 1000])
    func columnsRoundTripByteForByte(count: Int) throws {
        let events = Fixtures.events(count: count)
        let b = Self.columnBatch(events)
        #expect(b.hasEventColumns && b.events.isEmpty)
        let frame = FrameEncoder().frame(b, kind: .batch, signer: Fixtures.signer)
        let decoded = try FrameDecoder().decodeBatch(frame, key: Self.key)
        #expect(decoded.events == events)
        #expect(FrameEncoder().frame(decoded.wire, kind: .batch, signer: Fixtures.signer) == frame)
        var again = Self.columnBatch(decoded.events)
        again.sentHlc = b.sentHlc
        #expect(try again.serializedBytes() as [UInt8] == b.serializedBytes() as [UInt8])
    }

    /// An enrichment in the agent buffer's compact forms lost its intents or confidence: refused in the column form
    /// as in the row form, whichever stored field it carries.
    @Test(arguments: ["spans", "percent"])
    func storedFormsAreRefusedInColumns(field: String) throws {
        let events = Self.richEvents()
        var b = Self.columnBatch(events)
        #expect(Self.refusal(b) == nil)
        if field == "spans" {
            b.eventColumns.enrichments[0].storedIntentSpans = [2, 0, 6]
        } else {
            b.eventColumns.enrichments[0].storedLanguagePercent = 88
        }
        let error = try #require(Self.refusal(b))
        #expect(error.code == .invalidField && error.message.contains("agent buffer form"), "\(error)")
    }

    @Test func everyColumnRoundTrips() throws {
        let events = Self.richEvents()
        let b = Self.columnBatch(events)
        #expect(b.hasEventColumns)
        let decoded = try FrameDecoder().decodeBatch(
            FrameEncoder().frame(b, kind: .batch, signer: Fixtures.signer), key: Self.key)
        #expect(decoded.events == events)
    }

    @Test func columnsAreSmallerThanRowsOnce1000EventsAreCompressed() throws {
        let events = Fixtures.events(count: 1000)
        let rows = FrameEncoder().frame(Fixtures.batch(events), kind: .batch, signer: Fixtures.signer)
        let columns = FrameEncoder().frame(Self.columnBatch(events), kind: .batch, signer: Fixtures.signer)
        #expect(columns.count < rows.count)
    }

    @Test(arguments: [1.0001, Double.nan, 1e300])
    func scoresWithoutExactThousandthsFallBackToRows(score: Double) throws {
        var events = Fixtures.events(count: 3)
        events[1].event.amount = score
        let b = Self.columnBatch(events)
        #expect(!b.hasEventColumns && b.events.count == 3)
    }

    @Test func aBatchWithBothFormsIsRefused() {
        var b = Self.columnBatch(Fixtures.events(count: 3))
        b.events = Fixtures.batch(Fixtures.events(count: 1)).events
        let error = Self.refusal(b)
        #expect(error?.code == .invalidField)
        #expect(error?.message == "events and event_columns are both present; a batch uses one form")
    }

    @Test func anEventWithoutADeviceIsRefusedInColumnsToo() {
        var events = Fixtures.events(count: 3)
        events[1].event.deviceID = ""
        let error = Self.refusal(Self.columnBatch(events))
        #expect(error?.code == .invalidField)
        #expect(error?.message == "events[1].device_id: required")
    }

    @Test func aPollWithColumnsIsRefused() {
        var b = Fixtures.pollBatch()
        b.eventColumns = Cxsync_V1_EventColumns()
        #expect(Self.refusal(b)?.code == .invalidField)
    }

    @Test func theEventLimitHoldsForColumns() {
        var limits = ProtocolLimits()
        limits.maxEventsPerBatch = 2
        let error = Self.refusal(Self.columnBatch(Fixtures.events(count: 3)), limits: limits)
        #expect(error?.code == .tooManyItems)
        #expect(error?.message == "3 events exceed the limit of 2")
    }

    struct Malformed: Sendable, CustomStringConvertible {
        var description: String
        var code: ProtocolError.Code
        var message: String
        var mutate: @Sendable (inout Cxsync_V1_EventColumns) -> Void
    }

    /// Each structural refusal of §6.6, and the §6.2 checks as they apply to columns, with the exact message.
    static let malformed: [Malformed] = [
        Malformed(
            description: "short device column", code: .invalidField,
            message: "event_columns.device: 2 entries, expected 3 (one per event)"
        ) { $0.device.removeLast() },
        Malformed(
            description: "event ids not 16 bytes each", code: .invalidField,
            message: "event_columns.event_ids: 47 bytes, expected 16 x 3"
        ) { $0.eventIds.removeLast() },
        Malformed(
            description: "unknown presence bit", code: .invalidField, message: "events[1].presence: unknown bits 0x8"
        ) { $0.presence[1] |= 8 },
        Malformed(
            description: "score missing", code: .invalidField,
            message: "event_columns.score_milli: 0 entries, expected 2 (one per event with a score)"
        ) { $0.scoreMilli = [] },
        Malformed(
            description: "too many attributes", code: .tooManyItems, message: "events[0].attributes: more than 32"
        ) { $0.attributeCounts[0] = 33 },
        Malformed(
            description: "attribute keys missing", code: .invalidField,
            message: "event_columns.attribute_keys: 0 entries, expected 1 (attribute_counts add up to 1)"
        ) { $0.attributeCounts[0] = 1 },
        Malformed(
            description: "text lengths disagree", code: .invalidField,
            message: "event_columns.texts: 160 bytes, text_lengths add up to 161"
        ) { $0.textLengths[2] += 1 },
        Malformed(
            description: "text not UTF-8", code: .invalidField, message: "events[0].text: not UTF-8"
        ) { $0.texts[$0.texts.startIndex] = 0xFF },
        Malformed(
            description: "new string beyond the table", code: .invalidField,
            message: "events[0].currency: a new string, but all 5 are in use"
        ) { $0.currency[0] = 1 },
        Malformed(
            description: "reference to a string not used yet", code: .invalidField,
            message: "events[0].device_id: string reference 5, only 0 introduced"
        ) { $0.device[0] = 6 },
        Malformed(
            description: "unused string", code: .invalidField,
            message: "event_columns.strings: 6 strings, only 5 are used"
        ) { $0.strings.append("spare") },
        Malformed(
            description: "overlong string", code: .stringTooLong,
            message: "event_columns.strings[0]: longer than 256 bytes"
        ) { $0.strings[0] = String(repeating: "d", count: 257) },
        Malformed(
            description: "device id over 128 bytes", code: .stringTooLong,
            message: "events[0].device_id: longer than 128 bytes"
        ) { $0.strings[0] = String(repeating: "d", count: 129) },
        Malformed(
            description: "HLC counter over 16 bits", code: .invalidField,
            message: "events[0].hlc: counter 65536 outside 16 bits"
        ) { $0.hlcCounters[0] = 65536 },
        Malformed(
            description: "HLC wall clock negative", code: .invalidField,
            message: "events[0].hlc: wall clock -1 outside 48 bits"
        ) { $0.hlcSkewDeltas[0] = -1 - $0.occurredAtDeltas[0] },
        Malformed(
            description: "seq outside the range", code: .invalidSeqRange, message: "events[1] has seq 4 outside 1...3"
        ) { $0.seqDeltas[1] = 3 },
        Malformed(
            description: "repeated seq", code: .invalidSeqRange, message: "events[1] repeats seq 1"
        ) { $0.seqDeltas[1] = 0 },
        Malformed(
            description: "unknown channel", code: .invalidField, message: "events[2].channel: unknown value 0"
        ) { $0.channel[2] = .unspecified },
        Malformed(
            description: "score out of its scale", code: .invalidField,
            message: "events[0].score: 11.0 outside nps_0_10"
        ) { $0.scoreMilli[0] = 11_000 },
        Malformed(
            description: "text over 4,096 characters", code: .stringTooLong,
            message: "events[0].text: longer than 4096 characters"
        ) {
            let extra = 4097 - Int($0.textLengths[0])
            $0.texts.insert(contentsOf: repeatElement(UInt8(ascii: "x"), count: extra), at: $0.texts.startIndex)
            $0.textLengths[0] += UInt32(extra)
        },
    ]

    static func malformedBatch(_ m: Malformed) -> Cxsync_V1_Batch {
        var b = columnBatch(Fixtures.events(count: 3))
        m.mutate(&b.eventColumns)
        return b
    }

    @Test func theFixtureForMalformedCasesHasTheExpectedShape() throws {
        let c = Self.columnBatch(Fixtures.events(count: 3)).eventColumns
        #expect(c.strings.count == 5)
        #expect(c.presence == [1, 0, 1])
        #expect(c.textLengths.map(Int.init).reduce(0, +) == 160 && c.textLengths[0] > 0)
        #expect(c.device == [1, 1, 2])
        #expect(c.store == [0, 0, 0] && c.currency == [0, 0, 0])
    }

    @Test(arguments: malformed)
    func malformedColumnsAreRefusedWithTheirExactError(m: Malformed) {
        let error = Self.refusal(Self.malformedBatch(m))
        #expect(error?.code == m.code)
        #expect(error?.message == m.message)
    }
}
