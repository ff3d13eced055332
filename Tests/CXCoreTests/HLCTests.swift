import CXCore
import Testing

@Suite("Hybrid logical clock")
struct HLCTests {
    @Test func ticksAreStrictlyMonotonicWhenTheWallClockJumpsBack() {
        var clock = HybridLogicalClock()
        var last = HLCTimestamp.zero
        let walls: [Int64] = [1000, 1000, 1001, 500, 400, 2000, 1999, 1999, 0, 3000]
        for wall in walls {
            let t = clock.tick(wallMillis: wall)
            #expect(t > last)
            #expect(t.wallMillis >= wall)
            last = t
        }
    }

    @Test func receiveOrdersAfterBothClocks() throws {
        var clock = HybridLogicalClock(maxDrift: .seconds(300))
        _ = clock.tick(wallMillis: 10_000)
        let remote = HLCTimestamp(wallMillis: 12_000, counter: 7)
        let t = try clock.receive(remote, wallMillis: 10_500)
        #expect(t > remote)
        #expect(t == HLCTimestamp(wallMillis: 12_000, counter: 8))
        #expect(clock.tick(wallMillis: 10_600) > t)
    }

    @Test(arguments: [Int64(301_000), 3_600_000, 86_400_000])
    func receiveRefusesTimestampsBeyondTheDrift(ahead: Int64) {
        var clock = HybridLogicalClock(maxDrift: .seconds(300))
        let before = clock.tick(wallMillis: 1_000_000)
        #expect(throws: ClockDriftError.self) {
            try clock.receive(HLCTimestamp(wallMillis: 1_000_000 + ahead), wallMillis: 1_000_000)
        }
        #expect(clock.last == before)
    }

    @Test func receiveAcceptsWithinDrift() throws {
        var clock = HybridLogicalClock(maxDrift: .seconds(300))
        let t = try clock.receive(HLCTimestamp(wallMillis: 1_299_000), wallMillis: 1_000_000)
        #expect(t.wallMillis == 1_299_000)
    }

    @Test func counterOverflowSpillsIntoTheMillisecond() {
        var clock = HybridLogicalClock(last: HLCTimestamp(wallMillis: 50, counter: .max))
        let t = clock.tick(wallMillis: 10)
        #expect(t == HLCTimestamp(wallMillis: 51, counter: 0))
    }

    @Test(arguments: [HLCTimestamp(wallMillis: 0), HLCTimestamp(wallMillis: 1_704_067_200_000, counter: 65535)])
    func packedFormRoundTripsAndSorts(t: HLCTimestamp) {
        #expect(HLCTimestamp(rawValue: t.rawValue) == t)
        let next = HLCTimestamp(wallMillis: t.wallMillis + 1)
        #expect(t.rawValue < next.rawValue)
    }

    @Test func randomWallClockSequencesNeverGoBackwards() throws {
        var rng = SystemRandomNumberGenerator()
        var a = HybridLogicalClock(maxDrift: .seconds(3600))
        var b = HybridLogicalClock(maxDrift: .seconds(3600))
        var lastA = HLCTimestamp.zero
        var wall: Int64 = 1_000_000
        for _ in 0..<5000 {
            wall += Int64.random(in: -2000...2000, using: &rng)
            let sent = b.tick(wallMillis: wall + Int64.random(in: -500...500, using: &rng))
            let t = try a.receive(sent, wallMillis: wall)
            #expect(t > lastA && t > sent)
            lastA = t
        }
    }
}
