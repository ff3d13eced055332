import CXCore
import Testing

/// Checks the three join laws over every pair and triple of a generated domain of small states.
func checkLaws<C: CRDT>(_ states: [C], sourceLocation: SourceLocation = #_sourceLocation) {
    var failures = 0
    for a in states {
        if a.merging(a) != a { failures += 1 }
        for b in states {
            if a.merging(b) != b.merging(a) { failures += 1 }
            for c in states where a.merging(b).merging(c) != a.merging(b.merging(c)) {
                failures += 1
            }
        }
    }
    #expect(failures == 0, "\(failures) law violations over \(states.count) states", sourceLocation: sourceLocation)
}

enum Domain {
    static let stamps: [LWWStamp] = [
        LWWStamp(hlc: HLCTimestamp(wallMillis: 1, counter: 0), node: "a"),
        LWWStamp(hlc: HLCTimestamp(wallMillis: 1, counter: 0), node: "b"),
        LWWStamp(hlc: HLCTimestamp(wallMillis: 1, counter: 1), node: "a"),
        LWWStamp(hlc: HLCTimestamp(wallMillis: 2, counter: 0), node: "b"),
    ]
    static let values = ["x", "y"]

    static var registers: [LWWRegister<String>] {
        stamps.flatMap { s in values.map { LWWRegister($0, stamp: s) } }
    }

    /// Maps over two keys, each absent, set or removed at every stamp: 17 × 17 states.
    static var maps: [LWWMap<String, String>] {
        var perKey: [[(LWWEntry<String>, LWWStamp)?]] = []
        let options: [(LWWEntry<String>, LWWStamp)?] =
            [nil] + stamps.flatMap { s in [(LWWEntry.removed, s)] + values.map { (LWWEntry.value($0), s) } }
        perKey = [options, options]
        var result: [LWWMap<String, String>] = []
        for k1 in perKey[0] {
            for k2 in perKey[1] {
                var m = LWWMap<String, String>()
                for (key, entry) in [("k1", k1), ("k2", k2)] {
                    guard let (e, s) = entry else { continue }
                    switch e {
                    case .removed: m.remove(key, stamp: s)
                    case .value(let v): m.set(key, v, stamp: s)
                    }
                }
                result.append(m)
            }
        }
        return result
    }
}

@Suite("CRDT join laws, exhaustive over small domains")
struct CRDTLawTests {
    @Test func lwwRegister() {
        checkLaws(Domain.registers)
    }

    @Test func lwwMap() {
        // 289 states: 24 million triples would be slow in debug, so triples use a 100-state slice.
        let maps = Domain.maps
        checkLaws(Array(maps.prefix(100)))
        for a in maps {
            for b in maps {
                #expect(a.merging(b) == b.merging(a))
            }
        }
    }

    @Test func maxRegisterAndAlertStatus() {
        checkLaws(AlertStatus.allCases.map { MaxRegister($0) })
    }

    @Test func alertState() {
        let notes: [LWWRegister<String>?] = [nil] + Domain.registers.prefix(4).map { $0 }
        var states: [AlertState] = []
        for status in AlertStatus.allCases {
            for note in notes {
                for assignee in notes.prefix(3) {
                    states.append(AlertState(status: status, note: note, assignee: assignee))
                }
            }
        }
        checkLaws(states)
    }

    @Test func growOnlySet() {
        let universe = [1, 2, 3]
        let subsets = (0..<8).map { mask in
            GrowOnlySet(Set(universe.enumerated().filter { mask & (1 << $0.offset) != 0 }.map(\.element)))
        }
        checkLaws(subsets)
    }

    @Test func removeWinsSet() {
        var states: [RemoveWinsSet<String, Int>] = []
        let subjects = ["s1", "s2"]
        for adds in 0..<4 {
            for erases in 0..<4 {
                for stampChoice in 0..<2 {
                    var s = RemoveWinsSet<String, Int>()
                    for (i, subject) in subjects.enumerated() where adds & (1 << i) != 0 {
                        s.insert(i + 10, for: subject)
                    }
                    for (i, subject) in subjects.enumerated() where erases & (1 << i) != 0 {
                        s.erase(subject, at: HLCTimestamp(wallMillis: Int64(5 + stampChoice + i)))
                    }
                    states.append(s)
                }
            }
        }
        checkLaws(states)
    }

    @Test func erasureWinsOverConcurrentAndLaterAdds() {
        var hub = ErasureSet()
        hub.erase("cust-hash", at: HLCTimestamp(wallMillis: 100))
        var offlineAgent = ErasureSet()
        offlineAgent.insert(1, for: "cust-hash")
        offlineAgent.insert(2, for: "other")
        hub.merge(offlineAgent)
        #expect(hub.elements(of: "cust-hash").isEmpty)
        #expect(hub.elements(of: "other") == [2])
        let reinserted = hub.insert(3, for: "cust-hash")
        #expect(!reinserted)
        #expect(hub.isErased("cust-hash"))
    }

    @Test func lwwRegisterPrefersHigherHLCThenNode() {
        var r = LWWRegister("old", stamp: Domain.stamps[0])
        let won = r.assign("new", stamp: Domain.stamps[3])
        let lost = r.assign("stale", stamp: Domain.stamps[2])
        #expect(won && !lost)
        #expect(r.value == "new")
        var tie = LWWRegister("from-a", stamp: Domain.stamps[0])
        tie.merge(LWWRegister("from-b", stamp: Domain.stamps[1]))
        #expect(tie.value == "from-b")
    }

    @Test func mapRemovalIsNotResurrectedByStaleWrite() {
        var m = LWWMap<String, String>()
        m.set("email_opt_in", "yes", stamp: Domain.stamps[0])
        m.remove("email_opt_in", stamp: Domain.stamps[3])
        var stale = LWWMap<String, String>()
        stale.set("email_opt_in", "yes", stamp: Domain.stamps[2])
        m.merge(stale)
        #expect(m["email_opt_in"] == nil)
        #expect(m.values.isEmpty)
    }

    @Test(arguments: [1, 2, 5, 10])
    func deltaJoinKeepsOneWinnerPerRegister(writesPerField: Int) {
        var updates: [LWWUpdate] = []
        for field in ["stage", "last_store"] {
            for i in 0..<writesPerField {
                updates.append(
                    LWWUpdate(
                        collection: "profile", key: "c1", field: field, value: "\(field)-\(i)",
                        stamp: LWWStamp(hlc: HLCTimestamp(wallMillis: Int64(100 - i)), node: "n")))
            }
        }
        let joined = LWWUpdate.joined(updates)
        #expect(joined.count == 2)
        #expect(joined.map(\.value) == ["stage-0", "last_store-0"])
        // Joining is itself idempotent and order-independent.
        #expect(LWWUpdate.joined(joined) == joined)
        #expect(Set(LWWUpdate.joined(updates.reversed())) == Set(joined))
    }
}
