import CXCore
import CXProtocol
import Foundation
import SwiftProtobuf

/// Turns outbox rows into signed, compressed batch frames (PROTOCOL.md §6), and builds polls.
struct BatchBuilder: Sendable {
    let agentID: String
    let epoch: UInt64
    let storeID: String
    let key: AgentSigningKey
    let encoder: FrameEncoder
    let maxBatchBytes: Int
    static let agentVersion = "cx-agent/1.1"

    /// A batch of the longest prefix of `entries` that fits `maxBatchBytes` (at least one event).
    func batch(
        _ entries: [OutboxEntry], cursor: UInt64, position: SyncPosition, quotaBytes: Int64, nowMillis: Int64
    ) throws -> SyncStateMachine.InFlight {
        var events: [SequencedEvent] = []
        events.reserveCapacity(entries.count)
        var bytes = 0
        for (i, entry) in entries.enumerated() {
            bytes += entry.payload.count + 16
            if bytes > maxBatchBytes && !events.isEmpty { break }
            var wire = try Cxsync_V1_Event(serializedBytes: entry.payload)
            wire.seq = entry.seq
            wire.hlc = entry.hlc.rawValue
            do {
                events.append(
                    SequencedEvent(
                        seq: entry.seq, event: try Event(wire: wire, batchStoreID: storeID, limits: .default, index: i)))
            } catch {
                throw BufferError(code: "bad_outbox_row", message: "outbox seq \(entry.seq) cannot be sent: \(error)")
            }
        }
        var b = header(cursor: cursor, position: position, quotaBytes: quotaBytes, nowMillis: nowMillis)
        b.seqFrom = events[0].seq
        b.seqTo = events[events.count - 1].seq
        b.setEvents(events)
        return SyncStateMachine.InFlight(
            seqFrom: b.seqFrom, seqTo: b.seqTo, frame: encoder.frame(b, kind: .batch, signer: (agentID, key)))
    }

    /// A downstream-only poll: seq range 0...0, the cursor and the buffer report.
    func poll(cursor: UInt64, position: SyncPosition, quotaBytes: Int64, nowMillis: Int64) -> [UInt8] {
        var b = header(cursor: cursor, position: position, quotaBytes: quotaBytes, nowMillis: nowMillis)
        b.poll = true
        return encoder.frame(b, kind: .batch, signer: (agentID, key))
    }

    func header(cursor: UInt64, position: SyncPosition, quotaBytes: Int64, nowMillis: Int64) -> Cxsync_V1_Batch {
        var b = Cxsync_V1_Batch()
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
        return b
    }
}
