import CXCore
import CXProtocol
import SwiftProtobuf
import Testing

@Suite("Batch validation: polls, status, alert strings, enums, key ids")
struct ValidationTests {
    static func key(_ id: String) -> AgentPublicKey? { id == Fixtures.agentID ? Fixtures.signingKey.publicKey : nil }

    static func decode(_ b: Cxsync_V1_Batch) throws(ProtocolError) -> SyncBatch {
        try FrameDecoder().decodeBatch(FrameEncoder().frame(b, kind: .batch, signer: Fixtures.signer), key: key)
    }

    static func refusal(_ b: Cxsync_V1_Batch) -> ProtocolError? {
        do {
            _ = try decode(b)
            return nil
        } catch {
            return error
        }
    }

    static func poll() -> Cxsync_V1_Batch {
        var b = Fixtures.batch([])
        b.seqFrom = 0
        b.seqTo = 0
        b.poll = true
        b.downstreamCursor = 77
        return b
    }

    @Test func aPollWithoutItemsAndRangeZeroIsAccepted() throws {
        let batch = try Self.decode(Self.poll())
        #expect(batch.isPoll)
        #expect(batch.events.isEmpty)
        #expect(batch.seqRange == 0...0)
        #expect(batch.wire.downstreamCursor == 77)
    }

    @Test(arguments: [(0, 1), (1, 1), (3, 5)] as [(UInt64, UInt64)])
    func aPollWithASeqRangeIsRefused(from: UInt64, to: UInt64) {
        var b = Self.poll()
        b.seqFrom = from
        b.seqTo = to
        let error = Self.refusal(b)
        #expect(error?.code == .invalidSeqRange)
        #expect(error?.message.contains("poll") == true)
    }

    @Test(arguments: ["events", "lww_updates", "alert_updates", "erasures", "identity_links"])
    func aPollWithItemsIsRefused(list: String) {
        var b = Self.poll()
        switch list {
        case "events": b.events = Fixtures.batch(Fixtures.events(count: 1)).events
        case "lww_updates": b.lwwUpdates = Fixtures.lwwBatch().lwwUpdates
        case "alert_updates": b.alertUpdates = Fixtures.alertBatch().alertUpdates
        case "erasures": b.erasures = Fixtures.erasureBatch().erasures
        default:
            var link = Cxsync_V1_IdentityLink()
            link.a = "a"
            link.b = "b"
            b.identityLinks = [link]
        }
        let error = Self.refusal(b)
        #expect(error?.code == .invalidField)
        #expect(error?.message.hasPrefix("poll:") == true)
    }

    @Test func aNonPollBatchStillNeedsARange() {
        var b = Self.poll()
        b.poll = false
        #expect(Self.refusal(b)?.code == .invalidSeqRange)
    }

    @Test func statusIsOptionalAndRoundTrips() throws {
        var b = Fixtures.batch(Fixtures.events(count: 2))
        #expect(try Self.decode(b).status == nil)
        var s = Cxsync_V1_AgentStatus()
        s.bufferDepth = 1234
        s.oldestUnsyncedOccurredAtMs = 1_704_067_200_000
        s.lastSeq = 5000
        s.usedBytes = 10 << 20
        s.quotaBytes = 1 << 30
        s.agentVersion = "cx-agent 0.1.0"
        b.status = s
        #expect(try Self.decode(b).status == s)
        var poll = Self.poll()
        poll.status = s
        #expect(try Self.decode(poll).status == s)
    }

    /// A hub stores these as signed 64-bit integers; a larger value must be refused at decoding, not trap there.
    @Test(arguments: [
        "epoch", "seq_from", "seq_to", "downstream_cursor", "status.buffer_depth", "status.last_seq",
        "status.used_bytes", "status.quota_bytes",
    ])
    func countersAboveSignedRangeAreRefused(field: String) throws {
        let huge = UInt64(Int64.max) + 1
        var b = Fixtures.batch(Fixtures.events(count: 2))
        b.status = Cxsync_V1_AgentStatus()
        _ = try Self.decode(b)
        switch field {
        case "epoch": b.epoch = huge
        case "seq_from": b.seqFrom = huge
        case "seq_to": b.seqTo = .max
        case "downstream_cursor": b.downstreamCursor = huge
        case "status.buffer_depth": b.status.bufferDepth = huge
        case "status.last_seq": b.status.lastSeq = .max
        case "status.used_bytes": b.status.usedBytes = huge
        default: b.status.quotaBytes = huge
        }
        let error = Self.refusal(b)
        #expect(error?.code == .invalidField)
        #expect(error?.message.hasPrefix("\(field): ") == true, "\(String(describing: error))")
    }

