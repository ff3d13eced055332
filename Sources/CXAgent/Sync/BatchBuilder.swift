import CXCore
import CXInsight
import CXProtocol
import Foundation
import Logging
import SwiftProtobuf

/// Turns outbox rows into signed, compressed batch frames (PROTOCOL.md §6), and builds polls.
struct BatchBuilder: Sendable {
    let agentID: String
    let epoch: UInt64
    let storeID: String
    let key: AgentSigningKey
    let encoder: FrameEncoder
    let maxBatchBytes: Int
    /// Masks and hashes rows stored without enrichment before they are sent.
    let sanitizer: RawEventSanitizer
    let logger: Logger
    /// HLCs further ahead of this box's wall clock than half of this are moved back to now when sent.
    var maxDriftMillis: Int64 = 300_000
    static let agentVersion = "cx-agent/1.1"

    /// The body of a batch of the longest prefix of the outbox items (events and alert updates, in seq order)
    /// that fits `maxBatchBytes` (at least one item), updates of one alert joined: rows decoded, checked and in
    /// column form, without the header (cursor, status, send time), so that it can be prepared while the
    /// previous batch is in flight. `seal` finishes it.
    /// `range`, when given, is the batch's seq range, wider than its items where seqs without a row are skipped
    /// (`SyncService.prepare`); else the range spans the items.
    func prepare(
        _ entries: [OutboxEntry], alerts: [OutboxAlert] = [], modelVersions: [(UInt64, String)] = [],
        range: ClosedRange<UInt64>? = nil
    ) throws -> Cxsync_V1_Batch {
        var events: [SequencedEvent] = []
        events.reserveCapacity(entries.count)
        var included: [OutboxAlert] = []
        // Events and alerts of another store than the enrolled one (buffered before enrollment, when an agent without
        // `store_id` takes any store's): the hub refuses a batch that holds one (store_mismatch), and the same
        // batch would be refused for ever, stalling everything after it. Their seqs stay inside the range, so the
        // hub's mark passes them; they stay in this buffer until evicted, and each batch logs them.
        var otherStores: [String: Int] = [:]
        var unsendable: [(seq: UInt64, error: String)] = []
        // Events stamped while the box's clock ran far ahead (it booted in 2035, then NTP set it right): the hub
        // refuses an HLC more than the drift ahead of its clock, and the batch would be refused until that date.
        // They are sent stamped now; the stored row keeps its stamp.
        let now = BufferStore.nowMillis()
        var restamped = 0
        var firstSeq = UInt64.max
        var lastSeq: UInt64 = 0
        var bytes = 0
        var e = 0
        var a = 0
        while e < entries.count || a < alerts.count {
            let takeEvent = a >= alerts.count || (e < entries.count && entries[e].seq < alerts[a].seq)
            // A stored row grows when sent: seq, HLC and identity (40), coded themes, and its compact forms
            // expanded (24 bytes per event on the standard workload, `cx-bench enrich-path` packed 152.8 against
            // 176.7; 48 leaves room for a row with a key and a long phrase).
            let size = takeEvent ? entries[e].payload.count + 88 + 24 * entries[e].themes.count : 256
            if bytes + size > maxBatchBytes && lastSeq > 0 { break }
            bytes += size
            if takeEvent {
                let entry = entries[e]
                do {
                    let wire = try entry.wireEvent(modelVersions: modelVersions)
                    var event = try Event(wire: wire, batchStoreID: storeID, limits: .default, index: events.count)
                    if event.storeID == storeID {
                        try sanitizer.sanitize(&event)
                        if event.hlc.wallMillis > now + maxDriftMillis / 2 {
                            event.hlc = HLCTimestamp(wallMillis: now, counter: 0)
                            restamped += 1
                        }
                        events.append(SequencedEvent(seq: entry.seq, event: event))
                    } else {
                        otherStores[event.storeID, default: 0] += 1
                    }
                    firstSeq = min(firstSeq, entry.seq)
                    lastSeq = max(lastSeq, entry.seq)
                } catch {
                    // A row that cannot be read or sent (a damaged payload, a row an older version stored that the
                    // protocol now refuses) fails the same way every time: thrown, it stopped the batch and every
                    // later one for good. It is left out, its seq kept inside the range, and the row kept here.
                    unsendable.append((entry.seq, "\(error)"))
                    firstSeq = min(firstSeq, entry.seq)
                    lastSeq = max(lastSeq, entry.seq)
                }
                e += 1
            } else {
                let store = alerts[a].update.storeID
                if store.isEmpty || store == storeID {
                    included.append(alerts[a])
                } else {
                    otherStores[store, default: 0] += 1
                }
                firstSeq = min(firstSeq, alerts[a].seq)
                lastSeq = max(lastSeq, alerts[a].seq)
                a += 1
            }
        }
        let seqFrom = range?.lowerBound ?? firstSeq
        let seqTo = range?.upperBound ?? lastSeq
        if restamped > 0 {
            logger.warning(
                "events stamped by a clock that was ahead are sent stamped now",
                metadata: ["events": "\(restamped)", "seq_range": "\(seqFrom)...\(seqTo)"])
        }
        if let first = unsendable.first {
            logger.error(
                "outbox rows that cannot be sent are left out; they stay in the buffer",
                metadata: [
                    "seqs": "\(unsendable.map(\.seq))", "first_error": "\(first.error)",
                    "seq_range": "\(seqFrom)...\(seqTo)",
                ])
        }
        if !otherStores.isEmpty {
            logger.warning(
                "events and alerts of another store are not sent: this agent is enrolled for its own store only",
                metadata: [
                    "enrolled_store": "\(storeID)", "seq_range": "\(seqFrom)...\(seqTo)",
                    "skipped": "\(otherStores.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" })",
                ])
        }
        var b = Cxsync_V1_Batch()
        b.seqFrom = seqFrom
        b.seqTo = seqTo
        b.setEvents(events)
        // Alerts raised and notes written while the clock ran ahead: the hub checks their HLCs as it does events'.
        let latest = now + maxDriftMillis / 2
        let stampedNow = HLCTimestamp(wallMillis: now, counter: 0).rawValue
        func ahead(_ raw: UInt64) -> Bool { HLCTimestamp(rawValue: raw).wallMillis > latest }
        var restampedAlerts = 0
        b.alertUpdates = included.joined().map { item in
            var u = item.update
            u.seq = item.seq
            if ahead(u.raisedHlc) || (u.hasNote && ahead(u.note.hlc)) || (u.hasAssignee && ahead(u.assignee.hlc)) {
                restampedAlerts += 1
                if ahead(u.raisedHlc) { u.raisedHlc = stampedNow }
                if u.hasNote && ahead(u.note.hlc) { u.note.hlc = stampedNow }
                if u.hasAssignee && ahead(u.assignee.hlc) { u.assignee.hlc = stampedNow }
            }
            return u
        }
        if restampedAlerts > 0 {
            logger.warning(
                "alert updates stamped by a clock that was ahead are sent stamped now",
                metadata: ["alert_updates": "\(restampedAlerts)", "seq_range": "\(seqFrom)...\(seqTo)"])
        }
        return b
    }

    /// A prepared body with the header of this moment, signed and compressed.
    func seal(
        _ body: Cxsync_V1_Batch, cursor: UInt64, position: SyncPosition, quotaBytes: Int64, nowMillis: Int64
    ) -> SyncStateMachine.InFlight {
        var b = body
        stamp(&b, cursor: cursor, position: position, quotaBytes: quotaBytes, nowMillis: nowMillis)
        return SyncStateMachine.InFlight(
            seqFrom: b.seqFrom, seqTo: b.seqTo, frame: encoder.frame(b, kind: .batch, signer: (agentID, key)),
            sealedAtMillis: nowMillis)
    }

    /// A downstream-only poll: seq range 0...0, the cursor and the buffer report.
    func poll(cursor: UInt64, position: SyncPosition, quotaBytes: Int64, nowMillis: Int64) -> [UInt8] {
        var b = Cxsync_V1_Batch()
        stamp(&b, cursor: cursor, position: position, quotaBytes: quotaBytes, nowMillis: nowMillis)
        b.poll = true
        return encoder.frame(b, kind: .batch, signer: (agentID, key))
    }

    func stamp(
        _ b: inout Cxsync_V1_Batch, cursor: UInt64, position: SyncPosition, quotaBytes: Int64, nowMillis: Int64
    ) {
        b.agentID = agentID
        b.epoch = epoch
        b.storeID = storeID
        b.sentHlc = HLCTimestamp(wallMillis: nowMillis, counter: 0).rawValue
        b.downstreamCursor = cursor
        var s = Cxsync_V1_AgentStatus()
        s.bufferDepth = position.unsynced
        s.oldestUnsyncedOccurredAtMs = position.oldestUnsyncedOccurredAt ?? 0
        s.lastSeq = position.lastSeq
        s.usedBytes = UInt64(max(0, position.usedBytes))
        s.quotaBytes = UInt64(max(0, quotaBytes))
        s.agentVersion = Self.agentVersion
        b.status = s
    }
}

