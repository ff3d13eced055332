import CXAgent
import CXCore
import Foundation
import Testing

/// The recent-ids window against a plain model (a dictionary and a ring), over random insert sequences with
/// re-inserted ids, full windows and clustered (sequential) ids that make long probe runs.
@Suite struct RecentEventIDsTests {
    struct Model {
        let capacity: Int
        var entries: [UUID: (time: Int64, slot: Int)] = [:]
        var ring: [UUID] = []
        var head = 0

        mutating func insert(_ id: UUID, _ time: Int64) {
            let slot: Int
            if ring.count < capacity {
                slot = ring.count
                ring.append(id)
            } else {
                slot = head
                let old = ring[slot]
                if entries[old]?.slot == slot { entries[old] = nil }
                ring[slot] = id
                head = (head + 1) % capacity
            }
            entries[id] = (time, slot)
        }
    }

    static func sequentialID(_ n: Int) -> UUID {
        var t: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &t) { $0.storeBytes(of: UInt64(n).bigEndian, toByteOffset: 8, as: UInt64.self) }
        return UUID(uuid: t)
    }

    @Test(arguments: [1, 2, 7, 64, 1000], [false, true])
    func agreesWithTheModel(capacity: Int, sequential: Bool) {
        var rng = SeededGenerator(seed: UInt64(capacity) &* 31 &+ (sequential ? 1 : 0))
        let pool = (0..<(capacity * 3 + 5)).map {
            sequential ? Self.sequentialID($0) : UUID.v7(unixMillis: 0, using: &rng)
        }
        var window = RecentEventIDs(capacity: capacity)
        var model = Model(capacity: capacity)
        for step in 0..<(capacity * 20 + 200) {
            let id = pool[Int.random(in: 0..<pool.count, using: &rng)]
            let time = Int64(step)
            window.insert(id, occurredAt: time)
            model.insert(id, time)
            if step % 7 == 0 || capacity <= 7 {
                for probe in pool {
                    #expect(window.occurredAt(of: probe) == model.entries[probe]?.time, "step \(step)")
                }
                #expect(window.count == model.entries.count)
            }
        }
    }
}
