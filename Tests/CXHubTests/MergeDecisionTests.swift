import CXCore
import Testing

@testable import CXHub

@Suite("Merge decisions (PROTOCOL.md §6.4–6.5)")
struct MergeDecisionTests {
    let hashA: [UInt8] = Array(repeating: 1, count: 32)
    let hashB: [UInt8] = Array(repeating: 2, count: 32)

    @Test("in-order batches apply and advance the high-water mark", arguments: [0, 5, 999] as [UInt64])
    func inOrder(hwm: UInt64) {
        let d = MergeDecision.decide(
            seqFrom: hwm + 1, seqTo: hwm + 10, contentHash: hashA, isPoll: false,
            context: MergeContext(highWaterMark: hwm))
        #expect(d == .apply(above: hwm, newHighWaterMark: hwm + 10))
    }

    @Test("a gap is refused with the expected seq", arguments: [2, 7, 100] as [UInt64])
    func gap(ahead: UInt64) {
        let d = MergeDecision.decide(
            seqFrom: 10 + ahead, seqTo: 20 + ahead, contentHash: hashA, isPoll: false,
            context: MergeContext(highWaterMark: 9))
        #expect(d == .gap(expectedSeq: 10))
    }

    @Test func sameKeySameHashIsDuplicate() {
        let d = MergeDecision.decide(
            seqFrom: 1, seqTo: 10, contentHash: hashA, isPoll: false,
            context: MergeContext(highWaterMark: 30, previousHash: hashA, previousHighWaterMark: 10))
        #expect(d == .duplicate(highWaterMark: 30))
    }

    @Test func sameKeyOtherHashIsConflict() {
        let d = MergeDecision.decide(
            seqFrom: 1, seqTo: 10, contentHash: hashB, isPoll: false,
            context: MergeContext(highWaterMark: 10, previousHash: hashA, previousHighWaterMark: 10))
        #expect(d == .hashConflict)
    }

    @Test("an overlap applies only what lies above the high-water mark")
    func overlap() {
        let d = MergeDecision.decide(
            seqFrom: 5, seqTo: 15, contentHash: hashA, isPoll: false, context: MergeContext(highWaterMark: 10))
        #expect(d == .apply(above: 10, newHighWaterMark: 15))
        let below = MergeDecision.decide(
            seqFrom: 1, seqTo: 4, contentHash: hashA, isPoll: false, context: MergeContext(highWaterMark: 10))
        #expect(below == .apply(above: 10, newHighWaterMark: 10))
    }

    @Test func pollNeverApplies() {
        let d = MergeDecision.decide(
            seqFrom: 0, seqTo: 0, contentHash: hashA, isPoll: true, context: MergeContext(highWaterMark: 42))
        #expect(d == .poll(highWaterMark: 42))
    }

    @Test("clock offsets beyond the threshold are corrected", arguments: [-3 * 3_600_000, 5 * 3_600_000] as [Int64])
    func skew(offset: Int64) {
        let hub: Int64 = 1_800_000_000_000
        let sent = HLCTimestamp(wallMillis: hub - offset, counter: 3)
        let a = ClockAssessment.assess(sentHLC: sent, hubWallMillis: hub, skewThresholdMillis: 120_000)
        #expect(a.skewed)
        #expect(a.offsetMillis == offset)
        #expect(a.corrected(sent) == HLCTimestamp(wallMillis: hub, counter: 3))
    }

    @Test func smallOffsetsAreNoise() {
        let sent = HLCTimestamp(wallMillis: 1_000_000, counter: 0)
        let a = ClockAssessment.assess(sentHLC: sent, hubWallMillis: 1_030_000, skewThresholdMillis: 120_000)
        #expect(!a.skewed)
        #expect(a.corrected(sent) == sent)
    }
}
