import CXAgent
import Testing

@Suite struct SyncStateMachineTests {
    static func settings() -> SyncStateMachine.Settings {
        var s = SyncStateMachine.Settings()
        s.syncIntervalMillis = 100
        s.pollIntervalMillis = 1_000
        s.backoffInitialMillis = 200
        s.backoffMaxMillis = 5_000
        s.stallAfterMillis = 10_000
        s.maxBatchEvents = 1_000
        return s
    }

    static func batch(_ from: UInt64, _ to: UInt64) -> SyncStateMachine.InFlight {
        .init(seqFrom: from, seqTo: to, frame: [UInt8(from & 0xFF), UInt8(to & 0xFF)])
    }

    @Test func pollsFirstWhenIdleThenSleeps() {
        var m = SyncStateMachine(settings: Self.settings(), syncedThrough: 0, inFlight: nil, now: 0)
        #expect(m.nextAction(now: 0, lastSeq: 0) == .poll)
        _ = m.received(.acked(highWaterMark: 0, more: false), now: 10, jitter: 0.5, bytesSent: 0)
        #expect(m.nextAction(now: 20, lastSeq: 0) == .sleep(milliseconds: 100))
        #expect(m.nextAction(now: 1_010, lastSeq: 0) == .poll)
    }

    /// Until an answer tells the hub's mark, nothing new is built: a failed poll is made again, not skipped.
    @Test func theHubsMarkIsLearnedBeforeAnythingIsBuilt() {
        var m = SyncStateMachine(settings: Self.settings(), syncedThrough: 20, inFlight: nil, now: 0)
        #expect(m.nextAction(now: 0, lastSeq: 30) == .poll)
        _ = m.received(.failed(reason: "link down"), now: 0, jitter: 0, bytesSent: 0)
        #expect(m.nextAction(now: 10_000, lastSeq: 30) == .poll)
        _ = m.received(.acked(highWaterMark: 40, more: false), now: 10_000, jitter: 0, bytesSent: 0)
        #expect(m.nextAction(now: 10_000, lastSeq: 50) == .build(after: 40, limit: 1_000))
    }