    @Test func statusStringsAndTimesAreBounded() {
        var b = Self.poll()
        b.status.agentVersion = String(repeating: "v", count: 65)
        #expect(Self.refusal(b)?.code == .stringTooLong)
        b.status.agentVersion = "1"
        b.status.oldestUnsyncedOccurredAtMs = -1
        #expect(Self.refusal(b)?.code == .invalidField)
        // a hub adds it to the agent's clock offset: a time past the events' range is refused, not summed
        b.status.oldestUnsyncedOccurredAtMs = .max
        #expect(Self.refusal(b)?.message.hasPrefix("status.oldest_unsynced_occurred_at_ms: ") == true)
        b.status.oldestUnsyncedOccurredAtMs = 4_102_444_800_000
        #expect(Self.refusal(b)?.code == .invalidField)
        b.status.oldestUnsyncedOccurredAtMs = 4_102_444_799_999
        #expect(Self.refusal(b) == nil)
        b.status.oldestUnsyncedOccurredAtMs = 0
        #expect(Self.refusal(b) == nil)
    }

    /// A NaN or infinite amount (the row form carries doubles) is refused, as the agent's validator refuses it.
    @Test(arguments: [Double.nan, .infinity, -.infinity])
    func nonFiniteAmountsAreRefused(amount: Double) {
        var b = Fixtures.batch(Fixtures.events(count: 2))
        b.events[1].amount = 12.5
        #expect(Self.refusal(b) == nil)
        b.events[1].amount = amount
        let error = Self.refusal(b)
        #expect(error?.code == .invalidField)
        #expect(error?.message.hasPrefix("events[1].amount: ") == true, "\(String(describing: error))")
    }

    /// Scores are served as JSON numbers: a NaN or an infinity would make every answer holding the event fail.
    @Test(
        arguments: [
            ("compound", Float.infinity), ("compound", -1.5), ("compound", Float.nan), ("positive", -0.1),
            ("neutral", 1.01), ("negative", Float.infinity), ("language_confidence", 2),
        ] as [(String, Float)])
    func enrichmentScoresOutsideTheirRangeAreRefused(field: String, value: Float) throws {
        var b = Fixtures.batch(Fixtures.events(count: 2))
        var e = Cxsync_V1_Enrichment()
        e.modelVersion = "m1"
        e.compound = -1
        e.negative = 1
        e.languageConfidence = 1
        b.events[1].enrichment = e
        #expect(Self.refusal(b) == nil)
        switch field {
        case "compound": b.events[1].enrichment.compound = value
        case "positive": b.events[1].enrichment.positive = value
        case "neutral": b.events[1].enrichment.neutral = value
        case "negative": b.events[1].enrichment.negative = value
        default: b.events[1].enrichment.languageConfidence = value
        }
        let error = Self.refusal(b)
        #expect(error?.code == .invalidField)
        #expect(error?.message.hasPrefix("events[1].enrichment.\(field): ") == true, "\(String(describing: error))")
    }

    static let alertFields: [(String, Int)] = [
        ("alert_id", 257), ("rule", 257), ("severity", 65), ("store_id", 129), ("summary", 4097),
        ("note.value", 4097), ("note.node", 257), ("assignee.value", 257), ("assignee.node", 257),
    ]

    @Test(arguments: alertFields)
    func everyAlertStringIsBounded(field: String, length: Int) throws {
        var b = Fixtures.alertBatch()
        let long = String(repeating: "x", count: length)
        switch field {
        case "alert_id": b.alertUpdates[1].alertID = long
        case "rule": b.alertUpdates[1].rule = long
        case "severity": b.alertUpdates[1].severity = long
        case "store_id": b.alertUpdates[1].storeID = long
        case "summary": b.alertUpdates[1].summary = long
        case "note.value": b.alertUpdates[1].note.value = long
        case "note.node": b.alertUpdates[1].note.node = long
        case "assignee.value": b.alertUpdates[1].assignee.value = long
        default: b.alertUpdates[1].assignee.node = long
        }
        let error = Self.refusal(b)
        #expect(error?.code == .stringTooLong)
        #expect(error?.message.hasPrefix("alert_updates[1].\(field):") == true)
        var atLimit = Fixtures.alertBatch()
        atLimit.alertUpdates[1].summary = String(repeating: "x", count: 4096)
        #expect(Self.refusal(atLimit) == nil)
    }

    @Test func anUnknownJourneyStageIsRefusedNotDropped() {
        var b = Fixtures.batch(Fixtures.events(count: 3))
        b.events[2].journeyStage = .UNRECOGNIZED(42)
        let error = Self.refusal(b)
        #expect(error?.code == .invalidField)
        #expect(error?.message == "events[2].journey_stage: unknown value 42")
    }

    /// A receiver's queries walk the days between its oldest and newest events: a date decades off is refused.
    @Test(
        "occurred_at_ms is from 2000-01-01 to 2100-01-01",
        arguments: [
            (0, false), (946_684_799_999, false), (946_684_800_000, true), (1_704_067_200_000, true),
            (4_102_444_799_999, true), (4_102_444_800_000, false), (Int64.max, false),
        ] as [(Int64, Bool)])
    func occurredAtIsBounded(_ ms: Int64, _ accepted: Bool) {
        var b = Fixtures.batch(Fixtures.events(count: 2))
        b.events[1].occurredAtMs = ms
        let error = Self.refusal(b)
        if accepted {
            #expect(error == nil)
        } else {
            #expect(error?.code == .invalidField)
            #expect(error?.message == "events[1].occurred_at_ms: \(ms) is not from 2000-01-01 to 2100-01-01")
        }
    }

