import CXCore
import CXProtocol
import Foundation

/// Builds signed batches as an agent would.
struct TestAgent {
    var agentID: String
    var store: String
    var key: AgentSigningKey
    var epoch: UInt64 = 1

    func event(seq: UInt64, store: String? = nil, customer: String? = nil, hlcWall: Int64? = nil) -> SequencedEvent {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        return SequencedEvent(
            seq: seq,
            event: Event(
                eventID: UUID(), storeID: store ?? self.store, deviceID: "\(self.store)-kiosk-01", channel: .kiosk,
                type: .surveyNPS, occurredAt: now, hlc: HLCTimestamp(wallMillis: hlcWall ?? now, counter: 0),
                customerID: customer, score: Score(value: 9, scale: .nps), text: "great service"))
    }

    func batch(_ range: ClosedRange<UInt64>, events: [SequencedEvent]? = nil, sentWall: Int64? = nil)
        -> Cxsync_V1_Batch
    {
        var b = Cxsync_V1_Batch()
        b.agentID = agentID
        b.epoch = epoch
        b.seqFrom = range.lowerBound
        b.seqTo = range.upperBound
        b.storeID = store
        b.sentHlc =
            HLCTimestamp(wallMillis: sentWall ?? Int64(Date().timeIntervalSince1970 * 1000), counter: 0).rawValue
        b.events = (events ?? range.map { event(seq: $0) }).map {
            Cxsync_V1_Event($0.event, seq: $0.seq, batchStoreID: store)
        }
        return b
    }

    func frame(_ batch: Cxsync_V1_Batch, signer: AgentSigningKey? = nil, keyID: String? = nil) -> [UInt8] {
        FrameEncoder().frame(batch, kind: .batch, signer: (keyID ?? agentID, signer ?? key))
    }
}