extension OutboxEntry {
    /// The event as the protocol sends it: the stored payload with its compact forms expanded and seq, HLC,
    /// event id, occurred_at, coded themes and model version put back.
    public func wireEvent(modelVersions: [(UInt64, String)]) throws -> Cxsync_V1_Event {
        var wire = try Cxsync_V1_Event(serializedBytes: payload)
        try wire.expandStoredForms()
        wire.seq = seq
        wire.hlc = hlc.rawValue
        // Rows since the compact form leave these to their columns (older rows hold them here too).
        if wire.eventID.isEmpty { wire.eventID = withUnsafeBytes(of: eventID.uuid) { Data($0) } }
        if wire.occurredAtMs == 0 { wire.occurredAtMs = occurredAt }
        if !themes.isEmpty {
            wire.enrichment.themes =
                themes.map { t in
                    var w = Cxsync_V1_Theme()
                    w.dimension = t.dimension
                    w.value = t.value
                    return w
                } + wire.enrichment.themes
        }
        if wire.hasEnrichment && wire.enrichment.modelVersion.isEmpty {
            wire.enrichment.modelVersion =
                modelVersions.last { $0.0 <= seq }?.1 ?? modelVersions.first?.1 ?? InsightEngine.modelVersion
        }
        return wire
    }
}