    @Test func buildsSendsAndAdvancesOnAck() {
        var m = SyncStateMachine(settings: Self.settings(), syncedThrough: 0, inFlight: nil, now: 0)
        // the hub's mark first, even with events waiting: a restored buffer must learn it before it sends new seqs
        #expect(m.nextAction(now: 0, lastSeq: 2_500) == .poll)
        #expect(
            m.received(.acked(highWaterMark: 0, more: false), now: 0, jitter: 0, bytesSent: 0) == [
                .commitAck(highWaterMark: 0)
            ])
        #expect(m.nextAction(now: 0, lastSeq: 2_500) == .build(after: 0, limit: 1_000))
        m.built(Self.batch(1, 1_000))
        #expect(m.nextAction(now: 1, lastSeq: 2_500) == .send(Self.batch(1, 1_000)))
        let effects = m.received(.acked(highWaterMark: 1_000, more: false), now: 2, jitter: 0, bytesSent: 10)
        #expect(effects == [.commitAck(highWaterMark: 1_000)])
        #expect(m.syncedThrough == 1_000)
        #expect(m.nextAction(now: 3, lastSeq: 2_500) == .build(after: 1_000, limit: 1_000))
    }

    @Test func resendsThePersistedBatchAfterRestartAndFailures() {
        var m = SyncStateMachine(settings: Self.settings(), syncedThrough: 10, inFlight: Self.batch(11, 20), now: 0)
        #expect(m.nextAction(now: 0, lastSeq: 50) == .send(Self.batch(11, 20)))
        _ = m.received(.failed(reason: "connection refused"), now: 0, jitter: 0.999, bytesSent: 0)
        guard case .sleep(let wait) = m.nextAction(now: 0, lastSeq: 50) else {
            Issue.record("expected a backoff sleep")
            return
        }
        #expect(wait > 0 && wait <= 200)
        // Same bytes again once the backoff has passed: the hub answers a duplicate with the same ack.
        #expect(m.nextAction(now: 10_000, lastSeq: 50) == .send(Self.batch(11, 20)))
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    func backoffIsFullJitterUnderAnExponentialCap(attempts: Int) {
        var m = SyncStateMachine(settings: Self.settings(), syncedThrough: 0, inFlight: Self.batch(1, 1), now: 0)
        var now: Int64 = 0
        for _ in 0..<attempts {
            _ = m.received(.failed(reason: "down"), now: now, jitter: 1, bytesSent: 0)
            guard case .sleep(let wait) = m.nextAction(now: now, lastSeq: 1) else {
                Issue.record("expected a sleep")
                return
            }
            #expect(wait == min(5_000, 200 << Int64(m.attempt - 1)))
            now += wait
        }
        _ = m.received(.failed(reason: "down"), now: now, jitter: 0, bytesSent: 0)
        #expect(m.nextAction(now: now, lastSeq: 1) == .send(Self.batch(1, 1)), "jitter 0 waits nothing")
    }

    @Test func gapAheadMeansTheHubAlreadyHasIt() {
        var m = SyncStateMachine(settings: Self.settings(), syncedThrough: 0, inFlight: Self.batch(1, 100), now: 0)
        _ = m.nextAction(now: 0, lastSeq: 300)
        let effects = m.received(
            .refused(code: "gap", message: "expected 201", expectedSeq: 201, retryAfterMillis: nil), now: 1, jitter: 0,
            bytesSent: 0)
        #expect(effects == [.discardInFlight, .commitAck(highWaterMark: 200)])
        #expect(m.nextAction(now: 2, lastSeq: 300) == .build(after: 200, limit: 1_000))
    }

    @Test func gapBehindRewinds() {
        var m = SyncStateMachine(settings: Self.settings(), syncedThrough: 500, inFlight: Self.batch(501, 600), now: 0)
        _ = m.nextAction(now: 0, lastSeq: 600)
        let effects = m.received(
            .refused(code: "gap", message: "restored hub", expectedSeq: 301, retryAfterMillis: nil), now: 1, jitter: 0,
            bytesSent: 0)
        #expect(effects.first == .discardInFlight)
        #expect(effects.count == 2)
        #expect(m.nextAction(now: 2, lastSeq: 600) == .build(after: 300, limit: 1_000))
        #expect(m.syncedThrough == 500, "an acknowledged mark never moves back locally")
    }

    @Test func hashConflictAsksForTheHighWaterMark() {
        var m = SyncStateMachine(settings: Self.settings(), syncedThrough: 0, inFlight: Self.batch(1, 100), now: 0)
        _ = m.nextAction(now: 0, lastSeq: 300)
        _ = m.received(
            .refused(code: "hash_conflict", message: "other content", expectedSeq: 0, retryAfterMillis: nil), now: 1,
            jitter: 0, bytesSent: 0)
        #expect(m.nextAction(now: 2, lastSeq: 300) == .poll)
        _ = m.received(.acked(highWaterMark: 100, more: false), now: 3, jitter: 0, bytesSent: 0)
        #expect(m.nextAction(now: 4, lastSeq: 300) == .build(after: 100, limit: 1_000))
    }

    @Test func oversizedBatchHalvesTheLimit() {
        var m = SyncStateMachine(settings: Self.settings(), syncedThrough: 0, inFlight: Self.batch(1, 1_000), now: 0)
        _ = m.nextAction(now: 0, lastSeq: 1_000)
        _ = m.received(
            .refused(code: "frame_too_large", message: "9 MB", expectedSeq: 0, retryAfterMillis: nil), now: 1,
            jitter: 0, bytesSent: 0)
        // the refusal did not say the hub's mark: it is asked for before new seqs go out
        #expect(m.nextAction(now: 2, lastSeq: 1_000) == .poll)
        _ = m.received(.acked(highWaterMark: 0, more: false), now: 2, jitter: 0, bytesSent: 0)
        #expect(m.nextAction(now: 2, lastSeq: 1_000) == .build(after: 0, limit: 500))
    }

    @Test func retryAfterIsHonoured() {
        var m = SyncStateMachine(settings: Self.settings(), syncedThrough: 0, inFlight: Self.batch(1, 1), now: 0)
        _ = m.nextAction(now: 0, lastSeq: 1)
        _ = m.received(
            .refused(code: "busy", message: "merging", expectedSeq: 0, retryAfterMillis: 3_000), now: 0, jitter: 0,
            bytesSent: 0)
        #expect(m.nextAction(now: 1_000, lastSeq: 1) == .sleep(milliseconds: 2_000))
    }

    @Test func refusalsBackOffAndKeepTheBatch() {
        var m = SyncStateMachine(settings: Self.settings(), syncedThrough: 0, inFlight: Self.batch(1, 5), now: 0)
        _ = m.nextAction(now: 0, lastSeq: 5)
        let effects = m.received(
            .refused(code: "revoked", message: "agent revoked", expectedSeq: 0, retryAfterMillis: nil), now: 0,
            jitter: 0.5, bytesSent: 0)
        #expect(effects.count == 1)
        #expect(m.lastError == "revoked: agent revoked")
        #expect(m.nextAction(now: 50_000, lastSeq: 5) == .send(Self.batch(1, 5)))
    }

    /// The hub reads the box's clock from a batch's send time: a batch sealed before an outage longer than the
    /// frame age is built again (same start, this moment's stamp) instead of posted as it was.
    @Test(arguments: [
        (Int64(0), Int64(60_000), true), (0, 60_001, false), (40_000, 100_000, true), (40_000, 100_001, false),
    ])
    func aBatchSealedBeforeAnOutageIsRebuilt(sealedAt: Int64, now: Int64, resent: Bool) {
        var batch = Self.batch(4, 9)
        batch.sealedAtMillis = sealedAt
        var m = SyncStateMachine(settings: Self.settings(), syncedThrough: 3, inFlight: batch, now: sealedAt)
        let action = m.nextAction(now: now, lastSeq: 12)
        if resent {
            #expect(action == .send(batch))
        } else {
            #expect(action == .build(after: 3, limit: 1_000))
            #expect(m.inFlight == nil)
            var rebuilt = Self.batch(4, 12)
            rebuilt.sealedAtMillis = now
            m.built(rebuilt)
            #expect(m.nextAction(now: now, lastSeq: 12) == .send(rebuilt))
        }
    }

    @Test func stallIsReportedOncePerPeriodWithTheReason() {
        var m = SyncStateMachine(settings: Self.settings(), syncedThrough: 0, inFlight: Self.batch(1, 5), now: 0)
        _ = m.nextAction(now: 0, lastSeq: 5)
        _ = m.received(.failed(reason: "cannot reach the hub"), now: 0, jitter: 0, bytesSent: 0)
        #expect(m.stallReport(now: 5_000, unsynced: 5) == nil)
        let report = m.stallReport(now: 10_000, unsynced: 5)
        #expect(report?.contains("cannot reach the hub") == true)
        #expect(report?.contains("5 events") == true)
        #expect(m.stallReport(now: 12_000, unsynced: 5) == nil)
        #expect(m.stallReport(now: 20_000, unsynced: 5) != nil)
        #expect(m.stallReport(now: 30_000, unsynced: 0) == nil)
    }

    @Test func bandwidthCapPacesBatches() {
        var s = Self.settings()
        s.bandwidthLimit = 10_000
        var m = SyncStateMachine(settings: s, syncedThrough: 0, inFlight: Self.batch(1, 10), now: 0)
        _ = m.nextAction(now: 0, lastSeq: 20)
        _ = m.received(.acked(highWaterMark: 10, more: false), now: 0, jitter: 0, bytesSent: 50_000)
        #expect(m.nextAction(now: 1_000, lastSeq: 20) == .sleep(milliseconds: 4_000))
    }

    @Test func syncWindowDefersEverything() {
        var m = SyncStateMachine(settings: Self.settings(), syncedThrough: 0, inFlight: nil, now: 0)
        #expect(m.nextAction(now: 0, lastSeq: 10, windowOpensInMillis: 30_000) == .sleep(milliseconds: 30_000))
        let w = SyncWindow("22:00-06:00")
        #expect(w?.contains(minuteOfDay: 23 * 60) == true)
        #expect(w?.contains(minuteOfDay: 5 * 60 + 59) == true)
        #expect(w?.contains(minuteOfDay: 12 * 60) == false)
        #expect(w?.minutesUntilOpen(minuteOfDay: 21 * 60) == 60)
        #expect(SyncWindow("25:00-06:00") == nil)
        #expect(SyncWindow("22:00") == nil)
    }
}
