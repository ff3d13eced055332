import CXCore
import CXProtocol
import Foundation
import SwiftProtobuf

/// Deterministic inputs for the protocol tests and the golden vectors.
enum Fixtures {
    static let agentID = "agent-vector-01"
    static let storeID = "store-001"
    static let signingKey = try! AgentSigningKey(rawRepresentation: Array(1...32))
    static var signer: (keyID: String, key: AgentSigningKey) { (agentID, signingKey) }

    static var vectorsDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("protocol/vectors")
    }

    static let texts = [
        "The cashier was super helpful and the line moved fast.",
        "Waited 40 minutes at the pickup counter, nobody came.",
        "App keeps logging me out at checkout.",
        "Charged twice for the same order, still waiting for my refund.",
        "Great selection, the new layout is easy to find things in.",
    ]

    static func events(count: Int, seed: UInt64 = 42, firstSeq: UInt64 = 1) -> [SequencedEvent] {
        var rng = SeededGenerator(seed: seed)
        let channels: [Channel] = [.kiosk, .pos, .web, .mobile, .chat]
        return (0..<count).map { i in
            var idBytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }
            idBytes[6] = idBytes[6] & 0x0F | 0x40
            idBytes[8] = idBytes[8] & 0x3F | 0x80
            let channel = channels[Int.random(in: 0..<channels.count, using: &rng)]
            let isSurvey = channel == .kiosk
            let occurred = 1_704_067_200_000 + Int64(i) * 1_500 + Int64.random(in: 0..<1000, using: &rng)
            let event = Event(
                eventID: UUID(bytes: idBytes), storeID: storeID, deviceID: "\(storeID)-\(channel.rawValue)-01",
                channel: channel, type: isSurvey ? .surveyNPS : (channel == .pos ? .posTransaction : .chatMessage),
                occurredAt: occurred, hlc: HLCTimestamp(wallMillis: occurred, counter: 0),
                customerID: Bool.random(using: &rng) ? "cust-\(100 + Int.random(in: 0..<900, using: &rng))" : nil,
                journeyStage: isSurvey ? .postPurchase : .purchase,
                score: isSurvey ? Score(value: Double(Int.random(in: 0...10, using: &rng)), scale: .nps) : nil,
                text: channel == .pos ? nil : texts[Int.random(in: 0..<texts.count, using: &rng)],
                amount: channel == .pos ? Double(Int.random(in: 100...20000, using: &rng)) / 100 : nil,
                currency: channel == .pos ? "EUR" : nil)
            return SequencedEvent(seq: firstSeq + UInt64(i), event: event)
        }
    }

    static func batch(_ events: [SequencedEvent]) -> Cxsync_V1_Batch {
        var b = Cxsync_V1_Batch()
        b.agentID = agentID
        b.epoch = 1_700_000_000_000
        b.seqFrom = events.first?.seq ?? 1
        b.seqTo = events.last?.seq ?? 1
        b.storeID = storeID
        b.sentHlc = HLCTimestamp(wallMillis: 1_704_100_000_000, counter: 3).rawValue
        b.events = events.map { Cxsync_V1_Event($0.event, seq: $0.seq, batchStoreID: storeID) }
        return b
    }

    /// The same batch in the column form of protocol 1.1.
    static func columnBatch(_ events: [SequencedEvent]) -> Cxsync_V1_Batch {
        var b = batch([])
        b.seqFrom = events.first?.seq ?? 1
        b.seqTo = events.last?.seq ?? 1
        b.setEvents(events)
        return b
    }

    static func lwwBatch() -> Cxsync_V1_Batch {
        var b = batch([])
        b.seqFrom = 10
        b.seqTo = 14
        let fields: [(String, String, String?)] = [
            ("profile", "stage"), ("profile", "last_store"), ("consent", "predictive"), ("config", "alert_threshold"),
            ("profile", "nickname"),
        ].enumerated().map { i, kv in (kv.0, kv.1, i == 4 ? nil : "value-\(i)") }
        b.lwwUpdates = fields.enumerated().map { i, f in
            var u = Cxsync_V1_LWWUpdate()
            u.seq = 10 + UInt64(i)
            u.collection = f.0
            u.key = "cust-h-\(i % 2)"
            u.field = f.1
            if let v = f.2 { u.value = v }
            u.hlc = HLCTimestamp(wallMillis: 1_704_100_000_000 + Int64(i)).rawValue
            u.node = agentID
            return u
        }
        return b
    }

    static func alertBatch() -> Cxsync_V1_Batch {
        var b = batch([])
        b.seqFrom = 20
        b.seqTo = 22
        b.alertUpdates = [AlertStatus.open, .acknowledged, .resolved].enumerated().map { i, status in
            var a = Cxsync_V1_AlertUpdate()
            a.seq = 20 + UInt64(i)
            a.alertID = "alert-\(i)"
            a.status = Cxsync_V1_AlertStatus(status)
            a.rule = "sentiment_below_threshold"
            a.severity = i == 0 ? "high" : "medium"
            a.storeID = storeID
            a.summary = "Negative feedback at kiosk"
            a.raisedHlc = HLCTimestamp(wallMillis: 1_704_100_000_000).rawValue
            if status != .open {
                var note = Cxsync_V1_LWWString()
                note.value = "called the customer back"
                note.hlc = HLCTimestamp(wallMillis: 1_704_100_060_000).rawValue
                note.node = agentID
                a.note = note
                a.assignee = note
                a.assignee.value = "store-manager"
            }
            return a
        }
        return b
    }

    static func erasureBatch() -> Cxsync_V1_Batch {
        var b = batch([])
        b.seqFrom = 30
        b.seqTo = 31
        b.erasures = (0..<2).map { i in
            var e = Cxsync_V1_Erasure()
            e.seq = 30 + UInt64(i)
            e.subject = "hmac-sha256:\(String(repeating: i == 0 ? "ab" : "cd", count: 32))"
            e.hlc = HLCTimestamp(wallMillis: 1_704_200_000_000).rawValue
            return e
        }
        return b
    }

    /// A downstream-only poll (protocol 1.1) with the agent's buffer report.
    static func pollBatch() -> Cxsync_V1_Batch {
        var b = batch([])
        b.seqFrom = 0
        b.seqTo = 0
        b.poll = true
        b.downstreamCursor = 41
        b.status.bufferDepth = 0
        b.status.lastSeq = 1000
        b.status.usedBytes = 4_194_304
        b.status.quotaBytes = 1_073_741_824
        b.status.agentVersion = "cx-agent 0.1.0"
        return b
    }

    /// A dictionary trained on synthetic single events (deterministic for one zstd version).
    static let dictionary: ZstdDictionary = {
        let samples = events(count: 4000, seed: 7).map {
            try! Cxsync_V1_Event($0.event, seq: $0.seq, batchStoreID: storeID).serializedBytes() as [UInt8]
        }
        return try! ZstdDictionary.train(samples: samples, capacity: 8 * 1024)
    }()
}