    @Test func noJourneyStageStillMeansNone() throws {
        var b = Fixtures.batch(Fixtures.events(count: 1))
        b.events[0].journeyStage = .unspecified
        #expect(try Self.decode(b).events[0].event.journeyStage == nil)
    }

    @Test(arguments: [128, 129, 255])
    func theEncoderAndDecoderAgreeOnKeyIDLength(length: Int) {
        let id = String(repeating: "a", count: length)
        let encoderAccepts = (try? FrameEncoder.validateKeyID(id)) != nil
        #expect(encoderAccepts == (length <= ProtocolLimits.default.maxKeyIDLength))
        if encoderAccepts {
            let frame = FrameEncoder().frame(
                Fixtures.batch(Fixtures.events(count: 1)), kind: .batch,
                signer: (id, Fixtures.signingKey))
            #expect((try? FrameDecoder().header(of: frame)) != nil)
        }
    }
}

/// A batch's item counts are read from its bytes before it is decoded: a few MiB of empty items (2 bytes each on the
/// wire, hundreds in memory) made the hub allocate gigabytes before the counts were checked. Each case ends in a
/// truncated field, which decoding reports first (`malformed_message`); the counts are refused before it.
@Suite("Item counts checked before decoding")
struct WireShapeTests {
    static func message(_ items: [UInt8]) -> [UInt8] {
        var head = Fixtures.batch([])
        head.seqFrom = 1
        head.seqTo = 1
        return try! head.serializedBytes() + items + [0x2A, 0x7F]  // store_id (field 5) of 127 bytes: cut short
    }

    static func varint(_ v: Int) -> [UInt8] {
        var n = v
        var out: [UInt8] = []
        while n >= 0x80 {
            out.append(UInt8(n & 0x7F) | 0x80)
            n >>= 7
        }
        return out + [UInt8(n)]
    }

    /// A length-delimited field.
    static func field(_ number: Int, _ body: [UInt8]) -> [UInt8] {
        varint(number << 3 | 2) + varint(body.count) + body
    }

    static func items(_ what: String) -> [UInt8] {
        func repeated(_ item: [UInt8], _ n: Int) -> [UInt8] { Array([[UInt8]](repeating: item, count: n).joined()) }
        switch what {
        case "events": return repeated(field(8, []), 10_001)
        case "state items": return repeated(field(11, []), 50_001)
        case "attributes": return field(8, repeated(field(16, []), 33))
        default: return field(8, field(17, repeated(field(8, []), 65)))
        }
    }

    @Test(arguments: [
        ("events", "10001 events exceed the limit of 10000"),
        ("state items", "50001 state items exceed the limit of 50000"),
        ("attributes", "events[0].attributes: more than 32"),
        ("enrichment items", "events[0].enrichment: 65 items, limit 64"),
    ])
    func countsAreRefusedBeforeDecoding(what: String, message: String) {
        let frame = FrameEncoder().frame(message: Self.message(Self.items(what)), kind: .batch, signer: Fixtures.signer)
        do {
            _ = try FrameDecoder().decodeBatch(frame, key: ValidationTests.key)
            Issue.record("\(what): accepted")
        } catch {
            #expect(error.code == .tooManyItems, "\(what): \(error)")
            #expect(error.message == message, "\(what)")
        }
    }

    /// Column-form string tables and packed columns are counted too: an empty string is 2 bytes on the wire and 16 in
    /// memory, a 1-byte packed entry 8 or 16.
    @Test func columnEntriesAreCounted() {
        let strings = Self.field(15, Array([[UInt8]](repeating: Self.field(2, []), count: 680_001).joined()))
        let channels = Self.field(15, Self.field(11, [UInt8](repeating: 1, count: 10_001)))
        for (columns, message) in [
            (strings, "event_columns.strings: more than 680000 entries"),
            (channels, "event_columns.channel: more than 10000 entries"),
        ] {
            let frame = FrameEncoder().frame(message: Self.message(columns), kind: .batch, signer: Fixtures.signer)
            do throws(ProtocolError) {
                _ = try FrameDecoder().decodeBatch(frame, key: ValidationTests.key)
                Issue.record("accepted")
            } catch {
                #expect(error.code == .tooManyItems && error.message == message, "\(error)")
            }
        }
    }

    /// Column-form enrichments are counted too (one per event at most).
    @Test func columnEnrichmentsAreCounted() {
        let columns = Array([[UInt8]](repeating: Self.field(24, []), count: 10_001).joined())
        let withLength = Self.field(15, columns)
        let frame = FrameEncoder().frame(
            message: Self.message(withLength), kind: .batch, signer: Fixtures.signer)
        do throws(ProtocolError) {
            _ = try FrameDecoder().decodeBatch(frame, key: ValidationTests.key)
            Issue.record("accepted")
        } catch {
            #expect(error.code == .tooManyItems && error.message == "more than 10000 enrichments", "\(error)")
        }
    }
}
